// scheduler.hpp — who gets an SMTP connection slot, decided in one place. Pure
// bookkeeping (no I/O, no clock of its own), unit-tested in tests/unit/test_scheduler.cpp.
//
// Rules:
//  - at most `global_limit` connections in all ([delivery] max_connections);
//  - per site at most min(MaxConnections, its share of the pool) ([delivery] site_share,
//    percent), so one site can never take every slot;
//  - sites that want another connection and find the pool full wait in FIFO order; a
//    freed slot goes to the site that has waited longest;
//  - while sites with NO connection at all wait (starved), as many slots as they need are
//    handed over, never more: a site's extra connections (beyond its first) go first, idle
//    ones at once and busy ones after their current message; then idle connections of
//    other sites (least recently used first); then a busy connection that has carried
//    kYieldAfter messages (round robin at connection granularity). A site that already has
//    a connection and wants a second one never takes another site's. Nobody starved: an
//    idle connection keeps its session for more of its site's mail.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace sitemail {

class SlotScheduler {
 public:
  using Clock = std::chrono::steady_clock;
  using ConnId = std::uint64_t;
  // A busy connection yields its slot to a waiting site after this many messages.
  static constexpr int kYieldAfter = 50;

  SlotScheduler(int global_limit, int site_share_percent);

  // The most connections a site whose MaxConnections is `max_connections` may hold.
  [[nodiscard]] int site_cap(int max_connections) const;
  // The most any one site (or route) may hold: its share of the pool.
  [[nodiscard]] int share_cap() const { return std::max(1, global_ * share_ / 100); }

  // Asks for one more connection for `site` (cap from site_cap()). On success the slot is
  // taken and the new connection's id returned; otherwise the site waits in line.
  [[nodiscard]] std::optional<ConnId> acquire(const std::string& site, int cap);
  // The site has no mail left waiting for a connection: it leaves the line.
  void satisfied(const std::string& site);
  // A connection ended (closed, failed, evicted): its slot is free.
  void release(const std::string& site, ConnId id);

  // Idle bookkeeping: an idle connection waits for more mail of its site.
  void idle(const std::string& site, ConnId id, Clock::time_point since);
  void busy(const std::string& site, ConnId id);

  // When sites wait and the pool is full: the idle connection to close now (least recently
  // used, never one of a waiting site's own), or nothing. The victim leaves the idle list.
  struct Victim {
    ConnId id;
    std::string site;
  };
  [[nodiscard]] std::optional<Victim> evict();
  // Waiting sites that have no connection at all.
  [[nodiscard]] int starved() const;
  // A busy connection that has carried `carried` messages: should it hand its slot over to
  // a starved site (at once when it is one of several of its site's)? When it should, it is
  // counted as a slot on its way back (like evict()).
  [[nodiscard]] bool yield(const std::string& site, ConnId id, int carried);
  // The same question without counting it: would it hand over after `carried` messages?
  [[nodiscard]] bool would_yield(const std::string& site, ConnId id, int carried) const;

  // Was this connection chosen by evict() or yield() (its slot is promised to a starved site)?
  [[nodiscard]] bool evicted(ConnId id) const { return evicted_.count(id) > 0; }
  [[nodiscard]] int total() const { return total_; }
  [[nodiscard]] int open(const std::string& site) const;
  [[nodiscard]] bool waiting(const std::string& site) const;
  [[nodiscard]] const std::deque<std::string>& line() const { return waiting_; }

 private:
  struct IdleConn {
    std::string site;
    Clock::time_point since;
  };
  int global_;
  int share_;
  int total_ = 0;
  ConnId next_id_ = 1;
  std::map<std::string, int> open_;  // connections per site (busy + idle)
  std::map<ConnId, IdleConn> idle_;  // idle connections
  std::deque<std::string> waiting_;  // sites with mail and no slot, oldest first
  std::set<std::string> in_line_;    // the same sites, for lookups
  int evicting_ = 0;                 // evicted/yielding connections not yet released
  std::map<ConnId, bool> evicted_;   // ids handed out by evict() and yield()
};

}  // namespace sitemail
