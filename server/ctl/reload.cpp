// reload.cpp — `sitemailctl reload [--wait SECONDS]`: NOTIFY every running sitemaild with a
// fresh request id, then wait (bounded) for their acknowledgements in reload_ack
// (sql/007_reload_acks.sql) and say how many answered, out of the daemons connected (their
// LISTEN sessions are named sitemaild). Exit 1 when none answered or one failed to reload.
#include <chrono>
#include <iostream>
#include <set>
#include <thread>

#include "commands.hpp"
#include "pg.hpp"
#include "text_util.hpp"

namespace sitemail {

int cmd_reload(CtlArgs& a) {
  const std::string wait_text = a.opt("wait", "5");
  if (wait_text.empty() || wait_text.size() > 5 || wait_text.find_first_not_of("0123456789") != std::string::npos)
    throw UsageError("--wait needs a whole number of seconds");
  const auto wait = std::chrono::seconds(std::stoi(wait_text));
  PgConn db(require_database(a.conf));
  if (!db.table_exists("reload_ack")) throw UsageError("the database has no reload_ack table; run: sitemailctl db migrate");
  const std::string id = db.exec("SELECT gen_random_uuid()::text").get(0, 0);
  db.exec("SELECT pg_notify('sitemail_reload', $1)", {id});
  std::cerr << "sitemailctl: reload " << id << " requested; waiting up to " << wait.count() << " s for daemons\n";
  // Every daemon has one session named sitemaild (its LISTEN connection): wait until
  // that many acknowledged, or --wait runs out. Daemons that do not name their session
  // (older versions) are waited for until one quiet second after the last acknowledgement.
  const auto start = std::chrono::steady_clock::now();
  auto last_new = start;
  std::set<std::string> seen;
  std::vector<std::string> lines;
  int failed = 0;
  long long running = 0;
  while (true) {
    running = db.exec("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sitemaild' "
                      "AND datname = current_database()")
                  .get_int(0, 0);
    auto r = db.exec("SELECT instance, result, coalesce(detail, '') FROM reload_ack WHERE request_id = $1 ORDER BY acked_at", {id});
    for (int i = 0; i < r.rows(); ++i) {
      if (!seen.insert(r.get(i, 0)).second) continue;
      last_new = std::chrono::steady_clock::now();
      if (r.get(i, 1) != "ok") ++failed;
      lines.push_back("  " + printable(r.get(i, 0)) + " " + printable(r.get(i, 1)) + " " + printable(r.get(i, 2)));
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - start >= wait) break;
    if (running > 0 && static_cast<long long>(seen.size()) >= running) break;
    if (running == 0 && !seen.empty() && now - last_new >= std::chrono::seconds(1)) break;
    if (running == 0 && seen.empty() && now - start >= std::chrono::seconds(2)) break;  // nobody is listening
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::cout << "reload acknowledged by " << seen.size();
  if (running > static_cast<long long>(seen.size())) std::cout << " of " << running;
  std::cout << (seen.size() == 1 && running <= 1 ? " daemon" : " daemons");
  if (failed) std::cout << " (" << failed << " failed to reload)";
  std::cout << "\n";
  for (const auto& l : lines) std::cout << l << "\n";
  if (seen.empty()) std::cerr << "sitemailctl: no running sitemaild acknowledged within " << wait.count() << " s\n";
  else if (running > static_cast<long long>(seen.size()))
    std::cerr << "sitemailctl: warning: " << running - static_cast<long long>(seen.size())
              << " running sitemaild did not acknowledge within " << wait.count() << " s\n";
  return !seen.empty() && failed == 0 ? kExitOk : kExitFailed;
}

}  // namespace sitemail
