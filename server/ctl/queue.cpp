// queue.cpp — `sitemailctl enqueue`, `queue`, `queue retry` and `queue cancel`: the
// outbox from the admin's side (`queue show` and `queue purge` are in queue_show.cpp). Addresses are validated before a row is
// written; retry/cancel only touch rows that are not being sent right now.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "commands.hpp"
#include "housekeeping.hpp"
#include "message.hpp"
#include "mime.hpp"
#include "pg.hpp"
#include "queue_ops.hpp"
#include "text_util.hpp"

namespace sitemail {

namespace {

// The file an option names; a file that cannot be read is a usage error naming the option,
// the path and why (`--body x` is taken for `--body-file x`: the admin sees which one).
std::string read_file_or_throw(std::string_view option, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError("cannot read --" + std::string(option) + " " + path + ": " + std::strerror(errno));
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

namespace {

// --attach F / --inline F (repeatable): the files, read whole.
struct FileAttachment {
  std::string path, name, content;
  bool inline_part = false;
};

std::vector<FileAttachment> attachment_files(const CtlArgs& a) {
  std::vector<FileAttachment> out;
  for (const char* opt : {"attach", "inline"}) {
    if (!a.vm.count(opt)) continue;
    for (const auto& path : a.vm[opt].as<std::vector<std::string>>()) {
      FileAttachment f;
      f.path = path;
      f.name = smtp::mime::safe_filename(path);
      f.content = read_file_or_throw(opt, path);
      f.inline_part = std::string_view(opt) == "inline";
      out.push_back(std::move(f));
    }
  }
  return out;
}

}  // namespace

int cmd_enqueue(CtlArgs& a) {
  const std::string site = a.opt("site");
  if (site.empty()) throw UsageError("enqueue needs --site S");
  const std::string to = a.opt("to"), cc = a.opt("cc"), bcc = a.opt("bcc"), from = a.opt("from");
  const bool raw = a.flag("raw");
  if (raw && (a.flag("subject") || a.flag("body-file") || a.flag("html-file") || a.flag("attach") || a.flag("inline")))
    throw UsageError("--raw queues a complete message: it cannot be combined with --subject, --body-file, --html-file, "
                     "--attach or --inline");
  if (!raw && to.empty() && cc.empty() && bcc.empty()) throw UsageError("enqueue needs --to (or --cc/--bcc)");
  if (!valid_list(to, "to") || !valid_list(cc, "cc") || !valid_list(bcc, "bcc") || !valid_list(from, "from")) return kExitFailed;
  const std::string subject = a.opt("subject");
  if (has_control_chars(subject, "\t")) {
    std::cerr << "sitemailctl: --subject contains control characters\n";
    return kExitFailed;
  }
  std::string text = a.flag("body-file") ? read_file_or_throw("body-file", a.opt("body-file")) : "";
  std::string html = a.flag("html-file") ? read_file_or_throw("html-file", a.opt("html-file")) : "";
  const std::string raw_bytes = raw ? read_file_or_throw("raw", a.opt("raw")) : "";
  const auto files = attachment_files(a);
  // Mail for a site whose configuration is invalid is held from the start, and says why.
  // A message that can never be sent (too large for MaxMessageSize, a broken raw message)
  // is refused here, with the reason delivery would give, and nothing is queued.
  std::string held;
  try {
    auto site_now = load_ctl_site(a, site)->find_or_resolve(site);
    if (!site_now->valid) {
      held = held_reason(*site_now);
    } else {
      auto m = smtp::outbox_row(0, site, to, cc, bcc, from, "", "", subject, text, html, "");
      m.has_raw = raw;
      m.raw_head = raw_bytes;
      m.raw_size = raw_bytes.size();
      for (const auto& f : files) {
        smtp::Attachment at;
        at.filename = f.name;
        at.disposition = f.inline_part ? "inline" : "attachment";
        at.content_id = f.inline_part ? f.name : "";
        at.size = f.content.size();
        at.content = f.content;
        m.attachments.push_back(std::move(at));
      }
      auto built = smtp::build_message(m, *site_now->settings, 0);
      if (built.failure && built.failure->kind == smtp::FailureKind::permanent) {
        std::cerr << "sitemailctl: not queued: " << built.failure->detail << "\n";
        return kExitFailed;
      }
    }
  } catch (const UsageError&) {
    throw;
  } catch (const std::exception&) {
    // the daemon marks it when it sees it
  }
  PgConn db(require_database(a.conf));
  auto opt = [](const std::string& v) { return v.empty() ? PgParam{} : PgParam{v}; };
  // The row and its attachments in one transaction, as an application does (CONTRACT §2).
  PgTransaction tx(db);
  auto r = db.exec(
      "INSERT INTO outbox (nvtgc, to_addrs, cc_addrs, bcc_addrs, from_addr, subject, body_text, body_html, last_error, raw_message) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::bytea) RETURNING id",
      {site, opt(to), opt(cc), opt(bcc), opt(from), raw ? PgParam{} : PgParam{subject}, opt(text), opt(html), opt(held),
       raw ? PgParam{bytea_to_text(raw_bytes)} : PgParam{}});
  const std::string id = r.get(0, 0);
  for (const auto& f : files)
    db.exec("INSERT INTO outbox_attachment (outbox_id, filename, content_type, disposition, content_id, content) "
            "VALUES ($1::bigint, $2, $3, $4, $5, $6::bytea)",
            {id, f.name, smtp::mime::guess_content_type(f.name), f.inline_part ? "inline" : "attachment",
             f.inline_part ? PgParam{f.name} : PgParam{}, bytea_to_text(f.content)});
  tx.commit();
  std::cout << id << "\n";
  if (!held.empty()) std::cerr << "sitemailctl: message " << id << " is " << held << "\n";
  return kExitOk;
}

namespace {

// An address list with a display name ("Ann <a@x.example>, b@x.example") is quoted so the
// line still splits into fields at spaces.
std::string quoted_if_spaced(const std::string& v) {
  return v.find(' ') == std::string::npos && v.find('"') == std::string::npos ? v : "\"" + v + "\"";
}

}  // namespace

int cmd_queue(CtlArgs& a) {
  PgConn db(require_database(a.conf));
  const std::string site = a.opt("site"), status = a.opt("status");
  const std::string limit = a.opt("limit", "100");
  if (limit.find_first_not_of("0123456789") != std::string::npos || limit.empty() || limit.size() > 9)
    throw UsageError("--limit needs a number");
  if (!admin::valid_status_filter(status))
    throw UsageError("--status must be one of queued, held, sending, sent, failed, cancelled");
  const auto listing = admin::list_queue(db, site, status, limit);
  std::map<std::string, long long> total;
  long long total_held = 0;
  std::map<std::string, std::pair<std::map<std::string, long long>, long long>> per_site;
  for (const auto& c : listing.counts) {
    total[c.status] += c.count;
    total_held += c.held;
    auto& ps = per_site[c.site];
    ps.first[c.status] += c.count;
    ps.second += c.held;
  }
  if (a.flag("json")) {
    std::string out = "{\"messages\":[";
    bool first_row = true;
    for (const auto& m : listing.rows) {
      out += std::string(first_row ? "" : ",") + "{\"id\":" + m.id + ",\"site\":\"" + json_escape(m.site) + "\",\"status\":\"" +
             m.status + "\",\"held\":" + (m.held ? "true" : "false") + ",\"attempts\":" + m.attempts + ",\"next_attempt_at\":\"" +
             m.next_attempt_utc + "\",\"to\":\"" + json_escape(m.to) + "\",\"subject\":\"" + json_escape(m.subject) +
             "\",\"last_error\":\"" + json_escape(m.last_error) + "\",\"smtp_reply\":\"" + json_escape(m.smtp_reply) + "\"}";
      first_row = false;
    }
    auto counts_json = [](const std::map<std::string, long long>& m, long long held) {
      std::string o = "{";
      for (const auto& [st, n] : m) o += "\"" + st + "\":" + std::to_string(n) + ",";
      return o + "\"held\":" + std::to_string(held) + "}";
    };
    out += "],\"summary\":" + counts_json(total, total_held);
    if (a.flag("by-site")) {
      out += ",\"sites\":{";
      bool first = true;
      for (const auto& [code, ps] : per_site) {
        out += std::string(first ? "" : ",") + "\"" + json_escape(code) + "\":" + counts_json(ps.first, ps.second);
        first = false;
      }
      out += "}";
    }
    std::cout << out << "}\n";
    return kExitOk;
  }
  // Text: a header naming the fields, one line per message (every value escaped with
  // printable(), so a subject holding a newline cannot print a fake line), then summaries.
  std::string out = "ID SITE STATUS attempts=N next=UTC to=ADDRESSES subject=\"...\" [error=\"...\"]\n";
  for (const auto& m : listing.rows) {
    out += m.id + " " + printable(m.site) + " " + (m.held ? "held" : m.status) + " attempts=" + m.attempts +
           " next=" + m.next_attempt_utc + " to=" + quoted_if_spaced(printable(m.to)) + " subject=\"" + printable(m.subject) +
           "\"";
    if (!m.last_error.empty()) out += " error=\"" + printable(m.last_error) + "\"";
    out += "\n";
  }
  long long all = 0;
  for (const auto& [st, n] : total) all += n;
  out += "-- " + admin::count_line(total, total_held);
  const auto shown = static_cast<long long>(listing.rows.size());
  if (all > shown) out += " (" + std::to_string(shown) + " shown)";
  out += "\n";
  if (a.flag("by-site"))
    for (const auto& [code, ps] : per_site) out += "-- " + printable(code) + ": " + admin::count_line(ps.first, ps.second) + "\n";
  std::cout << out;
  return kExitOk;
}

int cmd_queue_retry(CtlArgs& a) {
  PgConn db(require_database(a.conf));
  if (a.flag("failed")) {
    if (!a.words.empty()) throw UsageError("give either message ids or --failed");
    std::cout << "requeued " << admin::retry_failed(db, a.opt("site")) << "\n";
    return kExitOk;
  }
  if (a.words.empty()) throw UsageError("queue retry needs message ids or --failed");
  int missing = 0;
  for (const auto& id : ids_or_throw(a.words)) {
    if (!admin::retry_message(db, id)) {
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
    if (!admin::cancel_message(db, id)) {
      std::cerr << "sitemailctl: message " << id << " cannot be cancelled (sent, being sent, cancelled or unknown)\n";
      ++missing;
    } else {
      std::cout << "cancelled " << id << "\n";
    }
  }
  return missing ? kExitFailed : kExitOk;
}

}  // namespace sitemail
