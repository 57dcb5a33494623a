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

PgConn::PgConn(const std::string& conninfo) : c_(PQconnectdb(conninfo.c_str()), PQfinish) {
  if (!c_ || PQstatus(c_.get()) != CONNECTION_OK)
    throw PgError("cannot connect to the database: " + trimmed(c_ ? PQerrorMessage(c_.get()) : "out of memory"));
  PQsetNoticeProcessor(c_.get(), [](void*, const char*) {}, nullptr);
}

PgResult PgConn::exec(const std::string& sql, const std::vector<PgParam>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  PGresult* r = PQexecParams(c_.get(), sql.c_str(), static_cast<int>(params.size()), nullptr, values.data(), nullptr,
                             nullptr, 0);
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
