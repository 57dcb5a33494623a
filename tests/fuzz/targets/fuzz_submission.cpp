// fuzz_submission.cpp — libFuzzer target: a client's bytes into the submission door's server
// dialogue (commands, AUTH payloads, DATA with bare CR/LF), split into reads at the input's
// 0xFF bytes; every action answered alternately yes and no. Checked: the dialogue always asks
// for something, never stores a message holding a bare CR or LF or one over the size limit,
// and its output stays bounded.
#include <cstddef>
#include <cstdint>
#include <string>

#include "dialogue.hpp"
#include "policy.hpp"

using namespace sitemail::submission;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  DialogueParams p;
  p.hostname = "fuzz.example";
  p.max_message_size = 4096;
  p.max_recipients = 5;
  p.loopback = size % 2 == 0;
  p.trusted = size % 3 == 0;
  p.starttls_available = true;
  p.peer_ip = "127.0.0.1";
  p.now = [] { return std::string("Thu, 01 Jan 2026 00:00:00 +0000"); };
  Dialogue d(p);
  std::size_t pos = 0;
  int answer = 0;
  for (int steps = 0; steps < 100000; ++steps) {
    auto a = d.next();
    switch (a) {
      case Dialogue::Action::write:
        if (d.take_output().size() > 256 * 1024) __builtin_trap();
        break;
      case Dialogue::Action::read: {
        if (pos >= in.size()) {
          d.on_eof();
          break;
        }
        auto cut = in.find('\xff', pos);
        if (cut == std::string::npos) cut = in.size();
        d.on_bytes(std::string_view(in).substr(pos, cut - pos));
        pos = cut + 1;
        break;
      }
      case Dialogue::Action::authenticate: d.auth_done(++answer % 2 ? AuthVerdict::ok : AuthVerdict::bad); break;
      case Dialogue::Action::check_sender: d.sender_done(++answer % 2 ? SenderVerdict::ok : SenderVerdict::refused); break;
      case Dialogue::Action::store: {
        const auto& m = d.message();
        auto body = m.substr(m.find("\r\n\tby ") + 1);
        for (std::size_t i = 0; i < m.size(); ++i) {
          if (m[i] == '\r' && (i + 1 >= m.size() || m[i + 1] != '\n')) __builtin_trap();
          if (m[i] == '\n' && (i == 0 || m[i - 1] != '\r')) __builtin_trap();
        }
        if (d.data_size() > p.max_message_size || d.recipients().empty() || d.recipients().size() > p.max_recipients)
          __builtin_trap();
        (void)body;
        if (++answer % 2) d.stored(answer);
        else d.store_failed();
        break;
      }
      case Dialogue::Action::start_tls: d.tls_started(); break;
      case Dialogue::Action::close: return 0;
    }
  }
  __builtin_trap();  // the dialogue must end once the input does
}
