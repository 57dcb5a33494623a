// proxy_reply.hpp — parsing what a proxy answers during its handshake, as pure functions
// over bytes (no sockets; transport.cpp does the I/O, tests/fuzz feeds them random bytes):
// the HTTP CONNECT reply header (RFC 9110 §9.3.6), the SOCKS4 reply and the SOCKS5 (RFC 1928
// / RFC 1929) method, authentication and CONNECT replies. Every size is bounded; what breaks
// a bound or the protocol is an error naming it.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sitemail::smtp::proxy {

// Bounds of an HTTP CONNECT reply header (status line + header fields + empty line).
constexpr std::size_t kMaxHttpStatusLineBytes = 1024;
constexpr std::size_t kMaxHttpHeaderLineBytes = 4096;
constexpr std::size_t kMaxHttpHeaderLines = 64;
constexpr std::size_t kMaxHttpHeaderBytes = 16384;

struct HttpConnectReply {
  enum class State { need_more, complete, error } state = State::need_more;
  int status = 0;
  std::string status_line;     // sanitised
  std::size_t header_end = 0;  // bytes of the header, the empty line included (complete)
  std::string error;           // State::error: why, naming the limit or the defect
};
// `buf`: everything received so far. need_more: read more and call again.
[[nodiscard]] HttpConnectReply parse_http_connect_reply(std::string_view buf);

struct SocksResult {
  bool ok = false;
  std::string error;   // our words, when !ok
  std::string remote;  // "reply code N" when the proxy answered with one
};

// The 8-byte SOCKS4/4A reply: VN must be 0, CD 90 (granted).
[[nodiscard]] SocksResult socks4_reply(std::string_view reply8);

// The 2-byte SOCKS5 method selection; `method` is set to the chosen method on success.
[[nodiscard]] SocksResult socks5_method_reply(std::string_view reply2, bool offered_userpass, unsigned& method);
// The 2-byte RFC 1929 user/password status.
[[nodiscard]] SocksResult socks5_auth_reply(std::string_view reply2);
// The first 4 bytes of a SOCKS5 CONNECT reply (VER REP RSV ATYP). On success `address_bytes`
// is the length of BND.ADDR that follows (0 for a domain name: its length byte comes next).
[[nodiscard]] SocksResult socks5_connect_reply(std::string_view reply4, std::size_t& address_bytes);

}  // namespace sitemail::smtp::proxy
