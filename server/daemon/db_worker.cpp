// db_worker.cpp — see db_worker.hpp.
#include "db_worker.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <optional>
#include <thread>

#include "log.hpp"
#include "site_source.hpp"

namespace sitemail {

DbWorker::DbWorker(const DaemonConf& conf, SiteRegistry& registry, Metrics& metrics, std::string owner,
                   std::function<void(std::vector<Job>)> dispatch, bool once)
    : conf_(conf), registry_(registry), metrics_(metrics), owner_(std::move(owner)), dispatch_(std::move(dispatch)), once_(once) {
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

DbWorker::~DbWorker() {
  if (wake_fd_ >= 0) close(wake_fd_);
}

void DbWorker::wake() {
  std::uint64_t one = 1;
  ssize_t ignored = write(wake_fd_, &one, sizeof one);
  (void)ignored;
}

void DbWorker::stop() {
  stopping_ = true;
  wake();
}

void DbWorker::request_reload() {
  reload_ = true;
  wake();
}

void DbWorker::report(RowOutcome o) {
  if (!o.release && o.update.status != RowStatus::sent) not_sent_ = true;
  {
    std::lock_guard lock(mu_);
    if (auto it = in_flight_by_site_.find(o.site); it != in_flight_by_site_.end() && --it->second <= 0)
      in_flight_by_site_.erase(it);
    outcomes_.push_back(std::move(o));
  }
  wake();
}

std::vector<std::string> DbWorker::held_sites() const {
  std::vector<std::string> held;
  if (auto t = registry_.current())
    for (const auto& [code, site] : t->sites)
      if (!site->valid) held.push_back(code);
  return held;
}

ClaimLimits DbWorker::claim_limits(long long budget) {
  ClaimLimits l;
  l.limit = static_cast<int>(std::min<long long>(conf_.batch_size, budget));
  l.lease_seconds = conf_.lease_seconds;
  l.excluded = held_sites();
  l.default_room = std::min(kSiteRoomMin, std::max(1, conf_.max_connections));  // the smallest cap below
  auto table = registry_.current();
  const int share_cap = std::max(1, conf_.max_connections * conf_.site_share / 100);
  std::lock_guard lock(mu_);
  // The sites with mail in flight, and those the last claim took that have sent it all
  // since (a backlog site can drain what it was given between two claims): both count as
  // busy, so sites with nothing claimed go first, and both keep their room.
  std::map<std::string, long long> active(in_flight_by_site_.begin(), in_flight_by_site_.end());
  for (const auto& site : last_claimed_) active.emplace(site, 0);
  // When few sites have mail, each may hold an equal part of the daemon's budget (10 sites:
  // 40 rows each with the defaults), so their connections never wait for the next claim.
  const int fair_part = static_cast<int>(claim_budget() / std::max<std::size_t>(1, active.size()));
  for (const auto& [code, n] : active) {
    if (std::find(l.excluded.begin(), l.excluded.end(), code) != l.excluded.end()) continue;  // held
    int conns = 1;
    if (table)
      if (auto site = table->find(code); site && site->settings)
        conns = static_cast<int>(site->settings->number(Setting::MaxConnections));
    // never more than max_connections (a quarter of the budget), so other sites always have room
    const int cap = std::min(std::max({kSiteRoomMin, kSiteRoomPerConnection * std::min(conns, share_cap), fair_part}),
                             std::max(1, conf_.max_connections));
    if (n >= cap) {
      l.excluded.push_back(code);
    } else {
      l.room_sites.push_back(code);
      l.rooms.push_back(static_cast<int>(cap - n));
      l.busy.push_back(static_cast<int>(n));
    }
  }
  return l;
}

std::vector<ClaimedRow> DbWorker::claim_fair(QueueStore& store, const ClaimLimits& l) {
  // First the sites with nothing in flight (a new site's mail never waits behind another
  // site's backlog), then the rest by fair share. That first pass scans past the mail of
  // every busy site, so it runs at most every kIdleFirstEvery unless it keeps finding mail.
  const auto now = std::chrono::steady_clock::now();
  std::vector<ClaimedRow> rows;
  if (l.room_sites.empty() || (!idle_first_found_ && now - last_idle_first_ < kIdleFirstEvery)) {
    rows = store.claim(l);
  } else {
    rows = claim_idle_first(store, l);
  }
  last_claimed_.clear();
  for (const auto& r : rows) last_claimed_.insert(r.nvtgc);
  return rows;
}

std::vector<ClaimedRow> DbWorker::claim_idle_first(QueueStore& store, const ClaimLimits& l) {
  last_idle_first_ = std::chrono::steady_clock::now();
  ClaimLimits idle_first = l;
  idle_first.excluded.insert(idle_first.excluded.end(), l.room_sites.begin(), l.room_sites.end());
  idle_first.room_sites.clear();
  idle_first.rooms.clear();
  idle_first.busy.clear();
  auto rows = store.claim(idle_first);
  idle_first_found_ = !rows.empty();
  if (static_cast<int>(rows.size()) >= l.limit) return rows;
  ClaimLimits rest = l;
  rest.limit = l.limit - static_cast<int>(rows.size());
  for (const auto& r : rows)
    if (std::find(rest.excluded.begin(), rest.excluded.end(), r.nvtgc) == rest.excluded.end()) rest.excluded.push_back(r.nvtgc);
  auto more = store.claim(rest);
  rows.insert(rows.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  return rows;
}

void DbWorker::recover(QueueStore& store, bool forget) {
  // Our row is gone (a failover to a standby that never saw it): a new session registers anew.
  if (!store.heartbeat()) throw PgError("this instance's sitemail_instance row is gone; registering again");
  for (const auto& [dead, rows] : store.recover_dead(conf_.dead_instance_grace))
    log::warn("recovered",
              {{"instance", std::to_string(dead)}, {"rows", std::to_string(rows)}, {"reason", "its database session ended"}});
  if (forget) store.forget_dead_instances(conf_.dead_instance_grace);
}

void DbWorker::reload(PgConn& db, QueueStore& store) {
  if (on_loading_) on_loading_();
  reload_error_.clear();
  try {
    auto table = load_sites(db, conf_, false);  // values and verdicts; `show --explain` resolves its own
    registry_.replace(table);
    int invalid = 0;
    for (const auto& [code, site] : table->sites) {
      if (site->valid) continue;
      ++invalid;
      const auto* e = site->first_error();
      std::string why = "held: site configuration invalid: " + (e ? e->to_line() : std::string("?"));
      log::warn("config", {{"site", code}, {"status", "invalid"}, {"problem", e ? e->to_line() : ""}});
      store.mark_held(code, why);
    }
    for (const auto& d : table->global) log::error("config", {{"problem", d.to_line()}});
    metrics_.reload_done(true, held_sites());  // hostile-net: /metrics reload time, result, invalid sites
    log::info(
        "config_loaded",
        {{"sites", std::to_string(table->sites.size())}, {"invalid", std::to_string(invalid)}, {"config_dir", conf_.config_dir}});
    if (on_loaded_) on_loaded_(table->sites.size(), invalid, {});
  } catch (const PgError&) {
    throw;
  } catch (const std::exception& e) {
    reload_error_ = e.what();
    log::error("config", {{"problem", e.what()}});
    if (on_loaded_) on_loaded_(0, 0, e.what());
    metrics_.reload_done(false, {});  // hostile-net: /metrics reload result
  }
}

void DbWorker::session() {
  PgConn db(conf_.database_url);
  // LISTEN on the server the queue connection found: NOTIFY reaches only that server's
  // listeners, and the hosts a multi-host conninfo lists before it (one that vanished in a
  // failover) are not tried again.
  PgConn listen(conf_.database_url, pg_same_server(db.raw()));
  listen.exec("LISTEN sitemail_outbox");
  listen.exec("LISTEN sitemail_reload");
  listen.exec("SET application_name = 'sitemaild'");  // admin: `sitemailctl reload` counts the daemons listening
  QueueStore store(db, owner_);
  const int previous = instance_;
  instance_ = store.attach_instance(instance_);
  metrics_.set_db_up(true);
  log::info(
      "database",
      {{"status", "connected"}, {"owner", owner_}, {"instance", std::to_string(instance_)}, {"server", server_description(db)}});
  if (previous > 0 && previous != instance_)
    log::warn("database", {{"status", "registered again"}, {"previous_instance", std::to_string(previous)}});
  // Rows we hold in the database but not in memory (claimed by a commit whose reply was
  // lost, or handed back to us by a failover that lost our outcome) go back to the queue.
  if (int n = store.requeue_orphans({held_ids_.begin(), held_ids_.end()}))
    log::warn("requeued",
              {{"rows", std::to_string(n)},
               {"reason", "ours in the database but not in memory: a lost commit reply, or a failover lost their outcome"}});
  {
    std::lock_guard lock(mu_);
    if (!outcomes_.empty())
      log::info("database",
                {{"status", "recording outcomes kept during the outage"}, {"rows", std::to_string(outcomes_.size())}});
  }
  reload(db, store);
  const auto session_start = std::chrono::steady_clock::now();
  auto last_renew = session_start;
  auto last_depth = std::chrono::steady_clock::time_point{};
  auto last_beat = std::chrono::steady_clock::time_point{};
  auto last_forget = std::chrono::steady_clock::time_point{};
  const long long cap = claim_budget();
  bool more = true;
  while (true) {
    // Let outcomes accumulate for a few milliseconds while much is in flight: one
    // commit per batch instead of one per message (adds <= 5 ms to delivery records).
    {
      std::size_t waiting;
      {
        std::lock_guard lock(mu_);
        waiting = outcomes_.size();
      }
      if (!stopping_ && waiting > 0 && waiting < static_cast<std::size_t>(conf_.batch_size) &&
          in_flight_ > static_cast<long long>(waiting))
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (reload_.exchange(false)) {
      reload(db, store);
      acknowledge_reloads(db, std::exchange(reload_requests_, {}), owner_, registry_.current().get(), reload_error_);
    }
    housekeeping_.tick(store, registry_.current().get());  // admin: held marks, retention purge
    auto now = std::chrono::steady_clock::now();
    if (notified_ && now - last_notified_claim_ >= kNotifyEvery) {
      notified_ = false;
      last_notified_claim_ = now;
      more = true;
      idle_first_found_ = true;  // new mail may be a new site's: look for sites with nothing claimed now
    }
    if (now - last_renew > std::chrono::seconds(std::max(1, conf_.lease_seconds / 3)) || last_renew == session_start) {
      store.renew(conf_.lease_seconds);
      if (int n = store.requeue_expired()) log::warn("lease_expired", {{"rows", std::to_string(n)}});
      last_renew = now;
      more = true;
    }
    if (now - last_beat >= std::chrono::seconds(1)) {  // heartbeat; take over dead instances' mail
      const bool forget = now - last_forget > std::chrono::seconds(60);
      recover(store, forget);
      if (forget) last_forget = now;
      last_beat = now;
      more = true;
    }
    if (now - last_depth > std::chrono::seconds(conf_.poll_interval)) {
      metrics_.set_depth(store.depth());
      {  // hostile-net: per-site depth and oldest age for /metrics
        std::map<std::string, SiteQueue> q;
        for (const auto& [site, v] : store.site_queue()) q[site] = SiteQueue{v.first, v.second};
        metrics_.set_site_queue(std::move(q));
      }
      last_depth = now;
    }
    // Outcomes are written and the next rows claimed in ONE transaction: one commit (one
    // fsync on a durable PostgreSQL) per cycle instead of two.
    std::vector<RowOutcome> batch;
    {
      std::lock_guard lock(mu_);
      batch.swap(outcomes_);
    }
    const long long settled = static_cast<long long>(batch.size());
    const bool claim_now = !stopping_ && (more || settled > 0) && in_flight_ - settled < cap &&
                           registry_.current() != nullptr;  // no claims before a configuration loaded
    bool claimed_full = false;
    std::vector<ClaimedRow> rows;
    ClaimLimits limits;
    if (settled > 0 || claim_now) {
      try {
        std::optional<PgTransaction> tx;
        if (settled > 0 && claim_now) tx.emplace(db);
        auto t0 = std::chrono::steady_clock::now();
        if (settled > 0) {
          int fenced = store.record(batch);
          if (fenced) log::warn("lease_lost", {{"rows", std::to_string(fenced)}});
        }
        auto t1 = std::chrono::steady_clock::now();
        if (claim_now) {
          limits = claim_limits(cap - (in_flight_ - settled));
          rows = claim_fair(store, limits);
        }
        if (tx) tx->commit();
        for (const auto& o : batch) held_ids_.erase(o.id);  // recorded (or fenced): no longer ours
        log::debug(
            "cycle",
            {{"recorded", std::to_string(settled)},
             {"claimed", std::to_string(rows.size())},
             {"in_flight", std::to_string(in_flight_.load())},
             {"record_ms", std::to_string(std::chrono::duration<double, std::milli>(t1 - t0).count())},
             {"ms", std::to_string(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count())}});
      } catch (...) {
        std::lock_guard lock(mu_);  // nothing was written: keep them for the next connection
        outcomes_.insert(outcomes_.begin(), batch.begin(), batch.end());
        throw;
      }
      in_flight_ -= settled;
      // A claim that got less than it asked for took everything claimable: the next one waits
      // for outcomes (room), new mail or the poll timer. (Claiming again at once found nothing
      // and cost a scan of the queue: every other cycle of a drain was such an empty claim.)
      if (claim_now) more = rows.size() >= static_cast<std::size_t>(limits.limit);
      else if (settled > 0) more = true;
    }
    if (stopping_) {
      if (in_flight_ <= 0 || finished_) break;
    }
    if (claim_now) {
      if (!rows.empty()) {
        in_flight_ += static_cast<long long>(rows.size());
        {
          std::lock_guard lock(mu_);
          for (const auto& r : rows) ++in_flight_by_site_[r.nvtgc];
        }
        auto table = registry_.current();
        std::vector<Job> jobs;
        jobs.reserve(rows.size());
        for (auto& r : rows) {
          held_ids_.insert(r.id);
          auto site = table->find_or_resolve(r.nvtgc);
          jobs.push_back(Job{std::move(r), std::move(site)});
        }
        claimed_full = jobs.size() == static_cast<std::size_t>(limits.limit);
        dispatch_(std::move(jobs));
      } else {
        more = false;
        if (once_ && in_flight_ <= 0) {
          bool left = store.due_left(held_sites());
          if (left) not_sent_ = true;
          finished_ = true;
          break;
        }
      }
    }
    // Sleep until a notification, an outcome/wake, or the poll interval.
    pollfd fds[2] = {{PQsocket(listen.raw()), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int timeout_ms = claimed_full ? 0 : std::min(conf_.poll_interval * 1000, 1000);  // heartbeat at least every second
    if (notified_) {  // a notification waits for its turn (kNotifyEvery), then claims
      const auto due = last_notified_claim_ + kNotifyEvery - std::chrono::steady_clock::now();
      timeout_ms = std::clamp(static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(due).count()), 0, timeout_ms);
    }
    if (poll(fds, 2, timeout_ms) < 0 && errno != EINTR) break;
    if (fds[1].revents & POLLIN) {
      std::uint64_t v;
      ssize_t ignored = read(wake_fd_, &v, sizeof v);
      (void)ignored;
    }
    if (!PQconsumeInput(listen.raw())) throw PgError(std::string("listen connection lost: ") + PQerrorMessage(listen.raw()));
    while (PGnotify* n = PQnotifies(listen.raw())) {
      if (std::string(n->relname) == "sitemail_reload") {
        reload_ = true;
        log::info("reload", {{"reason", "notify"}, {"request", n->extra ? n->extra : ""}});
        if (n->extra && *n->extra) reload_requests_.emplace_back(n->extra);
      } else {
        notified_ = true;
      }
      PQfreemem(n);
    }
    if (timeout_ms > 0 && !(fds[0].revents & POLLIN) && !(fds[1].revents & POLLIN)) more = true;  // the poll timer
  }
  if (stopping_) {
    int released = store.release_all();
    if (released) log::info("released", {{"rows", std::to_string(released)}});
  }
}

std::string DbWorker::server_description(PgConn& db) {
  const char* host = PQhost(db.raw());
  const char* port = PQport(db.raw());
  return std::string(host ? host : "?") + ":" + (port ? port : "?");
}

void DbWorker::run() {
  int backoff = 1;
  while (!finished_) {
    try {
      session();
      break;
    } catch (const PgError& e) {
      metrics_.set_db_up(false);
      log::error("database", {{"status", "down"}, {"problem", e.what()}, {"retry_in", std::to_string(backoff) + "s"}});
      for (int i = 0; i < backoff * 10 && !(stopping_ && in_flight_ <= 0); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (stopping_ && in_flight_ <= 0 && outcomes_.empty()) break;
      // at most 2 s: after a PostgreSQL restart every live instance must be back (and hold its
      // instance lock again) well within the restart grace of queue_store.cpp
      backoff = std::min(backoff * 2, 2);
    }
  }
  metrics_.set_db_up(false);
}

}  // namespace sitemail
