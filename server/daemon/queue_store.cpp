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
      "      WHERE ((status = 'queued' AND next_attempt_at <= now()) OR (status = 'sending' AND lease_until < now()))"
      "        AND NOT (nvtgc = ANY($3::text[]))"
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
  int fenced = 0;
  PgTransaction tx(db_);
  for (const auto& o : outcomes) {
    PgParam reply = o.smtp_reply.empty() ? PgParam{} : PgParam{o.smtp_reply};
    PgParam mid = o.message_id.empty() ? PgParam{} : PgParam{o.message_id};
    PgResult res = o.release
        ? db_.exec("UPDATE outbox SET status = 'queued', attempts = attempts - 1, lease_owner = NULL, lease_until = NULL "
                   "WHERE id = $1 AND lease_owner = $2 AND attempts = $3 AND status = 'sending'",
                   {std::to_string(o.id), owner_, std::to_string(o.attempts)})
        : db_.exec(
              "UPDATE outbox SET status = $3,"
              "  next_attempt_at = CASE WHEN $3 = 'queued' THEN now() + make_interval(secs => $4::bigint) ELSE next_attempt_at END,"
              "  attempts = attempts - $5::int, last_error = $6, smtp_reply = coalesce($7, smtp_reply),"
              "  message_id = coalesce($8, message_id), done_rcpts = $9,"
              "  sent_at = CASE WHEN $3 = 'sent' THEN now() ELSE sent_at END, lease_owner = NULL, lease_until = NULL "
              "WHERE id = $1 AND lease_owner = $2 AND attempts = $10 AND status = 'sending'",
              {std::to_string(o.id), owner_, std::string(row_status_name(o.update.status)),
               std::to_string(o.update.retry_in_seconds), o.update.refund_attempt ? "1" : "0",
               o.update.last_error.empty() ? PgParam{} : PgParam{o.update.last_error}, reply, mid,
               o.done_rcpts.empty() ? PgParam{} : PgParam{o.done_rcpts}, std::to_string(o.attempts)});
    if (res.affected() == "0") ++fenced;
  }
  tx.commit();
  return fenced;
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

bool QueueStore::due_left(const std::vector<std::string>& held) {
  auto r = db_.exec(
      "SELECT EXISTS (SELECT 1 FROM outbox WHERE ((status = 'queued' AND next_attempt_at <= now()) OR "
      "(status = 'sending' AND lease_until < now())) AND NOT (nvtgc = ANY($1::text[])))",
      {pg_text_array(held)});
  return r.get(0, 0) == "t";
}

}  // namespace sitemail
