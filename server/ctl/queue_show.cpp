// queue_show.cpp — `sitemailctl queue show ID` (one message as postcat/postqueue would
// show it: envelope, headers, attempts, last error, the state of every recipient) and
// `queue purge --older-than DURATION [--status ...]` (delete finished mail in batches).
#include <iostream>

#include "commands.hpp"
#include "pg.hpp"
#include "queue_ops.hpp"
#include "queue_store.hpp"
#include "text_util.hpp"

namespace sitemail {

namespace {

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
    default:
      throw UsageError("--older-than: unit must be s, m, h, d or w, not '" + printable(text.substr(text.size() - 1)) + "'");
  }
}

}  // namespace

int cmd_queue_show(CtlArgs& a) {
  const std::string& id = a.words[0];
  if (id.empty() || id.size() > 18 || id.find_first_not_of("0123456789") != std::string::npos)
    throw UsageError("'" + printable(id) + "' is not a message id");
  PgConn db(require_database(a.conf));
  auto m = admin::show_message(db, id);
  if (!m) {
    std::cerr << "sitemailctl: no message " << id << "\n";
    return kExitFailed;
  }
  std::cout << (a.flag("json") ? m->json : m->text);
  return kExitOk;
}

int cmd_queue_purge(CtlArgs& a) {
  if (!a.flag("older-than")) throw UsageError("queue purge needs --older-than DURATION (e.g. 30d)");
  const long long seconds = duration_seconds(a.opt("older-than"));
  std::vector<std::string> statuses;
  for (const auto& st : split(a.opt("status", "sent,cancelled"), ',')) {
    const std::string s(trim(st));
    if (s != "sent" && s != "failed" && s != "cancelled")
      throw UsageError("queue purge --status: '" + printable(s) +
                       "' is not one of sent, failed, cancelled "
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
