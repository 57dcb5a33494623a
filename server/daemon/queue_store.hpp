// queue_store.hpp — the outbox as a durable queue (libpq): claim due rows in batches with a
// lease (FOR UPDATE SKIP LOCKED), write outcomes back in one transaction fenced by lease
// owner and attempt number, renew and release leases, mark held sites, count depth.
// No SMTP work ever happens inside these transactions.
#pragma once
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "message.hpp"
#include "pg.hpp"
#include "retry_policy.hpp"

namespace sitemail {

struct ClaimedRow {
  long long id = 0;
  std::string nvtgc, to, cc, bcc, from_addr, from_name, reply_to, subject, body_text, body_html, headers;
  int attempts = 0;        // this attempt's number (incremented by the claim)
  std::string done_rcpts;  // recipients already accepted on an earlier attempt
  double age_seconds = 0;  // now - created_at at claim time
  // CONTRACT §8: attachments (small contents loaded with the row, large ones read while
  // sending) and the raw message (whole when small, else its first octets).
  std::vector<smtp::Attachment> attachments;
  std::string attachment_error;  // an attachment row that cannot be sent (NULL content)
  bool has_raw = false;
  std::string raw_head;
  std::uint64_t raw_size = 0;
};

// What a claim loads with each row; anything larger is read in slices while it is sent.
inline constexpr long long kInlineRawBytes = 131072;           // a raw message up to this is loaded whole
inline constexpr long long kRawHeadBytes = 65536;              // else its first octets (the header block)
inline constexpr long long kInlineAttachmentBytes = 65536;     // an attachment up to this is loaded
inline constexpr long long kInlineAttachmentsPerRow = 131072;  // ... while a row's loaded ones stay within this

struct RowOutcome {
  long long id = 0;
  int attempts = 0;
  std::string site;
  RowUpdate update;
  std::string smtp_reply, message_id, done_rcpts;
  bool release = false;  // shutdown: give the row back untouched (attempt refunded)
};

// How much one claim may take: at most `limit` rows; none of `excluded` sites (held, or
// already at their in-flight cap); of each site in `room_sites` at most its `rooms` entry,
// of any other site at most `default_room`. Rows go to the site with the fewest in flight
// (`busy`) first, each site's oldest first, so one site's backlog never delays the others.
struct ClaimLimits {
  int limit = 50;
  int lease_seconds = 300;
  std::vector<std::string> excluded;
  std::vector<std::string> room_sites;
  std::vector<int> rooms;
  std::vector<int> busy;  // in flight now, per room_sites entry
  int default_room = 8;
};

// The advisory-lock class of instance locks (the other key is sitemail_instance.id).
inline constexpr long long kInstanceLockClass = 1397312844;

class QueueStore {
 public:
  QueueStore(PgConn& db, std::string owner, int instance = 0) : db_(db), owner_(std::move(owner)), instance_(instance) {}
  [[nodiscard]] std::vector<ClaimedRow> claim(const ClaimLimits& l);
  // The attachments of claimed rows (CONTRACT §8), in id order.
  void load_attachments(std::vector<ClaimedRow>& rows);
  // Registers this process (once) and takes its instance lock on this connection; returns
  // the id, or registers anew when `previous` is still locked by an older session of ours.
  int attach_instance(int previous);
  // Beats the heartbeat and clears unlocked_since; false when our row no longer exists.
  bool heartbeat();
  // Rows claimed by instances whose session is gone go back to the queue; returns how
  // many, per dead instance id. Dead (CONTRACT §2, §11): its instance lock is not held,
  // its heartbeat is older than grace, and either this session saw it holding its lock
  // (so its session ended while this server ran on), or it has been seen unlocked for
  // kReconnectGraceSeconds (sitemail_instance.unlocked_since, sql/012_failover.sql): after
  // a PostgreSQL restart or failover, a live instance reconnecting keeps its rows.
  [[nodiscard]] std::map<int, int> recover_dead(int grace_seconds);
  // After a reconnect: rows this owner holds in `sending` that are not in `held` (claimed by
  // a commit whose reply never came, or given back to us by a failover that lost our
  // outcome) go back to the queue, attempt refunded; returns how many.
  int requeue_orphans(const std::vector<long long>& held);
  void forget_dead_instances(int grace_seconds);
  // Returns how many updates were fenced out (the lease was lost to another instance).
  int record(const std::vector<RowOutcome>& outcomes);
  void renew(int lease_seconds);
  int requeue_expired();  // leases of dead instances return to the queue
  int release_all();      // rows this instance still holds go back to the queue
  void mark_held(const std::string& site, const std::string& why);
  // Queued rows with an id above `after_id` of the given (site, why) pairs get `why` as
  // last_error (mail queued for an invalid site shows as held at once). Returns the
  // highest id looked at, for the next call.
  [[nodiscard]] long long mark_held_new(const std::vector<std::pair<std::string, std::string>>& held, long long after_id);
  // Deletes at most `limit` rows in one of `statuses` queued more than `older_than_seconds`
  // ago; returns how many. (Daemon retention and `sitemailctl queue purge`.)
  int purge(long long older_than_seconds, const std::vector<std::string>& statuses, int limit);
  [[nodiscard]] std::map<std::string, long long> depth();
  // hostile-net (/metrics): per site, queued rows and the age of the oldest one.
  [[nodiscard]] std::map<std::string, std::pair<long long, double>> site_queue();
  [[nodiscard]] bool due_left(const std::vector<std::string>& held_sites);
  [[nodiscard]] const std::string& owner() const { return owner_; }

 private:
  PgConn& db_;
  std::string owner_;
  int instance_ = 0;
  std::set<int> seen_locked_;  // instances seen holding their lock during this session
 public:
  // After a PostgreSQL start or a failover, live instances get this long, from the first
  // look that found them unlocked, to reconnect and lock again (they retry every 2 s).
  static constexpr int kReconnectGraceSeconds = 8;
  // An instance is marked unlocked only once its heartbeat is this late.
  static constexpr double kMarkAfterSeconds = 2.0;
};

[[nodiscard]] std::string pg_text_array(const std::vector<std::string>& v);

}  // namespace sitemail
