// queue_store.cpp — see queue_store.hpp.
#include "queue_store.hpp"

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

std::vector<ClaimedRow> QueueStore::claim(int limit, int lease_seconds, const std::vector<std::string>& held) {
  auto r = db_.exec(
      "UPDATE outbox o SET status = 'sending', lease_owner = $1, lease_until = now() + make_interval(secs => $2::int),"
      "  attempts = o.attempts + 1 "
      "FROM (SELECT id FROM outbox"
      "      WHERE status = 'queued' AND next_attempt_at <= now() AND NOT (nvtgc = ANY($3::text[]))"
      "      ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) due "
      "WHERE o.id = due.id "
      "RETURNING o.id, o.nvtgc, coalesce(o.to_addrs,''), coalesce(o.cc_addrs,''), coalesce(o.bcc_addrs,''),"
      "  coalesce(o.from_addr,''), coalesce(o.from_name,''), coalesce(o.reply_to,''), coalesce(o.subject,''),"
      "  coalesce(o.body_text,''), coalesce(o.body_html,''), coalesce(o.headers,''), o.attempts, coalesce(o.done_rcpts,''),"
      "  extract(epoch from now() - o.created_at)",
      {owner_, std::to_string(lease_seconds), pg_text_array(held), std::to_string(limit)});
  std::vector<ClaimedRow> rows;
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
    rows.push_back(std::move(c));
  }
  return rows;
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
      "  lease_owner = NULL, lease_until = NULL "
      "FROM unnest($2::bigint[], $3::int[], $4::text[], $5::bigint[], $6::int[], $7::text[], $8::text[], $9::text[],"
      "            $10::text[], $11::bool[]) AS u(id, att, status, retry, refund, err, reply, mid, done, rel) "
      // lease_owner is only set while a row is being sent, so owner + attempt fence the
      // update without naming status (which would steer the planner to the lease index).
      "WHERE o.id = u.id AND o.lease_owner = $1 AND o.attempts = u.att",
      {owner_, pg_text_array(ids), pg_text_array(attempts), pg_text_array(statuses), pg_text_array(retry),
       pg_text_array(refund), pg_text_array(errors), pg_text_array(replies), pg_text_array(mids), pg_text_array(dones),
       pg_text_array(releases)});
  const int updated = std::stoi(r.affected().empty() ? "0" : r.affected());
  return static_cast<int>(outcomes.size()) - updated;
}

int QueueStore::requeue_expired() {
  // A dead instance's claims: back to the queue (the attempt stays counted: it may have
  // reached the relay before the instance died).
  auto r = db_.exec("UPDATE outbox SET status = 'queued', lease_owner = NULL, lease_until = NULL "
                    "WHERE status = 'sending' AND lease_until < now()");
  return std::stoi(r.affected().empty() ? "0" : r.affected());
}

void QueueStore::renew(int lease_seconds) {
  db_.exec("UPDATE outbox SET lease_until = now() + make_interval(secs => $2::int) WHERE lease_owner = $1 AND status = 'sending'",
           {owner_, std::to_string(lease_seconds)});
}

int QueueStore::release_all() {
  auto r = db_.exec("UPDATE outbox SET status = 'queued', attempts = greatest(attempts - 1, 0), lease_owner = NULL, "
                    "lease_until = NULL WHERE lease_owner = $1 AND status = 'sending'",
                    {owner_});
  return std::stoi(r.affected().empty() ? "0" : r.affected());
}

void QueueStore::mark_held(const std::string& site, const std::string& why) {
  db_.exec("UPDATE outbox SET last_error = $2 WHERE nvtgc = $1 AND status = 'queued' AND last_error IS DISTINCT FROM $2",
           {site, why});
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
  auto r = db_.exec(
      "SELECT EXISTS (SELECT 1 FROM outbox WHERE status = 'queued' AND next_attempt_at <= now() "
      "AND NOT (nvtgc = ANY($1::text[])))",
      {pg_text_array(held)});
  return r.get(0, 0) == "t";
}

}  // namespace sitemail
