// web_session.cpp — see web_session.hpp.
#include "web_session.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

namespace sitemail::web {

std::string random_token() {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("no random bytes for a session token");
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned bits = 0;
  int nbits = 0;
  for (unsigned char c : raw) {
    bits = (bits << 8) | c;
    nbits += 8;
    while (nbits >= 6) {
      nbits -= 6;
      out += alphabet[(bits >> nbits) & 63];
    }
  }
  if (nbits > 0) out += alphabet[(bits << (6 - nbits)) & 63];
  return out;
}

bool tokens_equal(const std::string& a, const std::string& b) {
  return a.size() == b.size() && !a.empty() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool Session::manages(const std::string& site) const {
  return admin() || std::find(sites.begin(), sites.end(), site) != sites.end();
}

std::string SessionStore::create(const std::string& user, const std::string& role, const std::vector<std::string>& sites,
                                 const std::string& credential) {
  std::string token = random_token();
  std::lock_guard lock(mu_);
  const auto now = Clock::now();
  if (sessions_.size() >= kMaxSessions)  // forget idle sessions first; then the oldest
    std::erase_if(sessions_, [&](const auto& kv) { return now - kv.second.last_seen >= kSessionIdle; });
  if (sessions_.size() >= kMaxSessions)
    sessions_.erase(std::min_element(sessions_.begin(), sessions_.end(),
                                     [](const auto& x, const auto& y) { return x.second.last_seen < y.second.last_seen; }));
  sessions_[token] = Session{user, role, sites, random_token(), now, credential};
  return token;
}

std::optional<Session> SessionStore::touch(const std::string& token, Clock::time_point now) {
  if (token.empty()) return std::nullopt;
  std::lock_guard lock(mu_);
  auto it = sessions_.find(token);
  if (it == sessions_.end()) return std::nullopt;
  if (now - it->second.last_seen >= kSessionIdle) {
    sessions_.erase(it);
    return std::nullopt;
  }
  it->second.last_seen = now;
  return it->second;
}

void SessionStore::end(const std::string& token) {
  std::lock_guard lock(mu_);
  sessions_.erase(token);
}

bool LoginThrottle::blocked(const std::string& addr, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = failures_.find(addr);
  if (it == failures_.end()) return false;
  auto& q = it->second;
  while (!q.empty() && now - q.front() >= kThrottleWindow) q.pop_front();
  if (q.empty()) {
    failures_.erase(it);
    return false;
  }
  return static_cast<int>(q.size()) >= kThrottleFailures;
}

void LoginThrottle::failed(const std::string& addr, Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (failures_.size() > 100000) failures_.clear();  // bounded memory under a flood of addresses
  auto& q = failures_[addr];
  q.push_back(now);
  while (q.size() > static_cast<std::size_t>(kThrottleFailures) * 2) q.pop_front();
}

}  // namespace sitemail::web
