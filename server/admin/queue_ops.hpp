// queue_ops.hpp — the outbox from the admin's side, shared by `sitemailctl queue ...` and
// the web console (CONTRACT §1, §10): listing with the status filter (`held` = queued but
// held because the site's configuration is invalid), one message in detail, retry and
// cancel with their rules (only rows that are not being sent right now).
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pg.hpp"

namespace sitemail::admin {

// "" or one of these; anything else is not a status filter.
[[nodiscard]] bool valid_status_filter(const std::string& status);

struct QueueRow {
  std::string id, site, status, attempts, next_attempt_utc, to, subject, last_error, smtp_reply;
  bool held = false;
};
struct QueueCounts {
  std::string site, status;
  long long count = 0, held = 0;
};
struct QueueListing {
  std::vector<QueueRow> rows;       // newest first, at most `limit`
  std::vector<QueueCounts> counts;  // everything that matched, per site and status
};
// `site` "" = every site; `status` "" = every status (checked with valid_status_filter).
[[nodiscard]] QueueListing list_queue(PgConn& db, const std::string& site, const std::string& status, const std::string& limit);

// "2 messages: 2 queued (1 held), 1 sent" — counts per status in the order mail moves.
[[nodiscard]] std::string count_line(const std::map<std::string, long long>& by_status, long long held);

// Per site: queued / held / failed counts and the last finished delivery (sent or failed).
struct SiteHealth {
  long long queued = 0, held = 0, failed = 0;
  std::string last_status, last_time_utc, last_error;  // empty: nothing delivered yet
};
[[nodiscard]] std::map<std::string, SiteHealth> site_health(PgConn& db);

// The site a message belongs to, or nothing when there is no such message.
[[nodiscard]] std::optional<std::string> message_site(PgConn& db, const std::string& id);

// One message as `queue show` prints it (text and JSON), or nothing when it does not exist.
struct QueueMessage {
  std::string site, status, text, json;
};
[[nodiscard]] std::optional<QueueMessage> show_message(PgConn& db, const std::string& id);

// True when the row was requeued (it was queued, failed or cancelled).
bool retry_message(PgConn& db, const std::string& id);
// True when the row was cancelled (it was queued or failed).
bool cancel_message(PgConn& db, const std::string& id);
// Requeues every failed message (of `site`, "" = all); returns how many, as libpq says it.
std::string retry_failed(PgConn& db, const std::string& site);

}  // namespace sitemail::admin
