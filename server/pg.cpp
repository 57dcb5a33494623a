// pg.cpp — see pg.hpp.
#include "pg.hpp"

namespace sitemail {

namespace {
std::string trimmed(const char* msg) {
  std::string s = msg ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

PgResult check(PGconn* c, PGresult* r) {
  auto st = PQresultStatus(r);
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) return PgResult(r);
  std::string state;
  if (const char* s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr) state = s;
  std::string msg = trimmed(r ? PQresultErrorMessage(r) : PQerrorMessage(c));
  if (msg.empty()) msg = trimmed(PQerrorMessage(c));
  if (r) PQclear(r);
  throw PgError(msg, state);
}
}  // namespace

const std::vector<PgConnDefaults>& pg_connection_defaults() {
  // keepalives: an idle connection (the LISTEN one) to a host that vanished is dropped after
  // 5 + 3 * 2 s; tcp_user_timeout: a statement whose bytes are never acknowledged fails
  // after 10 s; connect_timeout: a host that does not answer is given up (and the next one
  // of a multi-host conninfo tried) after 3 s, so with the 2 s reconnect back-off a live
  // sitemaild is back on the new primary well within the 8 s reconnect grace of
  // queue_store.hpp even when the old primary's host is gone. None apply to Unix sockets.
  // target_session_attrs=read-write: sitemail writes, so of several hosts it wants the
  // primary, and a server that turned read-only is passed over at the reconnect.
  static const std::vector<PgConnDefaults> d = {
      {"keepalives", "1"},           {"keepalives_idle", "5"}, {"keepalives_interval", "2"},          {"keepalives_count", "3"},
      {"tcp_user_timeout", "10000"}, {"connect_timeout", "3"}, {"target_session_attrs", "read-write"}};
  return d;
}

namespace {
PGconn* connect_with_defaults(const std::string& conninfo, const std::vector<PgConnDefaults>& overrides) {
  // PQconnectdbParams processes keywords in order and keeps the last value: the defaults
  // first, then `dbname` = the whole conninfo (expand_dbname = 1 expands a key=value string
  // or a URI into its parameters), so anything the user wrote overrides a default; the
  // overrides last.
  std::vector<const char*> keys, values;
  for (const auto& d : pg_connection_defaults()) {
    keys.push_back(d.key);
    values.push_back(d.value);
  }
  keys.push_back("dbname");
  values.push_back(conninfo.c_str());
  for (const auto& o : overrides) {
    keys.push_back(o.key);
    values.push_back(o.value);
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  return PQconnectdbParams(keys.data(), values.data(), 1);
}
}  // namespace

std::vector<PgConnDefaults> pg_same_server(PGconn* c) {
  std::vector<PgConnDefaults> o;
  const char* host = PQhost(c);
  const char* port = PQport(c);
  const char* addr = PQhostaddr(c);  // over TCP, the address connected to; else empty
  if (host && *host) o.push_back({"host", host});
  if (port && *port) o.push_back({"port", port});
  if (addr && *addr) o.push_back({"hostaddr", addr});
  return o;
}

PgConn::PgConn(const std::string& conninfo) : PgConn(conninfo, {}) {}

PgConn::PgConn(const std::string& conninfo, const std::vector<PgConnDefaults>& overrides)
    : c_(connect_with_defaults(conninfo, overrides), PQfinish) {
  if (!c_ || PQstatus(c_.get()) != CONNECTION_OK)
    throw PgError("cannot connect to the database: " + trimmed(c_ ? PQerrorMessage(c_.get()) : "out of memory"));
  PQsetNoticeProcessor(
      c_.get(), [](void*, const char*) {}, nullptr);
}

PgResult PgConn::exec(const std::string& sql, const std::vector<PgParam>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  PGresult* r = PQexecParams(c_.get(), sql.c_str(), static_cast<int>(params.size()), nullptr, values.data(), nullptr, nullptr, 0);
  return check(c_.get(), r);
}

void PgConn::exec_script(const std::string& sql) { check(c_.get(), PQexec(c_.get(), sql.c_str())); }

bool PgConn::table_exists(const std::string& name) {
  auto r = exec("SELECT to_regclass($1) IS NOT NULL", {name});
  return r.get(0, 0) == "t";
}

std::string bytea_from_text(std::string_view text) {
  if (!text.starts_with("\\x")) throw PgError("a bytea value is not in hex format (bytea_output = escape?)");
  text.remove_prefix(2);
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i + 1 < text.size(); i += 2) {
    const int hi = nib(text[i]), lo = nib(text[i + 1]);
    if (hi < 0 || lo < 0) throw PgError("a bytea value holds a character that is not hex");
    out += static_cast<char>(hi << 4 | lo);
  }
  return out;
}

std::string bytea_to_text(std::string_view bytes) {
  static constexpr char hexd[] = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += hexd[c >> 4];
    out += hexd[c & 15];
  }
  return out;
}

}  // namespace sitemail
