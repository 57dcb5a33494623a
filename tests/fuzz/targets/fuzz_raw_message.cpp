// fuzz_raw_message.cpp — libFuzzer target: an application's raw message (outbox.raw_message,
// CONTRACT §8) into the header scanner, the address-list parser and the 8-bit converter.
// Whatever the bytes: no crash, folded header lines of at most 998 octets, never a bare CR
// or LF in a field, and a converted message with no 8-bit octet.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "raw_message.hpp"

using namespace sitemail::smtp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const bool complete = data[0] & 1;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const raw::Scan s = raw::scan_headers(in, complete);
  if (s.error.empty()) {
    if (s.body_offset > in.size()) __builtin_trap();
    for (const auto& f : s.fields) {
      std::size_t line = 0;
      for (std::size_t i = 0; i < f.lines.size(); ++i) {
        const char c = f.lines[i];
        if (c == '\n' && (i == 0 || f.lines[i - 1] != '\r')) __builtin_trap();                   // bare LF
        if (c == '\r' && (i + 1 >= f.lines.size() || f.lines[i + 1] != '\n')) __builtin_trap();  // bare CR
        line = c == '\n' ? 0 : line + 1;
        if (line > 999) __builtin_trap();  // 998 octets + CR
      }
      std::string error;
      if (auto v = raw::field_value(s, f.name)) (void)raw::mailboxes(*v, error);
    }
  }
  std::string error;
  if (auto seven = raw::downgrade_to_7bit(in, error))
    if (raw::has_8bit(*seven)) __builtin_trap();
  return 0;
}
