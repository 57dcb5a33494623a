// fuzz_smtp_reply.cpp — libFuzzer target: a relay's byte stream into the reply parser and
// into the sans-io SMTP session (greeting, EHLO, AUTH, a message), cut into segments at
// input-chosen places. The parser must stay within its bounds (kMaxReply*), and the session
// must end in a defined state, never crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "reply.hpp"
#include "session.hpp"

using namespace sitemail::smtp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t seg = 1 + data[0] % 64;  // segment size: replies split anywhere
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);

  ReplyParser parser;
  for (std::size_t i = 0; i < in.size(); i += seg) {
    parser.feed(in.substr(i, seg));
    while (auto r = parser.next()) {
      if (r->lines.size() > kMaxReplyLines) __builtin_trap();
      (void)r->summary();
    }
    if (parser.buffered() > kMaxReplyLineBytes + seg) __builtin_trap();
  }

  SessionParams p;
  p.helo = "client.example";
  p.auth = (data[0] & 0x80) ? sitemail::AuthMethod::ntlm : sitemail::AuthMethod::automatic;
  p.creds = Credentials{"user", "secret", "", "WS"};
  p.keep_transcript = true;
  Session s(p);
  BuiltMessage m;
  m.envelope_from = "a@b.example";
  m.recipients = {"c@d.example", "e@f.example"};
  m.data = "Subject: x\r\n\r\nbody\r\n";
  bool sent = false;
  for (std::size_t i = 0; i < in.size(); i += seg) {
    s.on_bytes(in.substr(i, seg));
    for (int guard = 0; guard < 16; ++guard) {
      auto a = s.next();
      if (a == Session::Action::write) (void)s.take_output();
      else if (a == Session::Action::start_tls) s.on_tls_started();
      else if (a == Session::Action::ready && !sent) s.send(m), sent = true;
      else if (a == Session::Action::ready) s.quit();
      else break;
    }
    if (s.next() == Session::Action::failed) {
      // a failure always says why: in our words, or by the relay's reply it quotes
      if (s.failure().detail.empty() && s.failure().remote.empty()) __builtin_trap();
      break;
    }
  }
  return 0;
}
