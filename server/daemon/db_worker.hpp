// db_worker.hpp — the database thread of sitemaild: LISTEN for new mail and reload
// requests, poll every [delivery] poll_interval, claim due rows for the io thread, write
// outcomes back in batches, renew leases, reload configuration, and reconnect with
// backoff when PostgreSQL goes away (outcomes wait in memory; nothing is lost).
#pragma once
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <vector>

#include "delivery.hpp"
#include "housekeeping.hpp"

namespace sitemail {

class DbWorker {
 public:
  DbWorker(const DaemonConf& conf, SiteRegistry& registry, Metrics& metrics, std::string owner,
           std::function<void(std::vector<Job>)> dispatch, bool once);
  ~DbWorker();

  void run();                      // the thread body; returns after stop() (or --once drained)
  void stop();                     // stop claiming; write outstanding outcomes; release leases
  void request_reload();
  void abandon() { finished_ = true; wake(); }  // grace period over: release what is left
  void report(RowOutcome o);       // from the io thread
  void wake();
  [[nodiscard]] bool any_not_sent() const { return not_sent_; }

 private:
  void session();                  // one connected period; throws PgError when the DB goes away
  void reload(PgConn& db, QueueStore& store);
  std::vector<std::string> held_sites() const;
  std::vector<std::string> saturated_sites();

  const DaemonConf& conf_;
  SiteRegistry& registry_;
  Metrics& metrics_;
  std::string owner_;
  std::function<void(std::vector<Job>)> dispatch_;
  bool once_;
  int wake_fd_ = -1;
  std::atomic<bool> stopping_{false}, reload_{false}, finished_{false};
  std::atomic<bool> not_sent_{false};
  std::mutex mu_;
  std::vector<RowOutcome> outcomes_;  // waiting to be written
  std::atomic<long long> in_flight_{0};
  std::map<std::string, int> in_flight_by_site_;  // under mu_: a slow site may not fill the pipeline
  // A site with this many messages claimed and not yet settled gets no more until some settle,
  // so one slow or dead relay never holds up the other sites' mail.
  static constexpr int kSiteInFlightCap = 64;
  // admin (issue 11): held marks for new mail, retention purge, reload acknowledgements
  Housekeeping housekeeping_{conf_};
  std::vector<std::string> reload_requests_;  // NOTIFY payloads of `sitemailctl reload` (db thread only)
  std::string reload_error_;                  // why the last reload failed, empty when it worked
};

}  // namespace sitemail
