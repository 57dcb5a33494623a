// db_worker.cpp — see db_worker.hpp.
#include "db_worker.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

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

std::vector<std::string> DbWorker::saturated_sites() {
  std::vector<std::string> out;
  std::lock_guard lock(mu_);
  for (const auto& [code, n] : in_flight_by_site_)
    if (n >= kSiteInFlightCap) out.push_back(code);
  return out;
}

void DbWorker::reload(PgConn& db, QueueStore& store) {
  try {
    auto table = load_sites(db, conf_);
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
    log::info("config_loaded", {{"sites", std::to_string(table->sites.size())}, {"invalid", std::to_string(invalid)},
                                {"config_dir", conf_.config_dir}});
  } catch (const PgError&) {
    throw;
  } catch (const std::exception& e) {
    log::error("config", {{"problem", e.what()}});
    metrics_.reload_done(false, {});  // hostile-net: /metrics reload result
  }
}

void DbWorker::session() {
  PgConn db(conf_.database_url);
  PgConn listen(conf_.database_url);
  listen.exec("LISTEN sitemail_outbox");
  listen.exec("LISTEN sitemail_reload");
  QueueStore store(db, owner_);
  metrics_.set_db_up(true);
  log::info("database", {{"status", "connected"}, {"owner", owner_}});
  reload(db, store);
  const auto session_start = std::chrono::steady_clock::now();
  auto last_renew = session_start;
  auto last_depth = std::chrono::steady_clock::time_point{};
  const long long cap = std::max(conf_.batch_size * 4, conf_.max_connections * 4);
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
    std::vector<RowOutcome> batch;
    {
      std::lock_guard lock(mu_);
      batch.swap(outcomes_);
    }
    if (!batch.empty()) {
      try {
        auto t0 = std::chrono::steady_clock::now();
        int fenced = store.record(batch);
        log::debug("recorded", {{"rows", std::to_string(batch.size())},
                                {"ms", std::to_string(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count())}});
        if (fenced) log::warn("lease_lost", {{"rows", std::to_string(fenced)}});
      } catch (...) {
        std::lock_guard lock(mu_);  // keep them for the next connection
        outcomes_.insert(outcomes_.begin(), batch.begin(), batch.end());
        throw;
      }
      in_flight_ -= static_cast<long long>(batch.size());
      more = true;
    }
    if (stopping_) {
      if (in_flight_ <= 0 || finished_) break;
    }
    if (reload_.exchange(false)) reload(db, store);
    auto now = std::chrono::steady_clock::now();
    if (now - last_renew > std::chrono::seconds(std::max(1, conf_.lease_seconds / 3)) || last_renew == session_start) {
      store.renew(conf_.lease_seconds);
      if (int n = store.requeue_expired()) log::warn("lease_expired", {{"rows", std::to_string(n)}});
      last_renew = now;
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
    bool claimed_full = false;
    if (!stopping_ && more && in_flight_ < cap && registry_.current()) {  // no claims before a configuration loaded
      auto held = held_sites();
      auto excluded = held;
      for (auto& s : saturated_sites()) excluded.push_back(std::move(s));
      auto t0 = std::chrono::steady_clock::now();
      auto rows = store.claim(static_cast<int>(std::min<long long>(conf_.batch_size, cap - in_flight_)), conf_.lease_seconds, excluded);
      log::debug("claimed", {{"rows", std::to_string(rows.size())}, {"in_flight", std::to_string(in_flight_.load())},
                             {"ms", std::to_string(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count())}});
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
          auto site = table->find_or_resolve(r.nvtgc);
          jobs.push_back(Job{std::move(r), std::move(site)});
        }
        claimed_full = jobs.size() == static_cast<std::size_t>(conf_.batch_size);
        dispatch_(std::move(jobs));
      } else {
        more = false;
        if (once_ && in_flight_ <= 0) {
          bool left = store.due_left(held);
          if (left) not_sent_ = true;
          finished_ = true;
          break;
        }
      }
    }
    // Sleep until a notification, an outcome/wake, or the poll interval.
    pollfd fds[2] = {{PQsocket(listen.raw()), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int timeout_ms = claimed_full ? 0 : conf_.poll_interval * 1000;
    if (poll(fds, 2, timeout_ms) < 0 && errno != EINTR) break;
    if (fds[1].revents & POLLIN) {
      std::uint64_t v;
      ssize_t ignored = read(wake_fd_, &v, sizeof v);
      (void)ignored;
    }
    if (!PQconsumeInput(listen.raw())) throw PgError(std::string("listen connection lost: ") + PQerrorMessage(listen.raw()));
    while (PGnotify* n = PQnotifies(listen.raw())) {
      if (std::string(n->relname) == "sitemail_reload") reload_ = true;
      else more = true;
      PQfreemem(n);
    }
    if (timeout_ms > 0 && !(fds[0].revents & POLLIN) && !(fds[1].revents & POLLIN)) more = true;  // the poll timer
  }
  if (stopping_) {
    int released = store.release_all();
    if (released) log::info("released", {{"rows", std::to_string(released)}});
  }
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
      for (int i = 0; i < backoff * 10 && !(stopping_ && in_flight_ <= 0); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (stopping_ && in_flight_ <= 0 && outcomes_.empty()) break;
      backoff = std::min(backoff * 2, 30);
    }
  }
  metrics_.set_db_up(false);
}

}  // namespace sitemail
