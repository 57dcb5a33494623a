// transport.hpp — the byte pipe under an SMTP session: TCP connect (directly or through an
// HTTP CONNECT / SOCKS4 / SOCKS4A / SOCKS5 proxy), TLS (implicit or after STARTTLS) with
// chain + host-name verification or certificate pinning, and an inactivity timeout on
// every connect, read and write (Timeout; 0 = none).
#pragma once
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "asio.hpp"
#include "effective_settings.hpp"
#include "outcome.hpp"

namespace sitemail::smtp {

// TLS context of one site, built once per configuration and shared by its connections.
struct TlsSetup {
  std::shared_ptr<asio::ssl::context> ctx;
  std::string pin;               // "", "*" or SHA-256 hex of the expected leaf certificate
  std::string client_subject;    // selected client certificate, if any
  std::optional<Failure> error;  // config failure (bad client cert, CA file, ...)
};
[[nodiscard]] std::shared_ptr<TlsSetup> make_tls_setup(const EffectiveSettings& s, const std::string& config_dir);

class Transport : public std::enable_shared_from_this<Transport> {
 public:
  Transport(asio::any_io_executor ex, std::chrono::seconds timeout);
  ~Transport();

  // Connects to the relay of `s`, through its proxy when one is set. Bytes the proxy
  // passed on after its handshake are kept for the session (take_leftover()).
  asio::awaitable<std::optional<Failure>> connect(const EffectiveSettings& s);
  // Connects to another host (an OAuth token endpoint) through the same proxy settings of `s`.
  asio::awaitable<std::optional<Failure>> connect_to(const EffectiveSettings& s, const std::string& host, std::uint16_t port);
  asio::awaitable<std::optional<Failure>> start_tls(const TlsSetup& tls, const std::string& host);
  asio::awaitable<std::size_t> read_some(char* buf, std::size_t n, boost::system::error_code& ec);
  asio::awaitable<void> write_all(std::string_view data, boost::system::error_code& ec);
  [[nodiscard]] std::string take_leftover() { return std::exchange(leftover_, {}); }
  [[nodiscard]] bool timed_out() const { return timed_out_; }
  [[nodiscard]] bool tls_active() const { return tls_ != nullptr; }
  // The relay (or proxy) connected to; before that (or when connecting failed) the target
  // host:port, so a connection failure still names where it tried.
  [[nodiscard]] std::string peer() const { return peer_.empty() ? target_ : peer_; }
  // An overall deadline on top of the per-operation timeout (a relay that drips one byte
  // at a time never trips the inactivity timeout); nullopt = none.
  void set_deadline(std::optional<std::chrono::steady_clock::time_point> d) { deadline_ = d; }
  [[nodiscard]] bool deadline_hit() const { return deadline_hit_; }
  // "timed out after 60 s" or "the deadline for this stage ran out" (after a timed_out()).
  [[nodiscard]] std::string timeout_text() const;
  // Ends TLS with close_notify (bounded by `limit`), then closes the socket.
  asio::awaitable<void> shutdown(std::chrono::seconds limit);
  void close();

 private:
  void arm();
  void disarm();
  asio::awaitable<std::optional<Failure>> tcp_connect(const std::string& host, std::uint16_t port, Stage stage);
  asio::awaitable<std::optional<Failure>> proxy_handshake(const EffectiveSettings& s, const std::string& host,
                                                          std::uint16_t port);
  asio::awaitable<bool> read_exact(std::string& out, std::size_t n, boost::system::error_code& ec);

  tcp::socket sock_;
  asio::steady_timer timer_;
  std::chrono::seconds timeout_;
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls_;
  std::string leftover_;
  std::string peer_;
  std::string target_;  // host:port of the relay, known before connecting
  bool timed_out_ = false;
  bool deadline_hit_ = false;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
};

}  // namespace sitemail::smtp
