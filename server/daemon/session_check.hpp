// session_check.hpp — does each connection of sitemaild get a PostgreSQL session of its own?
// sitemaild relies on session state: its instance lock is a session-level advisory lock
// and new mail reaches it by LISTEN. A pooler that hands a client's statements to whichever
// server connection is free (PgBouncer pool_mode = transaction or statement) breaks both,
// silently: locks held by nobody, notifications never delivered, a live instance's mail
// taken over. sitemaild refuses to start there (CONTRACT §11).
#pragma once
#include <string>

#include "pg.hpp"

namespace sitemail {

// Probes with two connections `a` and `b` of the same conninfo: `a` takes a session lock
// and sets a session variable, `b` pins a server connection in an open transaction, then
// `a` asks whether it is still on the same backend, still holds its lock and still sees
// its variable. Returns an empty string when every session is its own; else why not, in
// words for the admin (what to set). Leaves `a` and `b` usable (no transaction open).
[[nodiscard]] std::string session_pooling_problem(PgConn& a, PgConn& b);

}  // namespace sitemail
