// queue_ops.cpp — see queue_ops.hpp. The SQL of the outbox's admin side lives here once.
#include "queue_ops.hpp"

#include "mime.hpp"

#include <algorithm>

#include "message.hpp"
#include "text_util.hpp"

namespace sitemail::admin {

namespace {

// $1 site ('' = all), $2 status ('' = all; 'held' = queued rows the daemon holds because
// their site's configuration is invalid).
const char* kWhere =
    "($1 = '' OR nvtgc = $1) AND ($2 = '' OR status = $2 OR ($2 = 'held' AND status = 'queued' AND last_error LIKE 'held:%'))";

struct RecipientState {
  std::string kind, address, state;
};

std::string mailbox_of(const std::string& entry) {
  std::string err;
  auto a = smtp::parse_address(entry, err);
  return a ? a->mailbox : std::string(trim(entry));
}

// accepted: the relay took it (done_rcpts, or the message is sent); refused: a 5xx for this
// recipient (named in last_error); otherwise what the message's status says.
std::vector<RecipientState> recipient_states(const PgResult& r) {
  const std::string status = r.get(0, 2), last_error = r.get(0, 11);
  std::vector<std::string> done;
  for (const auto& d : split(r.get(0, 13), ',')) done.push_back(to_lower(trim(d)));
  std::vector<RecipientState> out;
  const std::pair<const char*, int> lists[] = {{"to", 4}, {"cc", 5}, {"bcc", 6}};
  for (const auto& [kind, col] : lists) {
    for (const auto& entry : split(r.get(0, col), ',')) {
      if (trim(entry).empty()) continue;
      const std::string box = mailbox_of(entry);
      std::string state;
      const auto refused_at = last_error.find("refused for good:");
      if (std::find(done.begin(), done.end(), to_lower(box)) != done.end()) state = "accepted";
      else if (refused_at != std::string::npos && last_error.find(box, refused_at) != std::string::npos) state = "refused";
      else if (status == "sent") state = "accepted";
      else if (status == "queued" || status == "sending") state = "pending";
      else state = status;  // failed, cancelled
      out.push_back({kind, box, state});
    }
  }
  return out;
}

bool is_id(const std::string& id) {
  return !id.empty() && id.size() <= 18 && id.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

std::string count_line(const std::map<std::string, long long>& by_status, long long held) {
  std::string out;
  long long total = 0;
  for (const char* st : {"queued", "sending", "sent", "failed", "cancelled"}) {
    auto it = by_status.find(st);
    if (it == by_status.end() || it->second == 0) continue;
    total += it->second;
    out += (out.empty() ? "" : ", ") + std::to_string(it->second) + " " + st;
    if (std::string(st) == "queued" && held > 0) out += " (" + std::to_string(held) + " held)";
  }
  return std::to_string(total) + (total == 1 ? " message" : " messages") + (out.empty() ? "" : ": " + out);
}

bool valid_status_filter(const std::string& status) {
  return status.empty() || status == "queued" || status == "held" || status == "sending" || status == "sent" ||
         status == "failed" || status == "cancelled";
}

QueueListing list_queue(PgConn& db, const std::string& site, const std::string& status, const std::string& limit) {
  QueueListing out;
  auto r =
      db.exec("SELECT id, nvtgc, status, attempts, to_char(next_attempt_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
              " coalesce(to_addrs,''), coalesce(subject,''), coalesce(last_error,''), coalesce(smtp_reply,''),"
              " status = 'queued' AND coalesce(last_error, '') LIKE 'held:%' FROM outbox WHERE " +
                  std::string(kWhere) + " ORDER BY id DESC LIMIT $3::int",
              {site, status, limit});
  for (int i = 0; i < r.rows(); ++i)
    out.rows.push_back({r.get(i, 0), r.get(i, 1), r.get(i, 2), r.get(i, 3), r.get(i, 4), r.get(i, 5), r.get(i, 6), r.get(i, 7),
                        r.get(i, 8), r.get(i, 9) == "t"});
  auto counts = db.exec("SELECT nvtgc, status, count(*), count(*) FILTER (WHERE status = 'queued' AND last_error LIKE 'held:%') "
                        "FROM outbox WHERE " +
                            std::string(kWhere) + " GROUP BY nvtgc, status ORDER BY nvtgc, status",
                        {site, status});
  for (int i = 0; i < counts.rows(); ++i)
    out.counts.push_back({counts.get(i, 0), counts.get(i, 1), counts.get_int(i, 2), counts.get_int(i, 3)});
  return out;
}

std::map<std::string, SiteHealth> site_health(PgConn& db) {
  std::map<std::string, SiteHealth> out;
  auto counts = list_queue(db, "", "", "0").counts;
  for (const auto& c : counts) {
    auto& h = out[c.site];
    if (c.status == "queued") {
      h.queued += c.count - c.held;
      h.held += c.held;
    } else if (c.status == "failed") {
      h.failed += c.count;
    }
  }
  // The last finished delivery per site: a sent row's sent_at, a failed row's last attempt.
  auto last = db.exec(
      "SELECT DISTINCT ON (nvtgc) nvtgc, status, to_char(coalesce(sent_at, next_attempt_at, created_at) AT TIME ZONE 'UTC', "
      "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), coalesce(last_error, '') FROM outbox WHERE status IN ('sent', 'failed') "
      "ORDER BY nvtgc, coalesce(sent_at, next_attempt_at, created_at) DESC");
  for (int i = 0; i < last.rows(); ++i) {
    auto& h = out[last.get(i, 0)];
    h.last_status = last.get(i, 1);
    h.last_time_utc = last.get(i, 2);
    h.last_error = last.get(i, 3);
  }
  return out;
}

std::optional<std::string> message_site(PgConn& db, const std::string& id) {
  if (!is_id(id)) return std::nullopt;
  auto r = db.exec("SELECT nvtgc FROM outbox WHERE id = $1::bigint", {id});
  if (r.rows() == 0) return std::nullopt;
  return r.get(0, 0);
}

namespace {

// CONTRACT §8: the attachments of a message as they will go out: the safe base name, the
// given or guessed type, `attachment` unless inline, and the size in bytes.
struct AttachmentLine {
  std::string name, type, disposition, bytes;
};

std::vector<AttachmentLine> attachment_lines(PgConn& db, const std::string& id) {
  auto att = db.exec("SELECT coalesce(filename, ''), coalesce(content_type, ''), coalesce(disposition, ''),"
                     " coalesce(octet_length(content), 0) FROM outbox_attachment WHERE outbox_id = $1::bigint ORDER BY id",
                     {id});
  std::vector<AttachmentLine> out;
  for (int i = 0; i < att.rows(); ++i) {
    const std::string name = smtp::mime::safe_filename(att.get(i, 0));
    std::string type = smtp::mime::clean_content_type(att.get(i, 1));
    if (type.empty()) type = smtp::mime::guess_content_type(name);
    out.push_back({name, type, to_lower(trim(att.get(i, 2))) == "inline" ? "inline" : "attachment", att.get(i, 3)});
  }
  return out;
}

std::string quoted_if_spaced(const std::string& v) {
  return v.find(' ') == std::string::npos && v.find('"') == std::string::npos ? v : "\"" + v + "\"";
}

}  // namespace

std::optional<QueueMessage> show_message(PgConn& db, const std::string& id) {
  if (!is_id(id)) return std::nullopt;
  const char* ts = "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'";
  auto r = db.exec(std::string("SELECT id, nvtgc, status, attempts, coalesce(to_addrs,''), coalesce(cc_addrs,''),"
                               " coalesce(bcc_addrs,''), coalesce(from_addr,''), coalesce(from_name,''), coalesce(reply_to,''),"
                               " coalesce(subject,''), coalesce(last_error,''), coalesce(smtp_reply,''), coalesce(done_rcpts,''),"
                               " coalesce(message_id,''), coalesce(headers,''),"
                               " to_char(created_at AT TIME ZONE 'UTC', ") +
                       ts +
                       "),"
                       " to_char(next_attempt_at AT TIME ZONE 'UTC', " +
                       ts +
                       "),"
                       " coalesce(to_char(sent_at AT TIME ZONE 'UTC', " +
                       ts +
                       "), ''),"
                       " coalesce(lease_owner, ''), length(coalesce(body_text,'')), length(coalesce(body_html,'')),"
                       " coalesce(octet_length(raw_message)::text, '')"
                       " FROM outbox WHERE id = $1::bigint",
                   {id});
  if (r.rows() == 0) return std::nullopt;
  QueueMessage m;
  m.site = r.get(0, 1);
  m.status = r.get(0, 2);
  const bool held = r.get(0, 2) == "queued" && r.get(0, 11).starts_with("held:");
  auto rcpts = recipient_states(r);
  struct Field {
    const char* name;
    std::string value;
  };
  const std::vector<Field> fields = {
      {"id", r.get(0, 0)},
      {"site", r.get(0, 1)},
      {"status", r.get(0, 2) + (held ? " (held)" : "")},
      {"attempts", r.get(0, 3)},
      {"created", r.get(0, 16)},
      {"next_attempt", r.get(0, 17)},
      {"sent", r.get(0, 18)},
      {"claimed_by", r.get(0, 19)},
      {"from", r.get(0, 7)},
      {"from_name", r.get(0, 8)},
      {"reply_to", r.get(0, 9)},
      {"to", r.get(0, 4)},
      {"cc", r.get(0, 5)},
      {"bcc", r.get(0, 6)},
      {"subject", r.get(0, 10)},
      {"message_id", r.get(0, 14)},
      {"body", r.get(0, 20) + " bytes text, " + r.get(0, 21) + " bytes html"},
      {"raw_message", r.get(0, 22).empty() ? "" : r.get(0, 22) + " bytes"},
      {"last_error", r.get(0, 11)},
      {"smtp_reply", r.get(0, 12)},
  };
  const auto attachments = attachment_lines(db, id);
  {
    std::string out = "{";
    for (const auto& f : fields) {
      const bool number = std::string_view(f.name) == "id" || std::string_view(f.name) == "attempts";
      out += "\"" + std::string(f.name) + "\":" + (number ? f.value : "\"" + json_escape(f.value) + "\"") + ",";
    }
    out += "\"held\":" + std::string(held ? "true" : "false") + ",\"headers\":[";
    bool first = true;
    for (const auto& h : split(r.get(0, 15), '\n')) {
      if (trim(h).empty()) continue;
      out += std::string(first ? "" : ",") + "\"" + json_escape(std::string(trim(h))) + "\"";
      first = false;
    }
    out += "],\"attachments\":[";
    for (std::size_t i = 0; i < attachments.size(); ++i)
      out += std::string(i ? "," : "") + "{\"filename\":\"" + json_escape(attachments[i].name) + "\",\"content_type\":\"" +
             json_escape(attachments[i].type) + "\",\"disposition\":\"" + attachments[i].disposition +
             "\",\"bytes\":" + attachments[i].bytes + "}";
    out += "],\"recipients\":[";
    for (std::size_t i = 0; i < rcpts.size(); ++i)
      out += std::string(i ? "," : "") + "{\"kind\":\"" + rcpts[i].kind + "\",\"address\":\"" + json_escape(rcpts[i].address) +
             "\",\"state\":\"" + rcpts[i].state + "\"}";
    m.json = out + "]}\n";
  }
  std::string out;
  for (const auto& f : fields)
    if (!f.value.empty()) out += std::string(f.name) + ": " + printable(f.value) + "\n";
  bool any_header = false;
  for (const auto& h : split(r.get(0, 15), '\n')) {
    if (trim(h).empty()) continue;
    if (!any_header) out += "headers:\n";
    any_header = true;
    out += "  " + printable(std::string(trim(h))) + "\n";
  }
  out += "recipients:\n";
  for (const auto& rc : rcpts) out += "  " + rc.kind + " " + printable(rc.address) + " " + rc.state + "\n";
  if (!attachments.empty()) out += "attachments (name type disposition bytes):\n";
  for (const auto& at : attachments)
    out += "  " + quoted_if_spaced(printable(at.name)) + " " + at.type + " " + at.disposition + " " + at.bytes + "\n";
  m.text = std::move(out);
  return m;
}

bool retry_message(PgConn& db, const std::string& id) {
  auto r = db.exec("UPDATE outbox SET status = 'queued', next_attempt_at = now() "
                   "WHERE id = $1::bigint AND status IN ('queued', 'failed', 'cancelled')",
                   {id});
  return r.affected() != "0";
}

bool cancel_message(PgConn& db, const std::string& id) {
  auto r = db.exec("UPDATE outbox SET status = 'cancelled' WHERE id = $1::bigint AND status IN ('queued', 'failed')", {id});
  return r.affected() != "0";
}

std::string retry_failed(PgConn& db, const std::string& site) {
  auto r = db.exec("UPDATE outbox SET status = 'queued', next_attempt_at = now(), attempts = 0 "
                   "WHERE status = 'failed' AND ($1 = '' OR nvtgc = $1)",
                   {site});
  return r.affected();
}

}  // namespace sitemail::admin
