// http_server.cpp — see http_server.hpp.
#include "http_server.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>
#include <stdexcept>
#include <thread>

#include "asio.hpp"
#include "console.hpp"
#include "log.hpp"

namespace sitemail::web {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;

constexpr std::size_t kMaxConnections = 64;           // open console connections at once
constexpr std::uint32_t kMaxHeaderBytes = 16 * 1024;  // request line + headers
constexpr std::uint64_t kMaxBodyBytes = 64 * 1024;    // a form
constexpr int kMaxRequestsPerConnection = 100;
constexpr auto kReadDeadline = std::chrono::seconds(30);  // idle keep-alive and a slow request alike
constexpr auto kWriteDeadline = std::chrono::seconds(30);
constexpr int kWorkers = 4;  // requests handled at once (the rest wait their turn)

}  // namespace

struct WebServer::Impl {
  Impl(const DaemonConf& conf, bool tls) : console(conf, tls), acceptor(io), pool(kWorkers) {}
  Console console;
  asio::io_context io{1};
  tcp::acceptor acceptor;
  asio::thread_pool pool;
  std::optional<asio::ssl::context> ssl;
  std::size_t open = 0;  // on the io thread only
  std::thread thread;
};

namespace {

http::response<http::string_body> to_beast(const Response& res, bool head, bool keep_alive) {
  http::response<http::string_body> out{static_cast<http::status>(res.status), 11};
  out.set(http::field::content_type, res.content_type);
  for (const auto& [k, v] : res.headers) out.insert(k, v);
  out.body() = res.body;
  out.keep_alive(keep_alive);
  out.prepare_payload();
  if (head) out.body().clear();
  return out;
}

http::response<http::string_body> refusal(http::status status, const std::string& text) {
  Response r;
  r.status = static_cast<int>(status);
  r.content_type = "text/plain; charset=utf-8";
  r.body = text;
  for (const auto& h : security_headers()) r.headers.push_back(h);
  return to_beast(r, false, false);
}

template <class Stream>
asio::awaitable<void> exchange(WebServer::Impl* st, Stream& stream, std::string client) {
  beast::flat_buffer buffer;
  for (int n = 0; n < kMaxRequestsPerConnection; ++n) {
    beast::error_code ec;
    beast::get_lowest_layer(stream).expires_after(kReadDeadline);
    http::request_parser<http::string_body> parser;
    parser.header_limit(kMaxHeaderBytes);
    parser.body_limit(kMaxBodyBytes);
    co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == http::error::header_limit || ec == http::error::body_limit || ec == http::error::buffer_overflow) {
      auto res = refusal(http::status::payload_too_large, "request too large (limit)\n");
      beast::get_lowest_layer(stream).expires_after(kWriteDeadline);
      co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
      co_return;
    }
    if (ec) co_return;  // closed, timed out or garbage: nothing to answer
    const auto& breq = parser.get();
    Request req;
    req.method = std::string(breq.method_string());
    req.target = std::string(breq.target());
    req.body = breq.body();
    req.cookie = std::string(breq[http::field::cookie]);
    req.content_type = std::string(breq[http::field::content_type]);
    req.client = client;
    const bool head = breq.method() == http::verb::head;
    const bool keep_alive = breq.keep_alive();
    // The blocking part on a worker thread; back on the network thread to write.
    Response res = co_await asio::co_spawn(
        st->pool, [st, &req]() -> asio::awaitable<Response> { co_return st->console.handle(req); }, asio::use_awaitable);
    auto out = to_beast(res, head, keep_alive);
    beast::get_lowest_layer(stream).expires_after(kWriteDeadline);
    co_await http::async_write(stream, out, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !keep_alive) co_return;
  }
}

asio::awaitable<void> serve(WebServer::Impl* st, tcp::socket sock) {
  boost::system::error_code ec;
  const std::string client = sock.remote_endpoint(ec).address().to_string();
  if (!st->ssl) {
    beast::tcp_stream stream(std::move(sock));
    co_await exchange(st, stream, client);
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    co_return;
  }
  beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(sock)), *st->ssl);
  beast::get_lowest_layer(stream).expires_after(kReadDeadline);
  co_await stream.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;
  co_await exchange(st, stream, client);
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
  co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
}

void reject(tcp::socket& s) {
  static const std::string kBusy =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 42\r\nRetry-After: 1\r\n"
      "Connection: close\r\n\r\ntoo many console connections; retry later\n";
  boost::system::error_code ec;
  s.non_blocking(true, ec);
  s.write_some(asio::buffer(kBusy), ec);
  s.close(ec);
}

asio::awaitable<void> accept_loop(WebServer::Impl* st) {
  asio::steady_timer backoff(st->io);
  while (true) {
    boost::system::error_code ec;
    tcp::socket s = co_await st->acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !st->acceptor.is_open()) co_return;
    if (ec) {  // out of descriptors and the like: wait instead of spinning
      backoff.expires_after(std::chrono::milliseconds(200));
      co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (st->open >= kMaxConnections) {
      reject(s);
      continue;
    }
    ++st->open;
    asio::co_spawn(st->io, serve(st, std::move(s)), [st](const std::exception_ptr&) { --st->open; });
  }
}

}  // namespace

WebServer::WebServer(const DaemonConf& conf) {
  const bool tls = !conf.web_tls_cert.empty();
  impl_ = std::make_unique<Impl>(conf, tls);
  if (tls) {
    impl_->ssl.emplace(asio::ssl::context::tls_server);
    auto& ctx = *impl_->ssl;
    ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                    asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
    boost::system::error_code ec;
    ctx.use_certificate_chain_file(conf.web_tls_cert, ec);
    if (ec) throw std::runtime_error("web.tls_cert " + conf.web_tls_cert + ": " + ec.message());
    ctx.use_private_key_file(conf.web_tls_key, asio::ssl::context::pem, ec);
    if (ec) throw std::runtime_error("web.tls_key " + conf.web_tls_key + ": " + ec.message());
  }
  const auto& listen = conf.web_listen;
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("web.listen '" + listen + "' is not ADDR:PORT");
  std::string host = listen.substr(0, colon);
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("web.listen '" + listen + "': " + ec.message());
  const tcp::endpoint ep(addr, static_cast<std::uint16_t>(std::stoi(listen.substr(colon + 1))));
  auto& a = impl_->acceptor;
  a.open(ep.protocol());
  a.set_option(asio::socket_base::reuse_address(true));
  a.bind(ep, ec);
  if (ec) throw std::runtime_error("web.listen " + listen + ": " + ec.message());
  a.listen(asio::socket_base::max_listen_connections);
  asio::co_spawn(impl_->io, accept_loop(impl_.get()), asio::detached);
  impl_->thread = std::thread([this] { impl_->io.run(); });
  log::info("web_console", {{"listen", listen}, {"tls", tls ? "yes" : "no"}});
}

void WebServer::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  asio::post(impl_->io, [this] {
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
    impl_->io.stop();
  });
  impl_->thread.join();
  impl_->pool.stop();
  impl_->pool.join();
}

WebServer::~WebServer() { stop(); }

}  // namespace sitemail::web
