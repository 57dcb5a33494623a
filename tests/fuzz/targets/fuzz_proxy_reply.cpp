// fuzz_proxy_reply.cpp — libFuzzer target: what a proxy answers during its handshake, into
// the pure parsers of proxy_reply.hpp (HTTP CONNECT header, SOCKS4, SOCKS5 method, auth and
// CONNECT replies). The first byte picks the parser; the HTTP header is also fed as it grows.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proxy_reply.hpp"

using namespace sitemail::smtp::proxy;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0:
      for (std::size_t n = 0; n <= in.size(); n += 1 + n / 4) {
        auto r = parse_http_connect_reply(in.substr(0, n));
        if (r.state == HttpConnectReply::State::complete && (r.header_end > n || r.header_end > kMaxHttpHeaderBytes))
          __builtin_trap();
        if (r.state == HttpConnectReply::State::error && r.error.empty()) __builtin_trap();
        if (r.state != HttpConnectReply::State::need_more) break;
      }
      break;
    case 1: (void)socks4_reply(in.substr(0, 8)); break;
    case 2: {
      unsigned method = 0;
      (void)socks5_method_reply(in.substr(0, 2), in.size() > 2, method);
      break;
    }
    case 3: (void)socks5_auth_reply(in.substr(0, 2)); break;
    default: {
      std::size_t addr = 0;
      auto r = socks5_connect_reply(in.substr(0, 4), addr);
      if (r.ok && addr > 16) __builtin_trap();
    }
  }
  return 0;
}
