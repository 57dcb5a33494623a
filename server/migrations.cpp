// migrations.cpp — see migrations.hpp.
#include "migrations.hpp"

#include <set>

namespace sitemail {

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> all = {
#include "migrations.inc"
  };
  return all;
}

int latest_schema_version() { return migrations().empty() ? 0 : migrations().back().version; }

int schema_version(PgConn& db) {
  if (!db.table_exists("sitemail_schema_version")) return 0;
  auto r = db.exec("SELECT coalesce(max(version), 0) FROM sitemail_schema_version");
  return static_cast<int>(r.get_int(0, 0));
}

std::vector<std::string> migrate(PgConn& db) {
  std::vector<std::string> applied;
  PgTransaction tx(db);
  // One migrator at a time across all instances (transaction-scoped advisory lock).
  db.exec("SELECT pg_advisory_xact_lock(7369746501)");
  db.exec("CREATE TABLE IF NOT EXISTS sitemail_schema_version ("
          " version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
  // Every migration not recorded yet, not only those above the highest: numbers are
  // reserved per branch (005, 006, 007), so a database may have met 007 before 006.
  std::set<long long> done;
  {
    auto r = db.exec("SELECT version FROM sitemail_schema_version");
    for (int i = 0; i < r.rows(); ++i) done.insert(r.get_int(i, 0));
  }
  for (const auto& m : migrations()) {
    if (done.count(m.version)) continue;
    db.exec_script(m.sql);
    db.exec("INSERT INTO sitemail_schema_version (version, name) VALUES ($1, $2)", {std::to_string(m.version), m.name});
    applied.emplace_back(m.name);
  }
  tx.commit();
  return applied;
}

}  // namespace sitemail
