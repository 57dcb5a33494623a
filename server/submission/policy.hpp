// policy.hpp — the pure rules of the submission door (CONTRACT §9), no sockets, no database:
// sender patterns (`user@example.org`, `@example.org`, `*@*.example.org`), trusted networks
// (CIDR match of the client address), the per-address AUTH throttle (5 failures in 10 minutes
// close AUTH for 10 minutes) and the rolling-hour message count of an account or network.
#pragma once
#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sitemail::submission {

using Clock = std::chrono::steady_clock;

// Comma-separated patterns -> a normalised list; an error names the bad pattern.
[[nodiscard]] std::optional<std::vector<std::string>> parse_senders(std::string_view text, std::string& error);
// True when `address` (a MAIL FROM path, without <>) matches one pattern; an empty list allows
// every sender. Local parts compare exactly, domains case-insensitively.
[[nodiscard]] bool sender_allowed(const std::vector<std::string>& patterns, std::string_view address);

// An IPv4 or IPv6 network; an address alone is a /32 or /128.
struct Cidr {
  std::array<std::uint8_t, 16> bytes{};
  bool v6 = false;
  int prefix = 0;
  [[nodiscard]] static std::optional<Cidr> parse(std::string_view text);
  [[nodiscard]] bool contains(std::string_view address) const;  // IPv4-mapped IPv6 counts as IPv4
  [[nodiscard]] std::string str() const;
};

// Per client address: after kMaxFailures failures within kWindow, refused for kLockout.
class AuthThrottle {
 public:
  static constexpr int kMaxFailures = 5;
  static constexpr auto kWindow = std::chrono::minutes(10);
  static constexpr auto kLockout = std::chrono::minutes(10);
  static constexpr std::size_t kMaxAddresses = 100000;  // memory bound: the oldest entries go first
  [[nodiscard]] bool locked(const std::string& address, Clock::time_point now);
  void failure(const std::string& address, Clock::time_point now);
  void success(const std::string& address);

 private:
  struct Entry {
    std::deque<Clock::time_point> failures;
    Clock::time_point locked_until{};
  };
  void prune(Clock::time_point now);
  std::map<std::string, Entry> entries_;
};

}  // namespace sitemail::submission
