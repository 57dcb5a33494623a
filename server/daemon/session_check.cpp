// session_check.cpp — see session_check.hpp.
#include "session_check.hpp"

#include <poll.h>

#include <chrono>
#include <optional>
#include <random>

namespace sitemail {

namespace {

constexpr long long kProbeLockClass = 1397312845;  // beside the instance lock class
constexpr int kAnswerMs = 10000;                   // a session of its own answers at once

// Runs `sql` on `c`; nullopt when no answer came within `ms` (a pooler queueing the
// statement behind the other connection's transaction). Throws PgError on an error.
std::optional<PgResult> exec_within(PgConn& c, const std::string& sql, int ms) {
  if (!PQsendQuery(c.raw(), sql.c_str())) throw PgError(std::string("probe: ") + PQerrorMessage(c.raw()));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (true) {
    if (!PQconsumeInput(c.raw())) throw PgError(std::string("probe: ") + PQerrorMessage(c.raw()));
    if (!PQisBusy(c.raw())) break;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd fd{PQsocket(c.raw()), POLLIN, 0};
    poll(&fd, 1, static_cast<int>(left.count()));
  }
  std::optional<PgResult> out;
  std::string error, state;
  while (PGresult* r = PQgetResult(c.raw())) {
    auto st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      error = PQresultErrorMessage(r);
      if (const char* s = PQresultErrorField(r, PG_DIAG_SQLSTATE)) state = s;
      PQclear(r);
    } else {
      out.emplace(r);
    }
  }
  if (!error.empty()) throw PgError("probe: " + error, state);
  return out;
}

// Collects the pending answer of a statement that timed out (after the pin is gone).
void drain(PgConn& c) {
  while (PGresult* r = PQgetResult(c.raw())) PQclear(r);
}

}  // namespace

std::string session_pooling_problem(PgConn& a, PgConn& b) {
  static const std::string kFix =
      "sitemaild needs a PostgreSQL session of its own per connection (a session advisory lock marks each live "
      "instance; LISTEN brings new mail): connect it to PostgreSQL directly or through a pooler in session mode "
      "(PgBouncer: pool_mode = session, for this database or user)";
  std::random_device rd;
  const std::string key = std::to_string(rd() % 1000000000);
  auto first = a.exec("SELECT pg_backend_pid(), pg_try_advisory_lock(" + std::to_string(kProbeLockClass) + ", " + key +
                      "), set_config('sitemail.session_probe', '" + key + "', false)");
  const std::string pid_a = first.get(0, 0);
  auto pin = exec_within(b, "BEGIN; SELECT pg_backend_pid()", kAnswerMs);
  if (!pin) return "a second connection got no PostgreSQL session within 10 s (a pooler with one server connection?); " + kFix;
  const std::string pid_b = pin->get(0, 0);
  std::string why;
  auto again =
      exec_within(a,
                  "SELECT pg_backend_pid(), coalesce(current_setting('sitemail.session_probe', true), ''),"
                  " EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()"
                  " AND classid = " +
                      std::to_string(kProbeLockClass) + "::bigint::oid AND objid = " + key + "::bigint::oid AND objsubid = 2)",
                  kAnswerMs);
  b.exec("COMMIT");
  if (!again) {
    drain(a);
    why = "a statement waited while another connection had a transaction open: the two connections share one "
          "PostgreSQL session (a pooler in transaction or statement mode)";
  } else if (pid_b == pid_a) {
    why = "two connections were given the same PostgreSQL backend (pid " + pid_a + "): a pooler in transaction or statement mode";
  } else if (again->get(0, 0) != pid_a || again->get(0, 1) != key || again->get(0, 2) != "t") {
    why = "a connection's session state did not persist from one statement to the next (backend pid " + pid_a + " then " +
          again->get(0, 0) + ", session lock " + (again->get(0, 2) == "t" ? "held" : "gone") +
          "): a pooler in transaction or statement mode";
  }
  try {
    a.exec("SELECT pg_advisory_unlock(" + std::to_string(kProbeLockClass) + ", " + key +
           "), set_config('sitemail.session_probe', '', false)");
  } catch (const PgError&) {
  }
  return why.empty() ? why : why + "; " + kFix;
}

}  // namespace sitemail
