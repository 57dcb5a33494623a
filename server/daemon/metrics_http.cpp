// metrics_http.cpp — the /metrics and /healthz listener of sitemaild on Boost.Beast: whole
// HTTP/1.1 requests (however they are split into TCP segments), GET and HEAD only (405 with
// Allow otherwise), 404 for other paths, one request per connection. It is bounded so that a
// local client cannot starve the daemon: at most kMaxConnections (and a quarter of the
// descriptor limit) open at once, requests of at most kMaxRequestBytes, kConnectionDeadline
// for the whole exchange, and an accept back-off when descriptors run out (EMFILE/ENFILE)
// instead of a busy loop.
#include <sys/resource.h>

#include <algorithm>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <stdexcept>

#include "log.hpp"
#include "metrics.hpp"

namespace sitemail {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;

constexpr std::size_t kMaxConnections = 64;                    // open metrics connections at once
constexpr std::size_t kMaxRequestBytes = 8192;                 // request line + headers + body
constexpr auto kConnectionDeadline = std::chrono::seconds(5);  // accept to last byte written
constexpr auto kAcceptBackoffMin = std::chrono::milliseconds(50);
constexpr auto kAcceptBackoffMax = std::chrono::milliseconds(2000);

struct Listener {
  Listener(asio::io_context& io, const tcp::endpoint& ep, Metrics& m) : acceptor(io, ep), backoff(io), metrics(m) {}
  tcp::acceptor acceptor;
  asio::steady_timer backoff;
  Metrics& metrics;
  std::size_t cap = kMaxConnections;
  std::size_t open = 0;  // touched only on the io thread
};

// Never more than a quarter of the process's descriptors for metrics: SMTP connections and
// the database keep the rest however many local clients connect.
std::size_t connection_cap() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return kMaxConnections;
  return std::clamp<std::size_t>(static_cast<std::size_t>(rl.rlim_cur / 4), 2, kMaxConnections);
}

http::response<http::string_body> answer(const http::request<http::string_body>& req, Metrics& m) {
  http::response<http::string_body> res;
  res.version(11);
  res.keep_alive(false);
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  std::string_view target(req.target().data(), req.target().size());
  if (auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  const bool head = req.method() == http::verb::head;
  if (req.method() != http::verb::get && !head) {
    res.result(http::status::method_not_allowed);
    res.set(http::field::allow, "GET, HEAD");
    res.body() = "method not allowed (GET or HEAD)\n";
  } else if (target == "/metrics") {
    res.result(http::status::ok);
    res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.body() = m.render();
  } else if (target == "/healthz") {
    res.result(m.db_up() ? http::status::ok : http::status::service_unavailable);
    res.body() = m.db_up() ? "ok\n" : "database unavailable\n";
  } else {
    res.result(http::status::not_found);
    res.body() = "not found (try /metrics or /healthz)\n";
  }
  res.prepare_payload();
  if (head) res.body().clear();  // Content-Length stays that of the GET answer
  return res;
}

http::response<http::string_body> refusal(http::status status, std::string text) {
  http::response<http::string_body> res{status, 11};
  res.keep_alive(false);
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.body() = std::move(text);
  res.prepare_payload();
  return res;
}

asio::awaitable<void> serve(std::shared_ptr<Listener> l, tcp::socket sock) {
  beast::tcp_stream stream(std::move(sock));
  stream.expires_after(kConnectionDeadline);  // covers the read and the write
  beast::flat_buffer buffer(kMaxRequestBytes);
  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(kMaxRequestBytes));
  parser.body_limit(kMaxRequestBytes);
  beast::error_code ec;
  co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  http::response<http::string_body> res;
  if (ec == http::error::header_limit || ec == http::error::body_limit || ec == http::error::buffer_overflow) {
    res =
        refusal(http::status::payload_too_large, "request larger than " + std::to_string(kMaxRequestBytes) + " bytes (limit)\n");
  } else if (ec == beast::error::timeout || ec == http::error::end_of_stream || ec == asio::error::eof ||
             ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
    co_return;  // nothing to answer
  } else if (ec) {
    res = refusal(http::status::bad_request, "bad request: " + ec.message() + "\n");
  } else {
    res = answer(parser.get(), l->metrics);
  }
  co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

// Over the cap: a short 503 written without waiting (the socket buffer takes it), then close.
void reject(tcp::socket& s, Metrics& m) {
  m.metrics_connection_rejected();
  static const std::string kBusy =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 42\r\nRetry-After: 1\r\n"
      "Connection: close\r\n\r\ntoo many metrics connections; retry later\n";
  boost::system::error_code ec;
  s.non_blocking(true, ec);
  s.write_some(asio::buffer(kBusy), ec);
  s.close(ec);
}

bool out_of_descriptors(const boost::system::error_code& ec) {
  return ec == asio::error::no_descriptors || ec == boost::system::errc::too_many_files_open_in_system ||
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

asio::awaitable<void> accept_loop(std::shared_ptr<Listener> l) {
  auto backoff = std::chrono::milliseconds(kAcceptBackoffMin);
  while (true) {
    boost::system::error_code ec;
    tcp::socket s = co_await l->acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // The pending connection stays in the backlog and the listener stays readable: accepting
      // again at once would spin. Wait, doubling up to kAcceptBackoffMax.
      if (out_of_descriptors(ec))
        log::warn("metrics", {{"problem", "accept: " + ec.message()}, {"retry_in", std::to_string(backoff.count()) + "ms"}});
      l->backoff.expires_after(backoff);
      co_await l->backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, kAcceptBackoffMax);
      continue;
    }
    backoff = kAcceptBackoffMin;
    if (l->open >= l->cap) {
      reject(s, l->metrics);
      continue;
    }
    ++l->open;
    asio::co_spawn(l->acceptor.get_executor(), serve(l, std::move(s)), [l](const std::exception_ptr&) { --l->open; });
  }
}

}  // namespace

void start_metrics_server(asio::io_context& io, const std::string& listen, Metrics& m) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("metrics.listen '" + listen + "' is not host:port");
  auto addr = asio::ip::make_address(listen.substr(0, colon));
  auto port = static_cast<std::uint16_t>(std::stoi(listen.substr(colon + 1)));
  auto l = std::make_shared<Listener>(io, tcp::endpoint(addr, port), m);
  l->cap = connection_cap();
  asio::co_spawn(io, accept_loop(l), asio::detached);
}

}  // namespace sitemail
