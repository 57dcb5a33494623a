// retry_policy.cpp — see retry_policy.hpp.
#include "retry_policy.hpp"

#include <algorithm>
#include <cmath>

namespace sitemail {

const char* row_status_name(RowStatus s) {
  switch (s) {
    case RowStatus::sent: return "sent";
    case RowStatus::queued: return "queued";
    case RowStatus::failed: return "failed";
  }
  return "?";
}

long long backoff_seconds(int attempts, const DaemonConf& conf, double jitter01) {
  double base = conf.retry_initial * std::pow(2.0, std::max(0, attempts - 1));
  base = std::min<double>(base, conf.retry_max);
  // +-20% jitter so that many messages deferred together do not retry together
  double j = 0.8 + 0.4 * std::clamp(jitter01, 0.0, 1.0);
  return std::max<long long>(1, static_cast<long long>(base * j));
}

RowUpdate decide_suspended(const std::string& because, long long wait_seconds, std::chrono::seconds age, const DaemonConf& conf) {
  RowUpdate u;
  u.status = RowStatus::queued;
  u.refund_attempt = true;
  u.retry_in_seconds = std::max<long long>(1, wait_seconds);
  u.last_error = "deferred: site suspended for " + std::to_string(u.retry_in_seconds) + " s after: " + because;
  if (age.count() + u.retry_in_seconds > conf.retry_give_up) {
    u.status = RowStatus::failed;
    u.last_error = "gave up: " + because;
  }
  return u;
}

RowUpdate decide(const std::optional<smtp::Failure>& failure, int attempts, std::chrono::seconds age, const DaemonConf& conf,
                 double jitter01) {
  RowUpdate u;
  if (!failure) {
    u.status = RowStatus::sent;
    return u;
  }
  const auto& f = *failure;
  u.last_error = f.describe();
  switch (f.kind) {
    case smtp::FailureKind::permanent: u.status = RowStatus::failed; return u;
    case smtp::FailureKind::config:
      u.status = RowStatus::queued;
      u.refund_attempt = true;
      u.retry_in_seconds = conf.retry_initial;
      u.last_error = "held: " + u.last_error;
      return u;
    case smtp::FailureKind::auth:
      u.status = RowStatus::queued;
      u.retry_in_seconds = conf.auth_backoff;
      break;
    case smtp::FailureKind::transient:
      u.status = RowStatus::queued;
      u.retry_in_seconds = backoff_seconds(attempts, conf, jitter01);
      break;
  }
  if (age.count() + u.retry_in_seconds > conf.retry_give_up) {
    u.status = RowStatus::failed;
    u.last_error = "gave up after " + std::to_string(attempts) + " attempts: " + u.last_error;
  }
  return u;
}

}  // namespace sitemail
