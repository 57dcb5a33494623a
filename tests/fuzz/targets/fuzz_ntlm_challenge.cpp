// fuzz_ntlm_challenge.cpp — libFuzzer target: the server's NTLM CHALLENGE message (the
// decoded 334 text of AUTH NTLM). A challenge is either rejected with a reason or usable to
// build the AUTHENTICATE message; nothing may read outside the input.
#include <cstddef>
#include <cstdint>
#include <string>

#include "ntlm.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string msg(reinterpret_cast<const char*>(data), size);
  std::string error;
  auto c = sitemail::smtp::ntlm::parse_challenge(msg, error);
  if (!c) {
    if (error.empty()) __builtin_trap();  // a rejection always says why
    return 0;
  }
  if (c->server_challenge.size() != 8 || c->target_info.size() > msg.size()) __builtin_trap();
  auto m = sitemail::smtp::ntlm::authenticate_message(*c, "DOM\\user", "password", "WS", std::string(8, 'c'), 0);
  (void)m;
  return 0;
}
