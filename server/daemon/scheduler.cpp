// scheduler.cpp — see scheduler.hpp.
#include "scheduler.hpp"

#include <algorithm>

namespace sitemail {

SlotScheduler::SlotScheduler(int global_limit, int site_share_percent)
    : global_(std::max(1, global_limit)), share_(std::clamp(site_share_percent, 1, 100)) {}

int SlotScheduler::site_cap(int max_connections) const { return std::max(1, std::min(max_connections, share_cap())); }

int SlotScheduler::open(const std::string& site) const {
  auto it = open_.find(site);
  return it == open_.end() ? 0 : it->second;
}

bool SlotScheduler::waiting(const std::string& site) const { return in_line_.count(site) > 0; }

std::optional<SlotScheduler::ConnId> SlotScheduler::acquire(const std::string& site, int cap) {
  if (open(site) >= cap) return std::nullopt;  // the site's own limit, not the pool: no place in line
  if (total_ >= global_) {
    if (in_line_.insert(site).second) waiting_.push_back(site);
    return std::nullopt;
  }
  ++total_;
  ++open_[site];
  return next_id_++;
}

void SlotScheduler::satisfied(const std::string& site) {
  if (in_line_.erase(site) > 0) waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), site), waiting_.end());
}

void SlotScheduler::release(const std::string& site, ConnId id) {
  idle_.erase(id);
  if (evicted_.erase(id) > 0) --evicting_;
  if (auto it = open_.find(site); it != open_.end() && --it->second <= 0) open_.erase(it);
  --total_;
}

void SlotScheduler::idle(const std::string& site, ConnId id, Clock::time_point since) { idle_[id] = IdleConn{site, since}; }

void SlotScheduler::busy(const std::string&, ConnId id) { idle_.erase(id); }

int SlotScheduler::starved() const {
  return static_cast<int>(std::count_if(waiting_.begin(), waiting_.end(), [&](const std::string& s) { return open(s) == 0; }));
}

std::optional<SlotScheduler::Victim> SlotScheduler::evict() {
  if (idle_.empty()) return std::nullopt;
  // Only a site with no connection at all takes one from another site; slots already on
  // their way back cover that many starved sites.
  if (evicting_ >= starved()) return std::nullopt;
  // A site's second (third, ...) connection goes before any site's only one; then least
  // recently used first.
  auto victim = idle_.end();
  auto before = [&](const auto& a, const auto& b) {
    const bool sa = open(a->second.site) > 1, sb = open(b->second.site) > 1;
    return sa != sb ? sa : a->second.since < b->second.since;
  };
  for (auto it = idle_.begin(); it != idle_.end(); ++it) {
    if (waiting(it->second.site)) continue;
    if (victim == idle_.end() || before(it, victim)) victim = it;
  }
  if (victim == idle_.end()) return std::nullopt;
  Victim v{victim->first, victim->second.site};
  idle_.erase(victim);
  evicted_[v.id] = true;
  ++evicting_;
  return v;
}

bool SlotScheduler::would_yield(const std::string& site, ConnId id, int carried) const {
  // A site's extra connection hands its slot over after the message it carried; its only
  // connection after kYieldAfter messages.
  if ((carried < kYieldAfter && open(site) <= 1) || evicted_.count(id) > 0) return false;
  if (evicting_ >= starved()) return false;  // slots already on their way back cover them
  return std::any_of(waiting_.begin(), waiting_.end(), [&](const std::string& s) { return s != site && open(s) == 0; });
}

bool SlotScheduler::yield(const std::string& site, ConnId id, int carried) {
  if (!would_yield(site, id, carried)) return false;
  idle_.erase(id);
  evicted_[id] = true;
  ++evicting_;
  return true;
}

}  // namespace sitemail
