// web_session.hpp — sessions of the web console in this daemon's memory (CONTRACT §10):
// tokens from OpenSSL's RAND_bytes, 30 minutes idle expiry, one CSRF token per session
// compared in constant time, and the sign-in throttle (5 failures from one client address
// in 10 minutes refuse further sign-ins from it until the window passes). Thread-safe.
#pragma once
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sitemail::web {

using Clock = std::chrono::steady_clock;
inline constexpr auto kSessionIdle = std::chrono::minutes(30);
inline constexpr auto kThrottleWindow = std::chrono::minutes(10);
inline constexpr int kThrottleFailures = 5;
inline constexpr std::size_t kMaxSessions = 10000;

// 32 random bytes as 43 base64url characters; throws std::runtime_error when OpenSSL fails.
[[nodiscard]] std::string random_token();
// Constant-time equality (CRYPTO_memcmp; lengths compared first, they are not secret).
[[nodiscard]] bool tokens_equal(const std::string& a, const std::string& b);

struct Session {
  std::string user, role;
  std::vector<std::string> sites;
  std::string csrf;
  Clock::time_point last_seen;
  std::string credential;  // the account's password hash at sign-in: a new password ends the session
  [[nodiscard]] bool admin() const { return role == "admin"; }
  [[nodiscard]] bool manages(const std::string& site) const;
};

class SessionStore {
 public:
  // A new session; returns its token (the cookie value).
  std::string create(const std::string& user, const std::string& role, const std::vector<std::string>& sites,
                     const std::string& credential = {});
  // The live session of `token` (its idle clock restarted), or nothing when unknown or idle
  // for kSessionIdle (then it is forgotten).
  [[nodiscard]] std::optional<Session> touch(const std::string& token, Clock::time_point now = Clock::now());
  void end(const std::string& token);

 private:
  std::mutex mu_;
  std::map<std::string, Session> sessions_;
};

class LoginThrottle {
 public:
  // True when `addr` has kThrottleFailures failures within kThrottleWindow before `now`.
  [[nodiscard]] bool blocked(const std::string& addr, Clock::time_point now = Clock::now());
  void failed(const std::string& addr, Clock::time_point now = Clock::now());

 private:
  std::mutex mu_;
  std::map<std::string, std::deque<Clock::time_point>> failures_;
};

}  // namespace sitemail::web
