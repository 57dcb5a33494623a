// policy.cpp — see policy.hpp.
#include "policy.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace sitemail::submission {

namespace {

std::string lower(std::string_view s) {
  std::string o(s);
  std::transform(o.begin(), o.end(), o.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return o;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool domain_ok(std::string_view d) {
  if (d.empty() || d.front() == '.' || d.back() == '.') return false;
  return std::all_of(d.begin(), d.end(), [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '.' || c >= 0x80; });
}

bool local_ok(std::string_view l) {
  return !l.empty() &&
         std::none_of(l.begin(), l.end(), [](unsigned char c) { return c <= ' ' || c == 0x7f || c == ',' || c == '@'; });
}

}  // namespace

std::optional<std::vector<std::string>> parse_senders(std::string_view text, std::string& error) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto comma = text.find(',', pos);
    auto item = trim(text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
    pos = comma == std::string_view::npos ? text.size() + 1 : comma + 1;
    if (item.empty()) continue;
    auto at = item.rfind('@');
    bool good = at != std::string_view::npos;
    if (good) {
      auto local = item.substr(0, at), domain = item.substr(at + 1);
      if (local == "*" && domain.starts_with("*.")) good = domain_ok(domain.substr(2));
      else good = (local.empty() || local_ok(local)) && domain_ok(domain);
    }
    if (!good) {
      error = "'" + std::string(item) + "' is not a sender pattern (user@example.org, @example.org or *@*.example.org)";
      return std::nullopt;
    }
    out.push_back(std::string(item.substr(0, at + 1)) + lower(item.substr(at + 1)));
  }
  return out;
}

bool sender_allowed(const std::vector<std::string>& patterns, std::string_view address) {
  if (patterns.empty()) return true;
  auto at = address.rfind('@');
  if (at == std::string_view::npos) return false;
  auto local = address.substr(0, at);
  auto domain = lower(address.substr(at + 1));
  if (local.empty() || domain.empty()) return false;
  for (const auto& p : patterns) {
    auto pat = p.rfind('@');
    std::string_view pl = std::string_view(p).substr(0, pat), pd = std::string_view(p).substr(pat + 1);
    if (pl == "*" && pd.starts_with("*.")) {
      auto base = pd.substr(1);  // ".example.org"
      if (domain.size() > base.size() && std::string_view(domain).ends_with(base)) return true;
    } else if (pl.empty()) {
      if (domain == pd) return true;
    } else if (pl == local && domain == pd) {
      return true;
    }
  }
  return false;
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
  text = trim(text);
  Cidr c;
  std::string addr(text.substr(0, text.find('/')));
  if (inet_pton(AF_INET, addr.c_str(), c.bytes.data()) == 1) {
    c.v6 = false;
    c.prefix = 32;
  } else if (inet_pton(AF_INET6, addr.c_str(), c.bytes.data()) == 1) {
    c.v6 = true;
    c.prefix = 128;
  } else {
    return std::nullopt;
  }
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    auto digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 ||
        !std::all_of(digits.begin(), digits.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
      return std::nullopt;
    int n = std::stoi(std::string(digits));
    if (n > (c.v6 ? 128 : 32)) return std::nullopt;
    c.prefix = n;
  }
  // Host bits cleared, as PostgreSQL's cidr type requires.
  for (int i = 0; i < 16; ++i) {
    int keep = std::clamp(c.prefix - i * 8, 0, 8);
    c.bytes[static_cast<std::size_t>(i)] &= static_cast<std::uint8_t>(keep == 8 ? 0xff : (0xff << (8 - keep)) & 0xff);
  }
  return c;
}

bool Cidr::contains(std::string_view address) const {
  std::array<std::uint8_t, 16> a{};
  std::string s(address);
  bool is_v6;
  if (inet_pton(AF_INET, s.c_str(), a.data()) == 1) {
    is_v6 = false;
  } else if (inet_pton(AF_INET6, s.c_str(), a.data()) == 1) {
    is_v6 = true;
    static const std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (!v6 && std::memcmp(a.data(), mapped, 12) == 0) {
      std::memmove(a.data(), a.data() + 12, 4);
      is_v6 = false;
    }
  } else {
    return false;
  }
  if (is_v6 != v6) return false;
  for (int bit = 0; bit < prefix; ++bit) {
    auto i = static_cast<std::size_t>(bit / 8);
    int mask = 0x80 >> (bit % 8);
    if ((a[i] & mask) != (bytes[i] & mask)) return false;
  }
  return true;
}

std::string Cidr::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(prefix);
}

void AuthThrottle::prune(Clock::time_point now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    auto& e = it->second;
    while (!e.failures.empty() && now - e.failures.front() >= kWindow) e.failures.pop_front();
    if (e.failures.empty() && e.locked_until <= now) it = entries_.erase(it);
    else ++it;
  }
}

bool AuthThrottle::locked(const std::string& address, Clock::time_point now) {
  auto it = entries_.find(address);
  return it != entries_.end() && it->second.locked_until > now;
}

void AuthThrottle::failure(const std::string& address, Clock::time_point now) {
  if (entries_.size() >= kMaxAddresses) prune(now);
  if (entries_.size() >= kMaxAddresses && !entries_.count(address))
    return;  // under attack from everywhere: keep the ones we track
  auto& e = entries_[address];
  while (!e.failures.empty() && now - e.failures.front() >= kWindow) e.failures.pop_front();
  e.failures.push_back(now);
  if (static_cast<int>(e.failures.size()) >= kMaxFailures) {
    e.locked_until = now + kLockout;
    e.failures.clear();
  }
}

void AuthThrottle::success(const std::string& address) {
  auto it = entries_.find(address);
  if (it != entries_.end() && it->second.locked_until <= Clock::now()) entries_.erase(it);
}

}  // namespace sitemail::submission
