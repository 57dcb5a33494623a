// queue_store.hpp — the outbox as a durable queue (libpq): claim due rows in batches with a
// lease (FOR UPDATE SKIP LOCKED), write outcomes back in one transaction fenced by lease
// owner and attempt number, renew and release leases, mark held sites, count depth.
// No SMTP work ever happens inside these transactions.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "pg.hpp"
#include "retry_policy.hpp"

namespace sitemail {

struct ClaimedRow {
  long long id = 0;
  std::string nvtgc, to, cc, bcc, from_addr, from_name, reply_to, subject, body_text, body_html, headers;
  int attempts = 0;          // this attempt's number (incremented by the claim)
  std::string done_rcpts;    // recipients already accepted on an earlier attempt
  double age_seconds = 0;    // now - created_at at claim time
};

struct RowOutcome {
  long long id = 0;
  int attempts = 0;
  std::string site;
  RowUpdate update;
  std::string smtp_reply, message_id, done_rcpts;
  bool release = false;      // shutdown: give the row back untouched (attempt refunded)
};

class QueueStore {
 public:
  QueueStore(PgConn& db, std::string owner) : db_(db), owner_(std::move(owner)) {}
  [[nodiscard]] std::vector<ClaimedRow> claim(int limit, int lease_seconds, const std::vector<std::string>& held_sites);
  // Returns how many updates were fenced out (the lease was lost to another instance).
  int record(const std::vector<RowOutcome>& outcomes);
  void renew(int lease_seconds);
  int requeue_expired();  // leases of dead instances return to the queue
  int release_all();  // rows this instance still holds go back to the queue
  void mark_held(const std::string& site, const std::string& why);
  [[nodiscard]] std::map<std::string, long long> depth();
  // hostile-net (/metrics): per site, queued rows and the age of the oldest one.
  [[nodiscard]] std::map<std::string, std::pair<long long, double>> site_queue();
  [[nodiscard]] bool due_left(const std::vector<std::string>& held_sites);
  [[nodiscard]] const std::string& owner() const { return owner_; }

 private:
  PgConn& db_;
  std::string owner_;
};

[[nodiscard]] std::string pg_text_array(const std::vector<std::string>& v);

}  // namespace sitemail
