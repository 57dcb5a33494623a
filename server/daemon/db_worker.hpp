// db_worker.hpp — the database thread of sitemaild: LISTEN for new mail and reload
// requests, poll every [delivery] poll_interval, claim due rows for the io thread, write
// outcomes back in batches, renew leases, reload configuration, and reconnect with
// backoff when PostgreSQL goes away (outcomes wait in memory; nothing is lost).
#pragma once
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "delivery.hpp"
#include "housekeeping.hpp"

namespace sitemail {

class DbWorker {
 public:
  DbWorker(const DaemonConf& conf, SiteRegistry& registry, Metrics& metrics, std::string owner,
           std::function<void(std::vector<Job>)> dispatch, bool once);
  ~DbWorker();

  void run();   // the thread body; returns after stop() (or --once drained)
  void stop();  // stop claiming; write outstanding outcomes; release leases
  void request_reload();
  void abandon() {
    finished_ = true;
    wake();
  }                           // grace period over: release what is left
  void report(RowOutcome o);  // from the io thread
  void wake();
  [[nodiscard]] bool any_not_sent() const { return not_sent_; }
  // Called on the database thread before and after every configuration load (the first one
  // after connecting, SIGHUP, NOTIFY); `error` is empty when it loaded. sitemaild feeds
  // these to systemd (server/daemon/service_notify.*). Set before run().
  void set_config_hooks(std::function<void()> loading,
                        std::function<void(std::size_t sites, int invalid, const std::string& error)> loaded) {
    on_loading_ = std::move(loading);
    on_loaded_ = std::move(loaded);
  }

 private:
  void session();  // one connected period; throws PgError when the DB goes away
  void reload(PgConn& db, QueueStore& store);
  std::vector<std::string> held_sites() const;
  ClaimLimits claim_limits(long long budget);
  std::vector<ClaimedRow> claim_fair(QueueStore& store, const ClaimLimits& l);
  std::vector<ClaimedRow> claim_idle_first(QueueStore& store, const ClaimLimits& l);
  void recover(QueueStore& store, bool forget);
  static std::string server_description(PgConn& db);

  const DaemonConf& conf_;
  SiteRegistry& registry_;
  Metrics& metrics_;
  std::string owner_;
  std::function<void(std::vector<Job>)> dispatch_;
  std::function<void()> on_loading_;
  std::function<void(std::size_t, int, const std::string&)> on_loaded_;
  bool once_;
  int wake_fd_ = -1;
  std::atomic<bool> stopping_{false}, reload_{false}, finished_{false};
  std::atomic<bool> not_sent_{false};
  std::mutex mu_;
  std::vector<RowOutcome> outcomes_;  // waiting to be written
  std::atomic<long long> in_flight_{0};
  std::map<std::string, int> in_flight_by_site_;  // under mu_: a slow site may not fill the pipeline
  int instance_ = 0;                              // sitemail_instance.id, kept across reconnects
  // Rows claimed and dispatched whose outcome is not recorded yet (db thread only): after a
  // reconnect, every other `sending` row of ours is an orphan (store.requeue_orphans).
  std::set<long long> held_ids_;
  std::chrono::steady_clock::time_point last_idle_first_{};
  bool idle_first_found_ = true;
  std::set<std::string> last_claimed_;  // sites the last claim took rows of
  static constexpr std::chrono::milliseconds kIdleFirstEvery{200};
  // New-mail notifications lead to a claim at most every kNotifyEvery: a stream of small
  // inserts (the submission door commits hundreds a second) would otherwise cost a scan of
  // the queue each, two with the idle-first pass, and slow the drain they share the CPU with.
  static constexpr std::chrono::milliseconds kNotifyEvery{50};
  bool notified_ = false;  // new mail announced, its claim not made yet
  std::chrono::steady_clock::time_point last_notified_claim_{};
  // Claim only what can start soon: four rows per connection slot, so every connection has
  // its next messages at hand while the database thread records and claims (two per slot
  // left connections waiting for the next claim), and a crash strands little.
  [[nodiscard]] long long claim_budget() const { return 4LL * conf_.max_connections; }
  // A site holds at most this many claimed-but-unsettled messages per connection it may
  // open (and at least kSiteRoomMin, or an equal part of the budget among the sites with
  // mail in flight, and at most max_connections), so one slow or dead relay never holds up
  // the others and a crash strands little.
  static constexpr int kSiteRoomPerConnection = 4;
  static constexpr int kSiteRoomMin = 16;
  // admin (issue 11): held marks for new mail, retention purge, reload acknowledgements
  Housekeeping housekeeping_{conf_};
  std::vector<std::string> reload_requests_;  // NOTIFY payloads of `sitemailctl reload` (db thread only)
  std::string reload_error_;                  // why the last reload failed, empty when it worked
};

}  // namespace sitemail
