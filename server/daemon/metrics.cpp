// metrics.cpp — see metrics.hpp: the values and their rendering (the server: metrics_http.cpp).
#include "metrics.hpp"

#include <algorithm>
#include <chrono>
#include <sstream>

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

void Metrics::submission_session(const std::string& site, const char* result) {
  std::lock_guard lock(mu_);
  ++submission_sessions_[{site, result}];
}

void Metrics::submission_message(const std::string& site, const char* result) {
  std::lock_guard lock(mu_);
  ++submission_messages_[{site, result}];
}

void Metrics::set_depth(const std::map<std::string, long long>& d) {
  std::lock_guard lock(mu_);
  depth_ = d;
}

void Metrics::set_site_queue(std::map<std::string, SiteQueue> q) {
  std::lock_guard lock(mu_);
  site_queue_ = std::move(q);
}

void Metrics::reload_done(bool ok, const std::vector<std::string>& invalid_sites) {
  std::lock_guard lock(mu_);
  last_reload_ok_ = ok;
  last_reload_time_ = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  if (ok) invalid_sites_ = invalid_sites;
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
  o << "sitemail_delivery_latency_seconds_sum " << latency_sum_ << "\nsitemail_delivery_latency_seconds_count " << latency_count_
    << "\n";
  o << "# HELP sitemail_connections_open SMTP connections open now.\n# TYPE sitemail_connections_open gauge\n"
    << "sitemail_connections_open " << connections_.load() << "\n";
  o << "# HELP sitemail_database_up 1 when the database connection is up.\n# TYPE sitemail_database_up gauge\n"
    << "sitemail_database_up " << (db_up_ ? 1 : 0) << "\n";
  double oldest = 0;
  for (const auto& [site, q] : site_queue_) oldest = std::max(oldest, q.oldest_age_seconds);
  o << "# HELP sitemail_oldest_queued_age_seconds Age of the oldest queued message (0 when none).\n"
       "# TYPE sitemail_oldest_queued_age_seconds gauge\nsitemail_oldest_queued_age_seconds "
    << oldest << "\n";
  o << "# HELP sitemail_site_queue_depth Queued messages per site.\n# TYPE sitemail_site_queue_depth gauge\n";
  for (const auto& [site, q] : site_queue_) o << "sitemail_site_queue_depth{site=\"" << label(site) << "\"} " << q.queued << "\n";
  o << "# HELP sitemail_site_held Queued messages held because their site's configuration is invalid.\n"
       "# TYPE sitemail_site_held gauge\n";
  for (const auto& site : invalid_sites_) {
    auto it = site_queue_.find(site);
    o << "sitemail_site_held{site=\"" << label(site) << "\"} " << (it == site_queue_.end() ? 0 : it->second.queued) << "\n";
  }
  o << "# HELP sitemail_invalid_sites Sites whose configuration is invalid (their mail is held).\n"
       "# TYPE sitemail_invalid_sites gauge\nsitemail_invalid_sites "
    << invalid_sites_.size() << "\n";
  o << "# HELP sitemail_last_reload_timestamp_seconds When the configuration was last loaded (Unix time).\n"
       "# TYPE sitemail_last_reload_timestamp_seconds gauge\nsitemail_last_reload_timestamp_seconds "
    << std::fixed << last_reload_time_ << std::defaultfloat << "\n";
  o << "# HELP sitemail_last_reload_success 1 when the last configuration load succeeded.\n"
       "# TYPE sitemail_last_reload_success gauge\nsitemail_last_reload_success "
    << (last_reload_ok_ ? 1 : 0) << "\n";
  o << "# HELP sitemail_metrics_connections_rejected_total Metrics connections refused at the connection cap.\n"
       "# TYPE sitemail_metrics_connections_rejected_total counter\nsitemail_metrics_connections_rejected_total "
    << http_rejected_.load() << "\n";
  o << "# HELP sitemail_submission_connections_open Submission door connections open now.\n"
       "# TYPE sitemail_submission_connections_open gauge\nsitemail_submission_connections_open "
    << submission_open_.load() << "\n";
  o << "# HELP sitemail_submission_sessions_total Submission door sessions per site and result.\n"
       "# TYPE sitemail_submission_sessions_total counter\n";
  for (const auto& [key, n] : submission_sessions_)
    o << "sitemail_submission_sessions_total{site=\"" << label(key.first) << "\",result=\"" << key.second << "\"} " << n << "\n";
  o << "# HELP sitemail_submission_messages_total Messages offered to the submission door per site and result.\n"
       "# TYPE sitemail_submission_messages_total counter\n";
  for (const auto& [key, n] : submission_messages_)
    o << "sitemail_submission_messages_total{site=\"" << label(key.first) << "\",result=\"" << key.second << "\"} " << n << "\n";
  o << "# HELP sitemail_submission_auth_failures_total Failed or throttled AUTH attempts at the submission door.\n"
       "# TYPE sitemail_submission_auth_failures_total counter\nsitemail_submission_auth_failures_total "
    << submission_auth_failures_.load() << "\n";
  o << "# HELP sitemail_build_info The running sitemaild.\n# TYPE sitemail_build_info gauge\n"
    << "sitemail_build_info{version=\"" << SITEMAIL_VERSION << "\"} 1\n";
  return o.str();
}

}  // namespace sitemail
