// metrics.cpp — see metrics.hpp.
#include "metrics.hpp"

#include <sstream>
#include <stdexcept>

namespace sitemail {

namespace {
std::string label(const std::string& v) {
  std::string o;
  for (char c : v) {
    if (c == '"' || c == '\\') o += '\\';
    o += c == '\n' ? ' ' : c;
  }
  return o;
}
}  // namespace

void Metrics::delivered(const std::string& site, const char* result, double latency) {
  std::lock_guard lock(mu_);
  ++results_[{site, result}];
  if (std::string(result) == "sent") {
    ++latency_count_;
    latency_sum_ += latency;
    for (std::size_t i = 0; i < kBuckets.size(); ++i)
      if (latency <= kBuckets[i]) ++buckets_[i];
  }
}

void Metrics::set_depth(const std::map<std::string, long long>& d) {
  std::lock_guard lock(mu_);
  depth_ = d;
}

std::string Metrics::render() const {
  std::lock_guard lock(mu_);
  std::ostringstream o;
  o << "# HELP sitemail_queue_depth Outbox rows per status.\n# TYPE sitemail_queue_depth gauge\n";
  for (const auto& [status, n] : depth_) o << "sitemail_queue_depth{status=\"" << label(status) << "\"} " << n << "\n";
  o << "# HELP sitemail_messages_total Delivery attempts per site and result.\n# TYPE sitemail_messages_total counter\n";
  for (const auto& [key, n] : results_)
    o << "sitemail_messages_total{site=\"" << label(key.first) << "\",result=\"" << key.second << "\"} " << n << "\n";
  o << "# HELP sitemail_delivery_latency_seconds Time from enqueue to delivery.\n"
       "# TYPE sitemail_delivery_latency_seconds histogram\n";
  for (std::size_t i = 0; i < kBuckets.size(); ++i)
    o << "sitemail_delivery_latency_seconds_bucket{le=\"" << kBuckets[i] << "\"} " << buckets_[i] << "\n";
  o << "sitemail_delivery_latency_seconds_bucket{le=\"+Inf\"} " << latency_count_ << "\n";
  o << "sitemail_delivery_latency_seconds_sum " << latency_sum_ << "\nsitemail_delivery_latency_seconds_count "
    << latency_count_ << "\n";
  o << "# HELP sitemail_connections_open SMTP connections open now.\n# TYPE sitemail_connections_open gauge\n"
    << "sitemail_connections_open " << connections_.load() << "\n";
  o << "# HELP sitemail_database_up 1 when the database connection is up.\n# TYPE sitemail_database_up gauge\n"
    << "sitemail_database_up " << (db_up_ ? 1 : 0) << "\n";
  return o.str();
}

namespace {

asio::awaitable<void> serve(tcp::socket sock, Metrics& m) {
  // A client gets 5 seconds for the whole exchange.
  asio::steady_timer deadline(sock.get_executor(), std::chrono::seconds(5));
  deadline.async_wait([&sock](boost::system::error_code ec) {
    if (!ec) sock.close(ec);
  });
  std::string req;
  char buf[1024];
  boost::system::error_code ec;
  while (req.find("\r\n\r\n") == std::string::npos && req.size() < 8192) {
    std::size_t n = co_await sock.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    req.append(buf, n);
  }
  std::string status = "404 Not Found", type = "text/plain", body = "not found\n";
  if (req.starts_with("GET /metrics ")) {
    status = "200 OK";
    type = "text/plain; version=0.0.4";
    body = m.render();
  } else if (req.starts_with("GET /healthz ")) {
    status = m.db_up() ? "200 OK" : "503 Service Unavailable";
    body = m.db_up() ? "ok\n" : "database unavailable\n";
  }
  std::string resp = "HTTP/1.1 " + status + "\r\nContent-Type: " + type + "\r\nContent-Length: " + std::to_string(body.size()) +
                     "\r\nConnection: close\r\n\r\n" + body;
  co_await asio::async_write(sock, asio::buffer(resp), asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> accept_loop(std::shared_ptr<tcp::acceptor> acc, Metrics& m) {
  while (true) {
    boost::system::error_code ec;
    tcp::socket s = co_await acc->async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      continue;
    }
    asio::co_spawn(acc->get_executor(), serve(std::move(s), m), asio::detached);
  }
}

}  // namespace

void start_metrics_server(asio::io_context& io, const std::string& listen, Metrics& m) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("metrics.listen '" + listen + "' is not host:port");
  auto addr = asio::ip::make_address(listen.substr(0, colon));
  auto port = static_cast<std::uint16_t>(std::stoi(listen.substr(colon + 1)));
  auto acc = std::make_shared<tcp::acceptor>(io, tcp::endpoint(addr, port));
  asio::co_spawn(io, accept_loop(acc, m), asio::detached);
}

}  // namespace sitemail
