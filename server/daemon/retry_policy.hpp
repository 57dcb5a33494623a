// retry_policy.hpp — THE delivery outcome policy of sitemaild: what a message's row
// becomes after an attempt. sent; transient (network, 4xx, TLS, timeout) -> retry with
// exponential backoff and jitter until retry.give_up; permanent 5xx -> failed; 535 ->
// deferred and the site backed off; config -> held without spending the attempt.
#pragma once
#include <chrono>
#include <optional>
#include <string>

#include "daemon_conf.hpp"
#include "outcome.hpp"

namespace sitemail {

enum class RowStatus { sent, queued, failed };

struct RowUpdate {
  RowStatus status = RowStatus::queued;
  long long retry_in_seconds = 0;  // for queued
  bool refund_attempt = false;     // config holds do not spend attempts
  std::string last_error;          // our words + the relay's reply, sanitised
};

// attempts: this attempt's number (1 = first); age: time since the row was queued.
[[nodiscard]] RowUpdate decide(const std::optional<smtp::Failure>& failure, int attempts, std::chrono::seconds age,
                               const DaemonConf& conf, double jitter01);
// A message that was not tried because its site is suspended (its relay could not be
// reached, or refused our login): queued again for when the suspension ends, the attempt
// not spent; failed when that would pass retry.give_up.
[[nodiscard]] RowUpdate decide_suspended(const std::string& because, long long wait_seconds, std::chrono::seconds age,
                                         const DaemonConf& conf);
[[nodiscard]] long long backoff_seconds(int attempts, const DaemonConf& conf, double jitter01);
[[nodiscard]] const char* row_status_name(RowStatus s);

}  // namespace sitemail
