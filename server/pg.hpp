// pg.hpp — a thin RAII layer over libpq: connections, parameterised queries, results.
// Errors throw PgError with PostgreSQL's own message and SQLSTATE.
// Connections get failover-friendly defaults (CONTRACT §11) unless the conninfo sets them:
// TCP keepalives and tcp_user_timeout (a vanished host is noticed in seconds, not after the
// kernel's 15 minutes), a per-host connect_timeout, and target_session_attrs=read-write
// (the primary, never a standby); the conninfo may name several hosts
// (`host=a,b target_session_attrs=read-write` or `postgresql://a,b/db?...`), which libpq
// itself resolves: nothing here parses it.
#pragma once
#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sitemail {

class PgError : public std::runtime_error {
 public:
  PgError(const std::string& what, std::string sqlstate = {}) : std::runtime_error(what), sqlstate_(std::move(sqlstate)) {}
  [[nodiscard]] const std::string& sqlstate() const { return sqlstate_; }
  // true when the connection itself failed (class 08), the server is shutting down (57P),
  // or it no longer accepts writes (25006 read_only_sql_transaction: a demoted primary, a
  // standby): in every case the cure is a new connection to whichever host accepts writes.
  [[nodiscard]] bool connection_lost() const {
    return sqlstate_.empty() || sqlstate_.starts_with("08") || sqlstate_.starts_with("57P") || sqlstate_ == "25006";
  }

 private:
  std::string sqlstate_;
};

class PgResult {
 public:
  explicit PgResult(PGresult* r) : r_(r, PQclear) {}
  [[nodiscard]] int rows() const { return PQntuples(r_.get()); }
  [[nodiscard]] bool is_null(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  [[nodiscard]] std::string get(int row, int col) const { return PQgetvalue(r_.get(), row, col); }
  [[nodiscard]] std::optional<std::string> opt(int row, int col) const {
    if (is_null(row, col)) return std::nullopt;
    return get(row, col);
  }
  [[nodiscard]] long long get_int(int row, int col) const { return std::stoll(get(row, col)); }
  [[nodiscard]] std::string affected() const { return PQcmdTuples(r_.get()); }

 private:
  std::unique_ptr<PGresult, decltype(&PQclear)> r_;
};

using PgParam = std::optional<std::string>;

// A bytea value in PostgreSQL's text output (hex format, "\\x0a1b..."), decoded.
[[nodiscard]] std::string bytea_from_text(std::string_view text);
// A bytea parameter in text input form (hex format).
[[nodiscard]] std::string bytea_to_text(std::string_view bytes);

// The defaults PgConn adds in front of a conninfo (the conninfo's own values win).
struct PgConnDefaults {
  const char* key;
  const char* value;
};
[[nodiscard]] const std::vector<PgConnDefaults>& pg_connection_defaults();

// The overrides that make a second connection reach the very server `c` reached (its host,
// port and, over TCP, address), whatever hosts its conninfo lists: of a multi-host conninfo
// the hosts before it are not tried again (a vanished one would cost its connect_timeout),
// and a LISTEN connection hears the NOTIFYs of the server the queue connection writes to.
// The pointers are `c`'s: valid while `c` is.
[[nodiscard]] std::vector<PgConnDefaults> pg_same_server(PGconn* c);

class PgConn {
 public:
  explicit PgConn(const std::string& conninfo);
  // `overrides` win over the conninfo's own values (and over the defaults).
  PgConn(const std::string& conninfo, const std::vector<PgConnDefaults>& overrides);
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  PgResult exec(const std::string& sql, const std::vector<PgParam>& params = {});
  void exec_script(const std::string& sql);  // several statements, no parameters
  [[nodiscard]] PGconn* raw() { return c_.get(); }
  [[nodiscard]] bool table_exists(const std::string& name);

 private:
  std::unique_ptr<PGconn, decltype(&PQfinish)> c_;
};

// RAII transaction: BEGIN on construction, ROLLBACK unless commit() was called.
class PgTransaction {
 public:
  explicit PgTransaction(PgConn& c) : c_(c) { c_.exec("BEGIN"); }
  ~PgTransaction() {
    if (!done_) try {
        c_.exec("ROLLBACK");
      } catch (...) {
      }
  }
  void commit() {
    c_.exec("COMMIT");
    done_ = true;
  }

 private:
  PgConn& c_;
  bool done_ = false;
};

}  // namespace sitemail
