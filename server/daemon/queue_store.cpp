// queue_store.cpp — see queue_store.hpp.
#include "queue_store.hpp"

#include <algorithm>

namespace sitemail {

std::string pg_text_array(const std::vector<std::string>& v) {
  std::string out = "{";
  for (std::size_t i = 0; i < v.size(); ++i) {
    out += i ? ",\"" : "\"";
    for (char c : v[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::vector<ClaimedRow> QueueStore::claim(const ClaimLimits& l) {
  std::vector<std::string> rooms, busy;
  for (int r : l.rooms) rooms.push_back(std::to_string(r));
  for (int b : l.busy) busy.push_back(std::to_string(b));
  // The oldest due rows show which sites have mail (a window read without locks); those
  // sites are taken in fair order (nothing in flight first, then the fewest in flight,
  // then the oldest mail), and of each chosen site up to its room of its oldest rows,
  // locked with SKIP LOCKED (a row another instance is claiming is passed over). Taking a
  // few rows per site rather than one row of many sites lets a connection carry several
  // messages.
  auto r = db_.exec(
      "WITH cand AS ("
      "  SELECT id, nvtgc FROM outbox"
      // `id > 0` names outbox_queued_due_idx's predicate (sql/008_claim_index.sql)
      "  WHERE status = 'queued' AND id > 0 AND next_attempt_at <= now() AND NOT (nvtgc = ANY($3::text[]))"
      "  ORDER BY next_attempt_at, id LIMIT $5),"
      " sites AS ("
      "  SELECT c.nvtgc, min(c.id) AS first_id, coalesce(min(x.room), $8::int) AS room, coalesce(min(x.busy), 0) AS busy"
      "  FROM cand c LEFT JOIN unnest($6::text[], $7::int[], $10::int[]) AS x(site, room, busy) ON x.site = c.nvtgc"
      "  GROUP BY c.nvtgc),"
      " due AS ("
      "  SELECT r.id FROM (SELECT * FROM sites ORDER BY busy, first_id) s"
      "  CROSS JOIN LATERAL (SELECT o.id FROM outbox o"
      "    WHERE o.nvtgc = s.nvtgc AND o.status = 'queued' AND o.next_attempt_at <= now()"
      "    ORDER BY o.next_attempt_at, o.id LIMIT s.room FOR NO KEY UPDATE SKIP LOCKED) r"
      "  LIMIT $4) "
      "UPDATE outbox o SET status = 'sending', lease_owner = $1, lease_instance = nullif($9::int, 0),"
      "  lease_until = now() + make_interval(secs => $2::int), attempts = o.attempts + 1 "
      "FROM due WHERE o.id = due.id "
      "RETURNING o.id, o.nvtgc, coalesce(o.to_addrs,''), coalesce(o.cc_addrs,''), coalesce(o.bcc_addrs,''),"
      "  coalesce(o.from_addr,''), coalesce(o.from_name,''), coalesce(o.reply_to,''), coalesce(o.subject,''),"
      "  coalesce(o.body_text,''), coalesce(o.body_html,''), coalesce(o.headers,''), o.attempts, coalesce(o.done_rcpts,''),"
      "  extract(epoch from now() - o.created_at), o.raw_message IS NOT NULL, coalesce(octet_length(o.raw_message), 0),"
      "  CASE WHEN o.raw_message IS NULL THEN NULL WHEN octet_length(o.raw_message) <= $11::int THEN o.raw_message"
      "       ELSE substring(o.raw_message FROM 1 FOR $12::int) END,"
      // an index probe per row spares the batch the attachments query when none has any (1 KiB drain)
      "  EXISTS (SELECT 1 FROM outbox_attachment a WHERE a.outbox_id = o.id)",
      {owner_, std::to_string(l.lease_seconds), pg_text_array(l.excluded), std::to_string(l.limit),
       std::to_string(std::max(l.limit * 2, 200)), pg_text_array(l.room_sites), pg_text_array(rooms),
       std::to_string(l.default_room), std::to_string(instance_), pg_text_array(busy), std::to_string(kInlineRawBytes),
       std::to_string(kRawHeadBytes)});
  std::vector<ClaimedRow> rows;
  bool any_attachments = false;
  rows.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    ClaimedRow c;
    c.id = r.get_int(i, 0);
    c.nvtgc = r.get(i, 1);
    c.to = r.get(i, 2);
    c.cc = r.get(i, 3);
    c.bcc = r.get(i, 4);
    c.from_addr = r.get(i, 5);
    c.from_name = r.get(i, 6);
    c.reply_to = r.get(i, 7);
    c.subject = r.get(i, 8);
    c.body_text = r.get(i, 9);
    c.body_html = r.get(i, 10);
    c.headers = r.get(i, 11);
    c.attempts = static_cast<int>(r.get_int(i, 12));
    c.done_rcpts = r.get(i, 13);
    c.age_seconds = std::stod(r.get(i, 14));
    c.has_raw = r.get(i, 15) == "t";
    c.raw_size = static_cast<std::uint64_t>(r.get_int(i, 16));
    if (c.has_raw) c.raw_head = bytea_from_text(r.get(i, 17));
    if (r.get(i, 18) == "t") any_attachments = true;
    rows.push_back(std::move(c));
  }
  if (any_attachments) load_attachments(rows);
  return rows;
}

void QueueStore::load_attachments(std::vector<ClaimedRow>& rows) {
  if (rows.empty()) return;
  std::vector<std::string> ids;
  std::map<long long, ClaimedRow*> by_id;
  for (auto& row : rows) {
    ids.push_back(std::to_string(row.id));
    by_id[row.id] = &row;
  }
  // Small contents come with the row while the row's loaded ones stay within a bound;
  // the others are read in slices while they are sent.
  auto r =
      db_.exec("SELECT outbox_id, id, coalesce(filename, ''), coalesce(content_type, ''), coalesce(disposition, ''),"
               "  coalesce(content_id, ''), octet_length(content),"
               "  CASE WHEN octet_length(content) <= $2::int AND sum(octet_length(content)) OVER w <= $3::int THEN content END "
               "FROM outbox_attachment WHERE outbox_id = ANY($1::bigint[]) "
               "WINDOW w AS (PARTITION BY outbox_id ORDER BY id) ORDER BY outbox_id, id",
               {pg_text_array(ids), std::to_string(kInlineAttachmentBytes), std::to_string(kInlineAttachmentsPerRow)});
  for (int i = 0; i < r.rows(); ++i) {
    ClaimedRow& row = *by_id.at(r.get_int(i, 0));
    smtp::Attachment a;
    a.id = r.get_int(i, 1);
    a.filename = r.get(i, 2);
    a.content_type = r.get(i, 3);
    a.disposition = r.get(i, 4);
    a.content_id = r.get(i, 5);
    if (r.is_null(i, 6)) {  // the schema forbids it; a table altered by hand may not
      if (row.attachment_error.empty())
        row.attachment_error = "attachment " + std::to_string(a.id) + " (" + a.filename.substr(0, 80) + ") has no content (NULL)";
      continue;
    }
    a.size = static_cast<std::uint64_t>(r.get_int(i, 6));
    if (!r.is_null(i, 7)) a.content = bytea_from_text(r.get(i, 7));
    row.attachments.push_back(std::move(a));
  }
}

int QueueStore::record(const std::vector<RowOutcome>& outcomes) {
  if (outcomes.empty()) return 0;
  // One statement per batch: parallel arrays unnested into rows, each update fenced by
  // lease owner and attempt number (a row whose lease was lost is left alone).
  std::vector<std::string> ids, attempts, statuses, retry, refund, errors, replies, mids, dones, releases;
  auto add = [](std::vector<std::string>& v, const std::string& s) { v.push_back(s); };
  for (const auto& o : outcomes) {
    add(ids, std::to_string(o.id));
    add(attempts, std::to_string(o.attempts));
    add(statuses, o.release ? "queued" : row_status_name(o.update.status));
    add(retry, std::to_string(o.release ? 0 : o.update.retry_in_seconds));
    add(refund, (o.release || o.update.refund_attempt) ? "1" : "0");
    add(errors, o.update.last_error);
    add(replies, o.smtp_reply);
    add(mids, o.message_id);
    add(dones, o.done_rcpts);
    add(releases, o.release ? "t" : "f");
  }
  auto r = db_.exec(
      "UPDATE outbox o SET status = u.status,"
      "  next_attempt_at = CASE WHEN u.status = 'queued' THEN now() + make_interval(secs => u.retry) ELSE o.next_attempt_at END,"
      "  attempts = o.attempts - u.refund,"
      "  last_error = CASE WHEN u.rel THEN o.last_error ELSE nullif(u.err, '') END,"
      "  smtp_reply = coalesce(nullif(u.reply, ''), o.smtp_reply),"
      "  message_id = coalesce(nullif(u.mid, ''), o.message_id),"
      "  done_rcpts = CASE WHEN u.rel THEN o.done_rcpts ELSE nullif(u.done, '') END,"
      "  sent_at = CASE WHEN u.status = 'sent' THEN now() ELSE o.sent_at END,"
      "  lease_owner = NULL, lease_until = NULL, lease_instance = NULL "
      "FROM unnest($2::bigint[], $3::int[], $4::text[], $5::bigint[], $6::int[], $7::text[], $8::text[], $9::text[],"
      "            $10::text[], $11::bool[]) AS u(id, att, status, retry, refund, err, reply, mid, done, rel) "
      // lease_owner is only set while a row is being sent, so owner + attempt fence the
      // update without naming status (which would steer the planner to the lease index).
      "WHERE o.id = u.id AND o.lease_owner = $1 AND o.attempts = u.att",
      {owner_, pg_text_array(ids), pg_text_array(attempts), pg_text_array(statuses), pg_text_array(retry), pg_text_array(refund),
       pg_text_array(errors), pg_text_array(replies), pg_text_array(mids), pg_text_array(dones), pg_text_array(releases)});
  const int updated = std::stoi(r.affected().empty() ? "0" : r.affected());
  return static_cast<int>(outcomes.size()) - updated;
}

int QueueStore::attach_instance(int previous) {
  if (previous > 0) {
    auto r =
        db_.exec("SELECT pg_try_advisory_lock($1::int, $2::int)", {std::to_string(kInstanceLockClass), std::to_string(previous)});
    if (r.get(0, 0) == "t") {
      instance_ = previous;
      if (heartbeat()) return instance_;
      // Our row is gone (a failover to a standby that never saw it, asynchronous
      // replication; or it was forgotten): register anew below, so no other instance is
      // ever given the id we lock.
      db_.exec("SELECT pg_advisory_unlock($1::int, $2::int)", {std::to_string(kInstanceLockClass), std::to_string(previous)});
    }
  }
  auto r = db_.exec("INSERT INTO sitemail_instance (owner) VALUES ($1) RETURNING id", {owner_});
  instance_ = static_cast<int>(r.get_int(0, 0));
  db_.exec("SELECT pg_advisory_lock($1::int, $2::int)", {std::to_string(kInstanceLockClass), std::to_string(instance_)});
  if (previous > 0)  // our older session still holds the old id (or it is gone): its rows become ours
    db_.exec("UPDATE outbox SET lease_instance = $2 WHERE lease_instance = $1 AND lease_owner = $3 AND status = 'sending'",
             {std::to_string(previous), std::to_string(instance_), owner_});
  return instance_;
}

bool QueueStore::heartbeat() {
  // unlocked_since = NULL: we hold our lock, whatever an observer saw while we reconnected.
  auto r = db_.exec("UPDATE sitemail_instance SET heartbeat_at = now(), unlocked_since = NULL WHERE id = $1",
                    {std::to_string(instance_)});
  return r.affected() == "1";
}

int QueueStore::requeue_orphans(const std::vector<long long>& held) {
  std::vector<std::string> ids;
  ids.reserve(held.size());
  for (long long id : held) ids.push_back(std::to_string(id));
  // Not sent by us (never dispatched): the attempt is refunded.
  auto r = db_.exec("UPDATE outbox SET status = 'queued', attempts = greatest(attempts - 1, 0), lease_owner = NULL, "
                    "lease_until = NULL, lease_instance = NULL "
                    "WHERE lease_owner = $1 AND status = 'sending' AND NOT (id = ANY($2::bigint[]))",
                    {owner_, pg_text_array(ids)});
  return std::stoi(r.affected().empty() ? "0" : r.affected());
}

namespace {
// Whether instance i holds its instance lock in this database right now.
constexpr const char* kLocked = "EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted"
                                " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                                " AND l.classid = $2::bigint::oid AND l.objid = i.id::oid AND l.objsubid = 2)";
}  // namespace

std::map<int, int> QueueStore::recover_dead(int grace_seconds) {
  // One look at every other instance: is its lock held here, how old are its heartbeat and
  // its unlocked_since mark (all ages measured by this server's now(), which also wrote
  // the mark: no clock of ours and no other server's clock is compared with it).
  auto r = db_.exec(std::string("SELECT i.id, ") + kLocked +
                        ", extract(epoch FROM now() - i.heartbeat_at)::float8,"
                        " extract(epoch FROM now() - i.unlocked_since)::float8"
                        " FROM sitemail_instance i WHERE i.id <> $1",
                    {std::to_string(instance_), std::to_string(kInstanceLockClass)});
  std::vector<std::string> mark, dead;
  for (int i = 0; i < r.rows(); ++i) {
    const int id = static_cast<int>(r.get_int(i, 0));
    if (r.get(i, 1) == "t") {
      seen_locked_.insert(id);
      continue;
    }
    const double beat_age = std::stod(r.get(i, 2));
    // Mark only an instance whose heartbeat is late too: a live one beats every second,
    // so a mark can never be left behind by a look that raced its (re)locking.
    if (r.is_null(i, 3)) {
      if (beat_age > kMarkAfterSeconds) mark.push_back(std::to_string(id));
      continue;
    }
    const double unlocked_age = std::stod(r.get(i, 3));
    if (beat_age <= grace_seconds) continue;
    // Seen holding its lock during this very session: its session ended while this server
    // kept running (it died, or its own link broke), so the heartbeat grace is enough.
    // Otherwise this server may have just started or been promoted and the instance be
    // reconnecting: it gets kReconnectGraceSeconds from the first look that found it unlocked.
    if (seen_locked_.count(id) || unlocked_age > std::max(grace_seconds, kReconnectGraceSeconds))
      dead.push_back(std::to_string(id));
  }
  if (!mark.empty())
    db_.exec(std::string("UPDATE sitemail_instance i SET unlocked_since = now() WHERE i.id = ANY($1::int[])"
                         " AND i.unlocked_since IS NULL AND NOT ") +
                 kLocked,
             {pg_text_array(mark), std::to_string(kInstanceLockClass)});
  std::map<int, int> out;
  if (dead.empty()) return out;
  // The lock is checked again in the statement that takes the rows over: an instance that
  // locked again meanwhile keeps them.
  auto u =
      db_.exec(std::string("UPDATE outbox o SET status = 'queued', lease_owner = NULL, lease_until = NULL, lease_instance = NULL"
                           " FROM sitemail_instance i WHERE o.status = 'sending' AND o.lease_instance = i.id"
                           " AND i.id = ANY($1::int[]) AND NOT ") +
                   kLocked + " RETURNING i.id",
               {pg_text_array(dead), std::to_string(kInstanceLockClass)});
  for (int i = 0; i < u.rows(); ++i) ++out[static_cast<int>(u.get_int(i, 0))];
  return out;
}

void QueueStore::forget_dead_instances(int grace_seconds) {
  // Long gone (unlocked for a minute at least, seen so by every live instance's look) and
  // holding nothing.
  db_.exec(std::string("DELETE FROM sitemail_instance i WHERE i.id <> $1"
                       " AND i.heartbeat_at < now() - make_interval(secs => $3::int)"
                       " AND i.unlocked_since < now() - make_interval(secs => $3::int) AND NOT ") +
               kLocked + " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.status = 'sending' AND o.lease_instance = i.id)",
           {std::to_string(instance_), std::to_string(kInstanceLockClass), std::to_string(std::max(60, grace_seconds))});
}

int QueueStore::requeue_expired() {
  // A dead instance's claims: back to the queue (the attempt stays counted: it may have
  // reached the relay before the instance died).
  auto r = db_.exec("UPDATE outbox SET status = 'queued', lease_owner = NULL, lease_until = NULL, lease_instance = NULL "
                    "WHERE status = 'sending' AND lease_until < now()");
  return std::stoi(r.affected().empty() ? "0" : r.affected());
}

void QueueStore::renew(int lease_seconds) {
  db_.exec("UPDATE outbox SET lease_until = now() + make_interval(secs => $2::int) WHERE lease_owner = $1 AND status = 'sending'",
           {owner_, std::to_string(lease_seconds)});
}

int QueueStore::release_all() {
  auto r = db_.exec("UPDATE outbox SET status = 'queued', attempts = greatest(attempts - 1, 0), lease_owner = NULL, "
                    "lease_until = NULL, lease_instance = NULL WHERE lease_owner = $1 AND status = 'sending'",
                    {owner_});
  return std::stoi(r.affected().empty() ? "0" : r.affected());
}

void QueueStore::mark_held(const std::string& site, const std::string& why) {
  db_.exec("UPDATE outbox SET last_error = $2 WHERE nvtgc = $1 AND status = 'queued' AND last_error IS DISTINCT FROM $2",
           {site, why});
}

long long QueueStore::mark_held_new(const std::vector<std::pair<std::string, std::string>>& held, long long after_id) {
  const long long upto = db_.exec("SELECT coalesce(max(id), 0) FROM outbox").get_int(0, 0);
  if (upto <= after_id || held.empty()) return std::max(upto, after_id);
  std::vector<std::string> sites, whys;
  for (const auto& [site, why] : held) {
    sites.push_back(site);
    whys.push_back(why);
  }
  db_.exec("UPDATE outbox o SET last_error = h.why FROM unnest($1::text[], $2::text[]) AS h(site, why) "
           "WHERE o.id > $3::bigint AND o.id <= $4::bigint AND o.nvtgc = h.site AND o.status = 'queued' "
           "AND o.last_error IS DISTINCT FROM h.why",
           {pg_text_array(sites), pg_text_array(whys), std::to_string(after_id), std::to_string(upto)});
  return upto;
}

int QueueStore::purge(long long older_than_seconds, const std::vector<std::string>& statuses, int limit) {
  auto r = db_.exec("DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE status = ANY($1::text[]) "
                    "AND created_at < now() - make_interval(secs => $2::double precision) LIMIT $3::int)",
                    {pg_text_array(statuses), std::to_string(older_than_seconds), std::to_string(limit)});
  return std::stoi(r.affected().empty() ? "0" : r.affected());
}

std::map<std::string, long long> QueueStore::depth() {
  std::map<std::string, long long> d{{"queued", 0}, {"sending", 0}, {"sent", 0}, {"failed", 0}, {"cancelled", 0}};
  auto r = db_.exec("SELECT status, count(*) FROM outbox GROUP BY status");
  for (int i = 0; i < r.rows(); ++i) d[r.get(i, 0)] = r.get_int(i, 1);
  return d;
}

std::map<std::string, std::pair<long long, double>> QueueStore::site_queue() {
  std::map<std::string, std::pair<long long, double>> q;
  auto r = db_.exec("SELECT nvtgc, count(*), COALESCE(extract(epoch FROM now() - min(created_at)), 0)::float8 "
                    "FROM outbox WHERE status = 'queued' GROUP BY nvtgc");
  for (int i = 0; i < r.rows(); ++i) q[r.get(i, 0)] = {r.get_int(i, 1), std::stod(r.get(i, 2))};
  return q;
}

bool QueueStore::due_left(const std::vector<std::string>& held) {
  auto r = db_.exec("SELECT EXISTS (SELECT 1 FROM outbox WHERE status = 'queued' AND id > 0 AND next_attempt_at <= now() "
                    "AND NOT (nvtgc = ANY($1::text[])))",
                    {pg_text_array(held)});
  return r.get(0, 0) == "t";
}

}  // namespace sitemail
