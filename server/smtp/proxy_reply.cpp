// proxy_reply.cpp — see proxy_reply.hpp.
#include "proxy_reply.hpp"

#include <cctype>

#include "reply.hpp"

namespace sitemail::smtp::proxy {

namespace {
SocksResult refused(std::string why, std::string remote = {}) { return SocksResult{false, std::move(why), std::move(remote)}; }
std::string code_of(unsigned char c) { return "reply code " + std::to_string(c); }
}  // namespace

HttpConnectReply parse_http_connect_reply(std::string_view buf) {
  HttpConnectReply r;
  auto error = [&](std::string why) {
    r.state = HttpConnectReply::State::error;
    r.error = std::move(why);
    return r;
  };
  std::size_t pos = 0, lines = 0;
  while (true) {
    const auto eol = buf.find("\r\n", pos);
    const std::size_t line_len = (eol == std::string_view::npos ? buf.size() : eol) - pos;
    const std::size_t limit = lines == 0 ? kMaxHttpStatusLineBytes : kMaxHttpHeaderLineBytes;
    if (line_len > limit)
      return error(std::string(lines == 0 ? "the proxy's status line" : "a header line of the proxy's reply") +
                   " is longer than " + std::to_string(limit) + " bytes (limit)");
    if (eol == std::string_view::npos) {
      if (buf.size() > kMaxHttpHeaderBytes)
        return error("the proxy's reply header is longer than " + std::to_string(kMaxHttpHeaderBytes) + " bytes (limit)");
      return r;  // need more
    }
    const auto line = buf.substr(pos, line_len);
    pos = eol + 2;
    if (pos > kMaxHttpHeaderBytes)
      return error("the proxy's reply header is longer than " + std::to_string(kMaxHttpHeaderBytes) + " bytes (limit)");
    if (lines == 0) {
      // HTTP/1.x SP 3DIGIT [SP reason]
      r.status_line = sanitise(line, 200);
      if (line.size() < 12 || !line.starts_with("HTTP/") || line[8] != ' ' ||
          !std::isdigit(static_cast<unsigned char>(line[9])) || !std::isdigit(static_cast<unsigned char>(line[10])) ||
          !std::isdigit(static_cast<unsigned char>(line[11])))
        return error("the proxy did not answer with an HTTP status line: \"" + sanitise(line, 80) + "\"");
      r.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    } else if (line.empty()) {
      r.state = HttpConnectReply::State::complete;
      r.header_end = pos;
      return r;
    }
    if (++lines > kMaxHttpHeaderLines)
      return error("the proxy's reply has more than " + std::to_string(kMaxHttpHeaderLines) + " header lines (limit)");
  }
}

SocksResult socks4_reply(std::string_view rep) {
  if (rep.size() != 8) return refused("the SOCKS4 reply is " + std::to_string(rep.size()) + " bytes, not 8");
  const auto vn = static_cast<unsigned char>(rep[0]), cd = static_cast<unsigned char>(rep[1]);
  if (vn != 0) return refused("not a SOCKS4 proxy (reply version " + std::to_string(vn) + ", expected 0)");
  if (cd == 0x5A) return SocksResult{true, {}, {}};
  const char* why = cd == 0x5B                 ? "request rejected or failed"
                    : cd == 0x5C || cd == 0x5D ? "identd check failed (user-id)"
                                               : "unknown reply";
  return refused(std::string("the SOCKS4 proxy refused the connection: ") + why, code_of(cd));
}

SocksResult socks5_method_reply(std::string_view rep, bool offered_userpass, unsigned& method) {
  if (rep.size() != 2 || rep[0] != 5) return refused("not a SOCKS5 proxy");
  method = static_cast<unsigned char>(rep[1]);
  if (method == 0xFF)
    return refused(offered_userpass ? "the SOCKS5 proxy accepts none of our authentication methods"
                                    : "the SOCKS5 proxy requires authentication (set FirewallUser)");
  if (method == 0x00 || (method == 0x02 && offered_userpass)) return SocksResult{true, {}, {}};
  return refused("the SOCKS5 proxy chose an unsupported method " + std::to_string(method));
}

SocksResult socks5_auth_reply(std::string_view rep) {
  if (rep.size() != 2 || rep[0] != 1)
    return refused("the SOCKS5 proxy's authentication reply is malformed (version " +
                   std::to_string(rep.empty() ? 0 : static_cast<unsigned char>(rep[0])) + ", expected 1)");
  if (rep[1] != 0) return refused("proxy authentication failed", "status " + std::to_string(static_cast<unsigned char>(rep[1])));
  return SocksResult{true, {}, {}};
}

SocksResult socks5_connect_reply(std::string_view rep, std::size_t& address_bytes) {
  static const char* names[] = {"succeeded",           "general failure",       "not allowed by ruleset",
                                "network unreachable", "host unreachable",      "connection refused",
                                "TTL expired",         "command not supported", "address type not supported"};
  if (rep.size() != 4 || rep[0] != 5)
    return refused("the SOCKS5 proxy's CONNECT reply is malformed (version " +
                   std::to_string(rep.empty() ? 0 : static_cast<unsigned char>(rep[0])) + ", expected 5)");
  const auto rcode = static_cast<unsigned char>(rep[1]);
  if (rcode != 0)
    return refused(std::string("the SOCKS5 proxy could not connect: ") + (rcode < 9 ? names[rcode] : "unknown error"),
                   code_of(rcode));
  const auto atyp = static_cast<unsigned char>(rep[3]);
  switch (atyp) {
    case 1: address_bytes = 4; break;
    case 4: address_bytes = 16; break;
    case 3: address_bytes = 0; break;
    default: return refused("the SOCKS5 proxy's CONNECT reply has an unknown address type " + std::to_string(atyp));
  }
  return SocksResult{true, {}, {}};
}

}  // namespace sitemail::smtp::proxy
