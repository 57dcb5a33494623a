// migrations.hpp — the numbered schema migrations of sql/, embedded at build time, and
// `db migrate`: apply the missing ones in order, each in its own transaction, recording
// the version in sitemail_schema_version. Idempotent; safe when run concurrently.
#pragma once
#include <string>
#include <vector>

#include "pg.hpp"

namespace sitemail {

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

[[nodiscard]] const std::vector<Migration>& migrations();
[[nodiscard]] int latest_schema_version();

// Returns the names of the migrations applied now (empty when already up to date).
std::vector<std::string> migrate(PgConn& db);
// The version recorded in the database; 0 when never migrated.
[[nodiscard]] int schema_version(PgConn& db);

}  // namespace sitemail
