// queue_show.cpp — `sitemailctl queue show ID` (one message as postcat/postqueue would
// show it: envelope, headers, attempts, last error, the state of every recipient) and
// `queue purge --older-than DURATION [--status ...]` (delete finished mail in batches).
#include <iostream>

#include "commands.hpp"
#include "message.hpp"
#include "mime.hpp"
#include "pg.hpp"
#include "queue_store.hpp"
#include "text_util.hpp"

namespace sitemail {

namespace {

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

std::string quoted_if_spaced(const std::string& v) {
  return v.find(' ') == std::string::npos && v.find('"') == std::string::npos ? v : "\"" + v + "\"";
}

long long duration_seconds(const std::string& text) {
  if (text.size() < 2 || text.find_first_not_of("0123456789") != text.size() - 1 || text.size() > 10)
    throw UsageError("--older-than wants a number followed by s, m, h, d or w (e.g. 30d), not '" + printable(text) + "'");
  const long long n = std::stoll(text.substr(0, text.size() - 1));
  switch (text.back()) {
    case 's': return n;
    case 'm': return n * 60;
    case 'h': return n * 3600;
    case 'd': return n * 86400;
    case 'w': return n * 7 * 86400;
    default: throw UsageError("--older-than: unit must be s, m, h, d or w, not '" + printable(text.substr(text.size() - 1)) + "'");
  }
}

}  // namespace

int cmd_queue_show(CtlArgs& a) {
  const std::string& id = a.words[0];
  if (id.empty() || id.size() > 18 || id.find_first_not_of("0123456789") != std::string::npos)
    throw UsageError("'" + printable(id) + "' is not a message id");
  PgConn db(require_database(a.conf));
  const char* ts = "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'";
  auto r = db.exec(std::string("SELECT id, nvtgc, status, attempts, coalesce(to_addrs,''), coalesce(cc_addrs,''),"
                               " coalesce(bcc_addrs,''), coalesce(from_addr,''), coalesce(from_name,''), coalesce(reply_to,''),"
                               " coalesce(subject,''), coalesce(last_error,''), coalesce(smtp_reply,''), coalesce(done_rcpts,''),"
                               " coalesce(message_id,''), coalesce(headers,''),"
                               " to_char(created_at AT TIME ZONE 'UTC', ") + ts + "),"
                               " to_char(next_attempt_at AT TIME ZONE 'UTC', " + ts + "),"
                               " coalesce(to_char(sent_at AT TIME ZONE 'UTC', " + ts + "), ''),"
                               " coalesce(lease_owner, ''), length(coalesce(body_text,'')), length(coalesce(body_html,'')),"
                               " coalesce(octet_length(raw_message)::text, '')"
                               " FROM outbox WHERE id = $1::bigint",
                   {id});
  if (r.rows() == 0) {
    std::cerr << "sitemailctl: no message " << id << "\n";
    return kExitFailed;
  }
  const bool held = r.get(0, 2) == "queued" && r.get(0, 11).starts_with("held:");
  auto rcpts = recipient_states(r);
  struct Field {
    const char* name;
    std::string value;
  };
  const std::vector<Field> fields = {
      {"id", r.get(0, 0)},           {"site", r.get(0, 1)},
      {"status", r.get(0, 2) + (held ? " (held)" : "")},
      {"attempts", r.get(0, 3)},     {"created", r.get(0, 16)},
      {"next_attempt", r.get(0, 17)}, {"sent", r.get(0, 18)},
      {"claimed_by", r.get(0, 19)},  {"from", r.get(0, 7)},
      {"from_name", r.get(0, 8)},    {"reply_to", r.get(0, 9)},
      {"to", r.get(0, 4)},           {"cc", r.get(0, 5)},
      {"bcc", r.get(0, 6)},          {"subject", r.get(0, 10)},
      {"message_id", r.get(0, 14)},  {"body", r.get(0, 20) + " bytes text, " + r.get(0, 21) + " bytes html"},
      {"raw_message", r.get(0, 22).empty() ? "" : r.get(0, 22) + " bytes"},
      {"last_error", r.get(0, 11)},  {"smtp_reply", r.get(0, 12)},
  };
  // CONTRACT §8: every attachment on a line of its own (name, type, disposition, bytes)
  auto att = db.exec("SELECT coalesce(filename, ''), coalesce(content_type, ''), coalesce(disposition, ''),"
                     " coalesce(octet_length(content), 0) FROM outbox_attachment WHERE outbox_id = $1::bigint ORDER BY id",
                     {id});
  struct AttachmentLine {
    std::string name, type, disposition, bytes;
  };
  std::vector<AttachmentLine> attachments;
  for (int i = 0; i < att.rows(); ++i) {
    // what will go out: the safe base name, the given or guessed type, attachment unless inline
    const std::string name = smtp::mime::safe_filename(att.get(i, 0));
    std::string type = smtp::mime::clean_content_type(att.get(i, 1));
    if (type.empty()) type = smtp::mime::guess_content_type(name);
    attachments.push_back({name, type, to_lower(trim(att.get(i, 2))) == "inline" ? "inline" : "attachment", att.get(i, 3)});
  }
  if (a.flag("json")) {
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
    std::cout << out << "]}\n";
    return kExitOk;
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
  std::cout << out;
  return kExitOk;
}

int cmd_queue_purge(CtlArgs& a) {
  if (!a.flag("older-than")) throw UsageError("queue purge needs --older-than DURATION (e.g. 30d)");
  const long long seconds = duration_seconds(a.opt("older-than"));
  std::vector<std::string> statuses;
  for (const auto& st : split(a.opt("status", "sent,cancelled"), ',')) {
    const std::string s(trim(st));
    if (s != "sent" && s != "failed" && s != "cancelled")
      throw UsageError("queue purge --status: '" + printable(s) + "' is not one of sent, failed, cancelled "
                       "(queued and sending mail is never purged)");
    statuses.push_back(s);
  }
  PgConn db(require_database(a.conf));
  const std::string site = a.opt("site");
  long long total = 0;
  if (site.empty()) {
    QueueStore store(db, "sitemailctl");
    while (true) {  // small batches: the daemons keep working between them
      const int n = store.purge(seconds, statuses, 1000);
      total += n;
      if (n < 1000) break;
    }
  } else {
    auto r = db.exec("DELETE FROM outbox WHERE nvtgc = $1 AND status = ANY($2::text[]) "
                     "AND created_at < now() - make_interval(secs => $3::double precision)",
                     {site, pg_text_array(statuses), std::to_string(seconds)});
    total = std::stoll(r.affected().empty() ? "0" : r.affected());
  }
  std::cout << "purged " << total << "\n";
  return kExitOk;
}

}  // namespace sitemail
