// transport.cpp — see transport.hpp. Proxy handshakes: HTTP CONNECT (RFC 9110 §9.3.6,
// Basic auth), SOCKS4 / SOCKS4A, SOCKS5 (RFC 1928) with user/password (RFC 1929).
#include "transport.hpp"

#include <openssl/x509v3.h>

#include "codec.hpp"
#include "proxy_reply.hpp"

namespace sitemail::smtp {

namespace {

bool is_ip_literal(const std::string& h) {
  boost::system::error_code ec;
  asio::ip::make_address(h, ec);
  return !ec;
}

std::string leaf_fingerprint(SSL* ssl) {
  X509* x = SSL_get1_peer_certificate(ssl);
  if (!x) return {};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  X509_digest(x, EVP_sha256(), md, &n);
  X509_free(x);
  return codec::hex(std::string_view(reinterpret_cast<char*>(md), n));
}

Failure proxy_fail(std::string why, std::string remote = {}) {
  return Failure{FailureKind::transient, Stage::proxy, std::move(why), std::move(remote), 0};
}

}  // namespace

Transport::Transport(asio::any_io_executor ex, std::chrono::seconds timeout) : sock_(ex), timer_(ex), timeout_(timeout) {}

Transport::~Transport() { close(); }

void Transport::close() {
  boost::system::error_code ec;
  timer_.cancel();
  sock_.shutdown(tcp::socket::shutdown_both, ec);
  sock_.close(ec);
}

void Transport::arm() {
  using clock = std::chrono::steady_clock;
  if (timeout_.count() == 0 && !deadline_) return;
  auto expiry = timeout_.count() == 0 ? *deadline_ : clock::now() + timeout_;
  const bool by_deadline = deadline_ && *deadline_ <= expiry;
  if (by_deadline) expiry = *deadline_;
  timer_.expires_at(expiry);
  timer_.async_wait([w = weak_from_this(), by_deadline](boost::system::error_code ec) {
    if (ec) return;  // re-armed or cancelled
    if (auto self = w.lock()) {
      self->timed_out_ = true;
      self->deadline_hit_ = by_deadline;
      boost::system::error_code ignored;
      self->sock_.close(ignored);
    }
  });
}

void Transport::disarm() { timer_.cancel(); }

std::string Transport::timeout_text() const {
  if (deadline_hit_) return "the overall deadline for this stage ran out ([delivery] transaction_deadline)";
  return "timed out after " + std::to_string(timeout_.count()) + " s";
}

asio::awaitable<void> Transport::shutdown(std::chrono::seconds limit) {
  if (tls_ && sock_.is_open()) {
    // close_notify, then wait (bounded) for the relay's; errors only mean it closed first
    deadline_ = std::chrono::steady_clock::now() + limit;
    boost::system::error_code ec;
    arm();
    co_await tls_->async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
    disarm();
  }
  close();
}

asio::awaitable<std::optional<Failure>> Transport::tcp_connect(const std::string& host, std::uint16_t port, Stage stage) {
  boost::system::error_code ec;
  tcp::endpoint ep;
  // An address literal needs no resolver (whose lookup runs on a thread of its own: two
  // thread hand-offs per connection, thousands in a big drain).
  if (const auto literal = asio::ip::make_address(host, ec); !ec) {
    arm();
    ep = tcp::endpoint(literal, port);
    co_await sock_.async_connect(ep, asio::redirect_error(asio::use_awaitable, ec));
  } else {
    ec.clear();
    tcp::resolver resolver(sock_.get_executor());
    arm();
    auto endpoints = co_await resolver.async_resolve(host, std::to_string(port), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      disarm();
      co_return network_failure(stage, "cannot resolve " + host + ": " + ec.message());
    }
    arm();
    ep = co_await asio::async_connect(sock_, endpoints, asio::redirect_error(asio::use_awaitable, ec));
  }
  disarm();
  if (ec) {
    std::string why = timed_out_ ? timeout_text() : ec.message();
    co_return network_failure(stage, "cannot connect to " + host + ":" + std::to_string(port) + ": " + why);
  }
  sock_.set_option(tcp::no_delay(true), ec);
  peer_ = ep.address().to_string() + ":" + std::to_string(ep.port());
  co_return std::nullopt;
}

asio::awaitable<std::optional<Failure>> Transport::connect(const EffectiveSettings& s) {
  co_return co_await connect_to(s, s.text(Setting::EMailSMTPServer), s.port);
}

asio::awaitable<std::optional<Failure>> Transport::connect_to(const EffectiveSettings& s, const std::string& host,
                                                              std::uint16_t port) {
  target_ = host + ":" + std::to_string(port);
  const auto type = static_cast<FirewallType>(s.number(Setting::FirewallType));
  if (type == FirewallType::none) co_return co_await tcp_connect(host, port, Stage::connect);
  auto f = co_await tcp_connect(s.text(Setting::FirewallHost), s.firewall_port, Stage::proxy);
  if (f) {
    f->detail = "proxy " + f->detail;
    co_return f;
  }
  co_return co_await proxy_handshake(s, host, port);
}

asio::awaitable<bool> Transport::read_exact(std::string& out, std::size_t n, boost::system::error_code& ec) {
  std::string buf(n, '\0');
  arm();
  co_await asio::async_read(sock_, asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
  disarm();
  if (ec) co_return false;
  out += buf;
  co_return true;
}

asio::awaitable<std::optional<Failure>> Transport::proxy_handshake(const EffectiveSettings& s, const std::string& host,
                                                                   std::uint16_t port) {
  const auto type = static_cast<FirewallType>(s.number(Setting::FirewallType));
  const std::string& user = s.text(Setting::FirewallUser);
  const std::string& pass = s.text(Setting::FirewallPassword);
  boost::system::error_code ec;
  auto io_fail = [&](const char* what) {
    return proxy_fail(std::string(what) + ": " + (timed_out_ ? timeout_text() : ec.message()));
  };

  if (type == FirewallType::tunnel) {
    std::string target =
        (host.find(':') != std::string::npos && host.front() != '[' ? "[" + host + "]" : host) + ":" + std::to_string(port);
    std::string req = "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n";
    if (!user.empty()) req += "Proxy-Authorization: Basic " + codec::base64(user + ":" + pass) + "\r\n";
    req += "\r\n";
    co_await write_all(req, ec);
    if (ec) co_return io_fail("cannot send CONNECT to the proxy");
    std::string buf;
    char chunk[1024];
    while (true) {
      auto rep = proxy::parse_http_connect_reply(buf);
      if (rep.state == proxy::HttpConnectReply::State::error) co_return proxy_fail(rep.error);
      if (rep.state == proxy::HttpConnectReply::State::complete) {
        // 407 is the standard answer; some proxies (tinyproxy) answer 401
        if (rep.status == 407 || rep.status == 401) co_return proxy_fail("proxy authentication failed", rep.status_line);
        if (rep.status < 200 || rep.status > 299) co_return proxy_fail("the proxy refused CONNECT", rep.status_line);
        leftover_ = buf.substr(rep.header_end);  // e.g. the relay's greeting in the same segment
        co_return std::nullopt;
      }
      // Never more than the header bound plus one chunk in memory.
      std::size_t n = co_await read_some(chunk, sizeof chunk, ec);
      if (ec) co_return io_fail("the proxy closed the connection during CONNECT");
      buf.append(chunk, n);
    }
  }

  if (type == FirewallType::socks4 || type == FirewallType::socks4a) {
    std::string req("\x04\x01", 2);
    req += static_cast<char>(port >> 8);
    req += static_cast<char>(port & 0xff);
    if (type == FirewallType::socks4) {
      tcp::resolver resolver(sock_.get_executor());
      auto rs = co_await resolver.async_resolve(tcp::v4(), host, "0", asio::redirect_error(asio::use_awaitable, ec));
      if (ec || rs.empty()) co_return proxy_fail("SOCKS4 needs an IPv4 address for " + host + ": " + ec.message());
      auto b = rs.begin()->endpoint().address().to_v4().to_bytes();
      req.append(reinterpret_cast<const char*>(b.data()), 4);
      req += user;
      req += '\0';
    } else {
      req += std::string("\0\0\0\x01", 4);  // 0.0.0.x: the proxy resolves the name (SOCKS4A)
      req += user;
      req += '\0';
      req += host;
      req += '\0';
    }
    co_await write_all(req, ec);
    if (ec) co_return io_fail("cannot send the SOCKS4 request");
    std::string rep;
    if (!co_await read_exact(rep, 8, ec)) co_return io_fail("the SOCKS4 proxy closed the connection");
    if (auto r = proxy::socks4_reply(rep); !r.ok) co_return proxy_fail(r.error, r.remote);
    co_return std::nullopt;
  }

  // SOCKS5
  std::string greet("\x05", 1);
  if (!user.empty()) greet += std::string("\x02\x00\x02", 3);
  else greet += std::string("\x01\x00", 2);
  co_await write_all(greet, ec);
  if (ec) co_return io_fail("cannot greet the SOCKS5 proxy");
  std::string rep;
  if (!co_await read_exact(rep, 2, ec)) co_return io_fail("the SOCKS5 proxy closed the connection");
  unsigned method = 0;
  if (auto r = proxy::socks5_method_reply(rep, !user.empty(), method); !r.ok) co_return proxy_fail(r.error, r.remote);
  if (method == 0x02) {
    if (user.size() > 255 || pass.size() > 255) co_return config_failure("FirewallUser/FirewallPassword longer than 255 bytes");
    std::string auth("\x01", 1);
    auth += static_cast<char>(user.size());
    auth += user;
    auth += static_cast<char>(pass.size());
    auth += pass;
    co_await write_all(auth, ec);
    if (ec) co_return io_fail("cannot authenticate to the SOCKS5 proxy");
    rep.clear();
    if (!co_await read_exact(rep, 2, ec)) co_return io_fail("the SOCKS5 proxy closed the connection during authentication");
    if (auto r = proxy::socks5_auth_reply(rep); !r.ok) co_return proxy_fail(r.error, r.remote);
  }
  if (host.size() > 255) co_return config_failure("relay host name too long for SOCKS5");
  std::string req("\x05\x01\x00\x03", 4);  // CONNECT, domain name (the proxy resolves it)
  req += static_cast<char>(host.size());
  req += host;
  req += static_cast<char>(port >> 8);
  req += static_cast<char>(port & 0xff);
  co_await write_all(req, ec);
  if (ec) co_return io_fail("cannot send the SOCKS5 CONNECT");
  rep.clear();
  if (!co_await read_exact(rep, 4, ec)) co_return io_fail("the SOCKS5 proxy closed the connection");
  std::size_t addr_len = 0;
  if (auto r = proxy::socks5_connect_reply(rep, addr_len); !r.ok) co_return proxy_fail(r.error, r.remote);
  if (addr_len == 0) {  // a domain name: its length byte first
    std::string l;
    if (!co_await read_exact(l, 1, ec)) co_return io_fail("the SOCKS5 proxy closed the connection");
    addr_len = static_cast<unsigned char>(l[0]);
  }
  std::string bound;
  if (!co_await read_exact(bound, addr_len + 2, ec)) co_return io_fail("the SOCKS5 proxy closed the connection");
  co_return std::nullopt;
}

asio::awaitable<std::optional<Failure>> Transport::start_tls(const TlsSetup& tls, const std::string& host) {
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(sock_, *tls.ctx);
  SSL* ssl = tls_->native_handle();
  const bool ip = is_ip_literal(host);
  if (!ip) SSL_set_tlsext_host_name(ssl, host.c_str());
  if (tls.pin.empty()) {
    if (ip) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
    else SSL_set1_host(ssl, host.c_str());
  }
  boost::system::error_code ec;
  arm();
  co_await tls_->async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
  disarm();
  if (ec) {
    std::string why = timed_out_ ? timeout_text() : ec.message();
    long vr = SSL_get_verify_result(ssl);
    if (vr != X509_V_OK) why = std::string("certificate verification failed: ") + X509_verify_cert_error_string(vr);
    co_return Failure{FailureKind::transient, Stage::tls, "TLS handshake with " + host + " failed: " + why, {}, 0};
  }
  if (!tls.pin.empty() && tls.pin != "*") {
    auto fp = leaf_fingerprint(ssl);
    if (fp != tls.pin)
      co_return Failure{FailureKind::transient,
                        Stage::tls,
                        "the relay's certificate (sha256:" + fp + ") is not the one pinned in SslAcceptServerCert",
                        {},
                        0};
  }
  co_return std::nullopt;
}

asio::awaitable<std::size_t> Transport::read_some(char* buf, std::size_t n, boost::system::error_code& ec) {
  arm();
  std::size_t got = tls_ ? co_await tls_->async_read_some(asio::buffer(buf, n), asio::redirect_error(asio::use_awaitable, ec))
                         : co_await sock_.async_read_some(asio::buffer(buf, n), asio::redirect_error(asio::use_awaitable, ec));
  disarm();
  co_return got;
}

asio::awaitable<void> Transport::write_all(std::string_view data, boost::system::error_code& ec) {
  arm();
  if (tls_)
    co_await asio::async_write(*tls_, asio::buffer(data.data(), data.size()), asio::redirect_error(asio::use_awaitable, ec));
  else co_await asio::async_write(sock_, asio::buffer(data.data(), data.size()), asio::redirect_error(asio::use_awaitable, ec));
  disarm();
}

}  // namespace sitemail::smtp
