// queue.cpp — `sitemailctl enqueue`, `queue`, `queue retry`, `queue cancel` and
// `reload`: the outbox from the admin's side. Addresses are validated before a row is
// written; retry/cancel only touch rows that are not being sent right now.
#include <fstream>
#include <iostream>
#include <sstream>

#include "commands.hpp"
#include "message.hpp"
#include "pg.hpp"
#include "text_util.hpp"

namespace sitemail {

namespace {

std::string read_file_or_throw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool valid_list(const std::string& list, const char* what) {
  for (const auto& part : split(list, ',')) {
    if (trim(part).empty()) continue;
    std::string err;
    if (!smtp::parse_address(part, err)) {
      std::cerr << "sitemailctl: --" << what << ": " << err << "\n";
      return false;
    }
  }
  return true;
}

std::vector<std::string> ids_or_throw(const std::vector<std::string>& words) {
  for (const auto& w : words)
    if (w.empty() || w.find_first_not_of("0123456789") != std::string::npos) throw UsageError("'" + w + "' is not a message id");
  return words;
}

}  // namespace

int cmd_enqueue(CtlArgs& a) {
  const std::string site = a.opt("site");
  if (site.empty()) throw UsageError("enqueue needs --site S");
  const std::string to = a.opt("to"), cc = a.opt("cc"), bcc = a.opt("bcc"), from = a.opt("from");
  if (to.empty() && cc.empty() && bcc.empty()) throw UsageError("enqueue needs --to (or --cc/--bcc)");
  if (!valid_list(to, "to") || !valid_list(cc, "cc") || !valid_list(bcc, "bcc") || !valid_list(from, "from")) return kExitFailed;
  const std::string subject = a.opt("subject");
  if (has_control_chars(subject, "\t")) {
    std::cerr << "sitemailctl: --subject contains control characters\n";
    return kExitFailed;
  }
  std::string text = a.flag("body-file") ? read_file_or_throw(a.opt("body-file")) : "";
  std::string html = a.flag("html-file") ? read_file_or_throw(a.opt("html-file")) : "";
  PgConn db(require_database(a.conf));
  auto opt = [](const std::string& v) { return v.empty() ? PgParam{} : PgParam{v}; };
  auto r = db.exec(
      "INSERT INTO outbox (nvtgc, to_addrs, cc_addrs, bcc_addrs, from_addr, subject, body_text, body_html) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
      {site, opt(to), opt(cc), opt(bcc), opt(from), subject, opt(text), opt(html)});
  std::cout << r.get(0, 0) << "\n";
  return kExitOk;
}

int cmd_queue(CtlArgs& a) {
  PgConn db(require_database(a.conf));
  const std::string site = a.opt("site"), status = a.opt("status");
  const std::string limit = a.opt("limit", "100");
  if (limit.find_first_not_of("0123456789") != std::string::npos || limit.empty()) throw UsageError("--limit needs a number");
  if (!status.empty() && status != "queued" && status != "sending" && status != "sent" && status != "failed" && status != "cancelled")
    throw UsageError("--status must be one of queued, sending, sent, failed, cancelled");
  auto r = db.exec(
      "SELECT id, nvtgc, status, attempts, to_char(next_attempt_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
      " coalesce(to_addrs,''), coalesce(subject,''), coalesce(last_error,''), coalesce(smtp_reply,'') FROM outbox "
      "WHERE ($1 = '' OR nvtgc = $1) AND ($2 = '' OR status = $2) ORDER BY id DESC LIMIT $3::int",
      {site, status, limit});
  const bool json = a.flag("json");
  std::string out = json ? "[" : "";
  for (int i = 0; i < r.rows(); ++i) {
    if (json) {
      out += std::string(i ? "," : "") + "{\"id\":" + r.get(i, 0) + ",\"site\":\"" + json_escape(r.get(i, 1)) +
             "\",\"status\":\"" + r.get(i, 2) + "\",\"attempts\":" + r.get(i, 3) + ",\"next_attempt_at\":\"" + r.get(i, 4) +
             "\",\"to\":\"" + json_escape(r.get(i, 5)) + "\",\"subject\":\"" + json_escape(r.get(i, 6)) +
             "\",\"last_error\":\"" + json_escape(r.get(i, 7)) + "\",\"smtp_reply\":\"" + json_escape(r.get(i, 8)) + "\"}";
    } else {
      out += r.get(i, 0) + " " + r.get(i, 1) + " " + r.get(i, 2) + " attempts=" + r.get(i, 3) + " next=" + r.get(i, 4) +
             " to=" + r.get(i, 5) + " subject=\"" + r.get(i, 6) + "\"";
      if (!r.get(i, 7).empty()) out += " error=\"" + r.get(i, 7) + "\"";
      out += "\n";
    }
  }
  std::cout << out << (json ? "]\n" : "");
  return kExitOk;
}

int cmd_queue_retry(CtlArgs& a) {
  PgConn db(require_database(a.conf));
  if (a.flag("failed")) {
    if (!a.words.empty()) throw UsageError("give either message ids or --failed");
    auto r = db.exec("UPDATE outbox SET status = 'queued', next_attempt_at = now(), attempts = 0 "
                     "WHERE status = 'failed' AND ($1 = '' OR nvtgc = $1)",
                     {a.opt("site")});
    std::cout << "requeued " << r.affected() << "\n";
    return kExitOk;
  }
  if (a.words.empty()) throw UsageError("queue retry needs message ids or --failed");
  int missing = 0;
  for (const auto& id : ids_or_throw(a.words)) {
    auto r = db.exec("UPDATE outbox SET status = 'queued', next_attempt_at = now() "
                     "WHERE id = $1::bigint AND status IN ('queued', 'failed', 'cancelled')",
                     {id});
    if (r.affected() == "0") {
      std::cerr << "sitemailctl: message " << id << " cannot be retried (sent, being sent, or unknown)\n";
      ++missing;
    } else {
      std::cout << "requeued " << id << "\n";
    }
  }
  return missing ? kExitFailed : kExitOk;
}

int cmd_queue_cancel(CtlArgs& a) {
  if (a.words.empty()) throw UsageError("queue cancel needs message ids");
  PgConn db(require_database(a.conf));
  int missing = 0;
  for (const auto& id : ids_or_throw(a.words)) {
    auto r = db.exec("UPDATE outbox SET status = 'cancelled' WHERE id = $1::bigint AND status IN ('queued', 'failed')", {id});
    if (r.affected() == "0") {
      std::cerr << "sitemailctl: message " << id << " cannot be cancelled (sent, being sent, cancelled or unknown)\n";
      ++missing;
    } else {
      std::cout << "cancelled " << id << "\n";
    }
  }
  return missing ? kExitFailed : kExitOk;
}

int cmd_reload(CtlArgs& a) {
  PgConn db(require_database(a.conf));
  db.exec("NOTIFY sitemail_reload");
  std::cout << "reload requested\n";
  return kExitOk;
}

}  // namespace sitemail
