// reload.cpp — `sitemailctl reload [--wait SECONDS]`: NOTIFY every running sitemaild with a
// fresh request id, then wait (bounded) for their acknowledgements in reload_ack
// (sql/007_reload_acks.sql) and say how many answered, out of the daemons connected (their
// LISTEN sessions are named sitemaild). Exit 1 when none answered or one failed to reload.
#include <chrono>
#include <iostream>

#include "commands.hpp"
#include "pg.hpp"
#include "reload.hpp"
#include "text_util.hpp"

namespace sitemail {

int cmd_reload(CtlArgs& a) {
  const std::string wait_text = a.opt("wait", "5");
  if (wait_text.empty() || wait_text.size() > 5 || wait_text.find_first_not_of("0123456789") != std::string::npos)
    throw UsageError("--wait needs a whole number of seconds");
  const auto wait = std::chrono::seconds(std::stoi(wait_text));
  PgConn db(require_database(a.conf));
  if (!db.table_exists("reload_ack")) throw UsageError("the database has no reload_ack table; run: sitemailctl db migrate");
  const auto res = admin::request_reload(db, wait, [&](const std::string& id) {
    std::cerr << "sitemailctl: reload " << id << " requested; waiting up to " << wait.count() << " s for daemons\n";
  });
  std::cout << res.summary() << "\n";
  for (const auto& l : res.lines()) std::cout << l << "\n";
  const auto seen = res.acks.size();
  if (seen == 0) std::cerr << "sitemailctl: no running sitemaild acknowledged within " << wait.count() << " s\n";
  else if (res.running > static_cast<long long>(seen))
    std::cerr << "sitemailctl: warning: " << res.running - static_cast<long long>(seen)
              << " running sitemaild did not acknowledge within " << wait.count() << " s\n";
  return res.ok() ? kExitOk : kExitFailed;
}

}  // namespace sitemail
