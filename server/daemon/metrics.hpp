// metrics.hpp — the daemon's counters and gauges, and the HTTP endpoint that serves them
// (metrics_http.cpp, Boost.Beast): GET|HEAD /metrics (Prometheus text format 0.0.4) and
// /healthz on [metrics] listen, with bounded connections, request size and time.
#pragma once
#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "asio.hpp"

namespace sitemail {

// Queued mail of one site (QueueStore::site_queue()).
struct SiteQueue {
  long long queued = 0;
  double oldest_age_seconds = 0;  // age of its oldest queued row
};

class Metrics {
 public:
  void delivered(const std::string& site, const char* result, double latency_seconds);  // result: sent|deferred|failed|held
  void set_depth(const std::map<std::string, long long>& d);
  void connection_opened() { ++connections_; }
  void connection_closed() { --connections_; }
  void set_db_up(bool up) { db_up_ = up; }
  void set_site_queue(std::map<std::string, SiteQueue> q);
  // After every configuration load: ok=false when it failed (the previous sites stay).
  void reload_done(bool ok, const std::vector<std::string>& invalid_sites);
  void metrics_connection_rejected() { ++http_rejected_; }
  // The SMTP submission door (§9): open connections, sessions per site and result
  // (accepted: identified by AUTH or a trusted network; unidentified; refused: over
  // max_connections or a failed TLS handshake), messages per site and result (accepted,
  // refused by policy or content, failed to store), failed AUTH attempts.
  void submission_connection_opened() { ++submission_open_; }
  void submission_connection_closed() { --submission_open_; }
  void submission_session(const std::string& site, const char* result);
  void submission_message(const std::string& site, const char* result);
  void submission_auth_failure() { ++submission_auth_failures_; }
  [[nodiscard]] bool db_up() const { return db_up_; }
  [[nodiscard]] std::string render() const;

 private:
  static constexpr std::array<double, 10> kBuckets = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300};
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, long long> results_;  // (site, result) -> count
  std::map<std::string, long long> depth_;
  std::array<long long, kBuckets.size()> buckets_{};
  long long latency_count_ = 0;
  double latency_sum_ = 0;
  std::atomic<long long> connections_{0};
  std::atomic<bool> db_up_{false};
  std::map<std::string, SiteQueue> site_queue_;
  std::vector<std::string> invalid_sites_;
  double last_reload_time_ = 0;  // Unix time; 0 = never
  bool last_reload_ok_ = false;
  std::atomic<long long> http_rejected_{0};
  std::atomic<long long> submission_open_{0};
  std::atomic<long long> submission_auth_failures_{0};
  std::map<std::pair<std::string, std::string>, long long> submission_sessions_, submission_messages_;
};

// Serves /metrics and /healthz on `listen` ("127.0.0.1:9465"); throws on a bad address.
void start_metrics_server(asio::io_context& io, const std::string& listen, Metrics& m);

}  // namespace sitemail
