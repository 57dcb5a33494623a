// housekeeping.hpp — what sitemaild's database thread does besides claiming and recording:
// mark new mail of invalid sites as held as soon as it is queued (not only at reload),
// delete finished mail past [queue] retention_days in small batches, and acknowledge
// `sitemailctl reload` requests in the reload_ack table (sql/007_reload_acks.sql).
#pragma once
#include <chrono>
#include <string>
#include <vector>

#include "queue_store.hpp"
#include "site_table.hpp"

namespace sitemail {

// The last_error of queued mail held because its site's configuration is invalid.
[[nodiscard]] std::string held_reason(const ResolvedSite& site);

class Housekeeping {
 public:
  explicit Housekeeping(const DaemonConf& conf) : conf_(conf) {}
  // Called on every turn of the database loop; does its work at most once a second.
  void tick(QueueStore& store, const SiteTable* table);

  static constexpr int kPurgeBatch = 500;

 private:
  const DaemonConf& conf_;
  std::chrono::steady_clock::time_point last_{}, next_purge_{};
  long long held_upto_ = 0;  // rows up to this id have been looked at for held marks
};

// One reload_ack row per request id (the NOTIFY payload of `sitemailctl reload`):
// result ok with the site counts of `table`, or failed with `error`. Never throws for a
// missing table (an old schema): the reload itself has happened; that is logged.
void acknowledge_reloads(PgConn& db, const std::vector<std::string>& request_ids, const std::string& instance,
                         const SiteTable* table, const std::string& error);

}  // namespace sitemail
