// https_post.cpp — see https_post.hpp.
#include "https_post.hpp"

#include <boost/beast/http.hpp>

#include "token_response.hpp"

namespace sitemail::oauth {

namespace http = boost::beast::http;

namespace {

smtp::Failure endpoint_failure(std::string why) {
  return smtp::Failure{smtp::FailureKind::auth, smtp::Stage::auth, "token endpoint: " + std::move(why), {}, 0};
}

}  // namespace

std::optional<HttpsUrl> parse_https_url(const std::string& url, std::string& error) {
  if (url.size() < 9 || (url.compare(0, 8, "https://") != 0 && url.compare(0, 8, "HTTPS://") != 0)) {
    error = "not an https:// URL";
    return std::nullopt;
  }
  HttpsUrl u;
  std::string rest = url.substr(8);
  const auto slash = rest.find_first_of("/?");
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) u.target = (rest[slash] == '?' ? "/" : "") + rest.substr(slash);
  if (authority.find('@') != std::string::npos) {
    error = "user information in the URL is not supported";
    return std::nullopt;
  }
  std::string port_text;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos) {
      error = "unterminated IPv6 literal";
      return std::nullopt;
    }
    u.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') port_text = authority.substr(close + 2);
  } else {
    auto colon = authority.find(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string::npos) port_text = authority.substr(colon + 1);
  }
  if (u.host.empty()) {
    error = "no host name";
    return std::nullopt;
  }
  for (char c : u.host + u.target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      error = "a space or control character in the URL";
      return std::nullopt;
    }
  if (!port_text.empty()) {
    if (port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos || std::stoi(port_text) < 1 ||
        std::stoi(port_text) > 65535) {
      error = "bad port \"" + port_text + "\"";
      return std::nullopt;
    }
    u.port = static_cast<std::uint16_t>(std::stoi(port_text));
  }
  return u;
}

std::shared_ptr<smtp::TlsSetup> make_endpoint_tls(const EffectiveSettings& s, const std::string& config_dir) {
  auto t = std::make_shared<smtp::TlsSetup>();
  t->ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX* ctx = t->ctx->native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  t->ctx->set_verify_mode(asio::ssl::verify_peer);
  const auto& ca = s.text(Setting::SslCaFile);
  boost::system::error_code ec;
  if (!ca.empty()) {
    std::string path = ca.front() == '/' || config_dir.empty() ? ca : config_dir + "/" + ca;
    t->ctx->load_verify_file(path, ec);
    if (ec) t->error = smtp::config_failure("cannot load SslCaFile " + path + ": " + ec.message());
  } else {
    t->ctx->set_default_verify_paths(ec);
  }
  return t;  // t->pin stays empty: an endpoint is always verified by its chain and name
}

std::string form_escape(std::string_view v) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') out += static_cast<char>(c);
    else if (c == ' ') out += '+';
    else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

asio::awaitable<HttpsResponse> https_post(const asio::any_io_executor& ex, const EffectiveSettings& s, const smtp::TlsSetup& tls,
                                          const std::string& url, const std::string& form) {
  HttpsResponse out;
  std::string why;
  auto u = parse_https_url(url, why);
  if (!u) {
    out.failure = smtp::config_failure("token endpoint " + url + ": " + why);
    co_return out;
  }
  if (tls.error) {
    out.failure = endpoint_failure(tls.error->detail);
    co_return out;
  }
  auto transport = std::make_shared<smtp::Transport>(ex, std::chrono::seconds(s.number(Setting::Timeout)));
  if (auto f = co_await transport->connect_to(s, u->host, u->port)) {
    out.failure = endpoint_failure(f->describe());
    co_return out;
  }
  if (!transport->take_leftover().empty()) {
    out.failure = endpoint_failure("the proxy sent data before the TLS handshake");
    co_return out;
  }
  if (auto f = co_await transport->start_tls(tls, u->host)) {
    out.failure = endpoint_failure(f->detail);
    co_return out;
  }
  const std::string host_header = (u->host.find(':') != std::string::npos ? "[" + u->host + "]" : u->host) +
                                  (u->port == 443 ? "" : ":" + std::to_string(u->port));
  std::string req = "POST " + u->target + " HTTP/1.1\r\nHost: " + host_header +
                    "\r\nUser-Agent: sitemail/" SITEMAIL_VERSION
                    "\r\nAccept: application/json\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
                    std::to_string(form.size()) + "\r\nConnection: close\r\n\r\n" + form;
  boost::system::error_code ec;
  co_await transport->write_all(req, ec);
  if (ec) {
    out.failure =
        endpoint_failure("cannot send the request to " + u->host + ": " + (transport->timed_out() ? "timed out" : ec.message()));
    co_return out;
  }
  http::response_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(kMaxHeaderBytes));
  parser.body_limit(kMaxResponseBytes);
  parser.eager(true);
  std::string buf;
  char chunk[8192];
  while (!parser.is_done()) {
    std::size_t n = co_await transport->read_some(chunk, sizeof chunk, ec);
    boost::beast::error_code pec;
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
      parser.put_eof(pec);
      if (pec || !parser.is_done()) {
        out.failure = endpoint_failure(u->host + " closed the connection before a complete HTTP response");
        co_return out;
      }
      break;
    }
    if (ec) {
      out.failure = endpoint_failure("reading from " + u->host + ": " + (transport->timed_out() ? "timed out" : ec.message()));
      co_return out;
    }
    buf.append(chunk, n);
    while (!buf.empty() && !parser.is_done()) {
      std::size_t used = parser.put(asio::buffer(buf), pec);
      buf.erase(0, used);
      if (pec == http::error::need_more) break;
      if (pec == http::error::body_limit) {
        out.failure =
            endpoint_failure("the response is larger than kMaxResponseBytes (" + std::to_string(kMaxResponseBytes) + " bytes)");
        co_return out;
      }
      if (pec == http::error::header_limit) {
        out.failure = endpoint_failure("the response headers are larger than kMaxHeaderBytes (" +
                                       std::to_string(kMaxHeaderBytes) + " bytes)");
        co_return out;
      }
      if (pec) {
        out.failure = endpoint_failure("not an HTTP response from " + u->host + ": " + pec.message());
        co_return out;
      }
      if (used == 0) break;
    }
  }
  transport->close();
  out.status = static_cast<int>(parser.get().result_int());
  out.body = std::move(parser.get().body());
  co_return out;
}

}  // namespace sitemail::oauth
