// scheduler.hpp — who gets an SMTP connection slot, decided in one place. Pure
// bookkeeping (no I/O, no clock of its own), unit-tested in tests/unit/test_scheduler.cpp.
//
// Rules:
//  - at most `global_limit` connections in all ([delivery] max_connections);
//  - per site at most min(MaxConnections, its share of the pool) ([delivery] site_share,
//    percent), so one site can never take every slot;
//  - sites that want another connection and find the pool full wait in FIFO order; a
//    freed slot goes to the site that has waited longest;
//  - while a site with NO connection at all waits (starved), idle connections of other
//    sites close first (least recently used first), connections do not linger after
//    their site's mail, and a busy connection of another site hands its slot over after it
//    has carried kYieldAfter messages (round robin at connection granularity). A site
//    that already has a connection and wants a second one never takes another site's.
#pragma once
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
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
  [[nodiscard]] std::optional<ConnId> evict();
  // Should a connection that just finished a message stay open when its site has no more
  // mail? Only when no starved site (waiting, with no connection) needs the slot.
  [[nodiscard]] bool may_linger() const;
  // Waiting sites that have no connection at all.
  [[nodiscard]] int starved() const;
  // Should a busy connection that has carried `carried` messages hand its slot over?
  [[nodiscard]] bool should_yield(const std::string& site, int carried) const;

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
  std::map<std::string, int> open_;       // connections per site (busy + idle)
  std::map<ConnId, IdleConn> idle_;       // idle connections
  std::deque<std::string> waiting_;       // sites with mail and no slot, oldest first
  int evicting_ = 0;                      // evicted connections not yet released
  std::map<ConnId, bool> evicted_;        // ids handed out by evict()
};

}  // namespace sitemail
