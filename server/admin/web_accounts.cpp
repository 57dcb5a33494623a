// web_accounts.cpp — see web_accounts.hpp.
#include "web_accounts.hpp"

#include <algorithm>
#include <cctype>

#include "text_util.hpp"

namespace sitemail::admin {

bool WebAccount::manages(const std::string& site) const {
  return admin() || std::find(sites.begin(), sites.end(), site) != sites.end();
}

std::string web_user_problem(const std::string& user) {
  if (user.empty() || user.size() > 64) return "an account name has 1 to 64 characters";
  for (unsigned char c : user)
    if (!std::isalnum(c) && c != '.' && c != '_' && c != '@' && c != '-')
      return "an account name holds only letters, digits, '.', '_', '@' and '-'";
  return {};
}

namespace {

std::vector<std::string> site_list(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& s : split(text, ','))
    if (!trim(s).empty()) out.emplace_back(trim(s));
  return out;
}

std::string join_sites(const std::vector<std::string>& sites) {
  std::string out;
  for (const auto& s : sites) out += (out.empty() ? "" : ",") + s;
  return out;
}

}  // namespace

std::optional<WebAccount> find_web_account(PgConn& db, const std::string& user) {
  auto r = db.exec("SELECT username, role, sites, password_hash FROM web_account WHERE username = $1", {user});
  if (r.rows() == 0) return std::nullopt;
  return WebAccount{r.get(0, 0), r.get(0, 1), site_list(r.get(0, 2)), r.get(0, 3)};
}

std::vector<WebAccount> list_web_accounts(PgConn& db) {
  std::vector<WebAccount> out;
  auto r = db.exec("SELECT username, role, sites FROM web_account ORDER BY username");
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) out.push_back({r.get(i, 0), r.get(i, 1), site_list(r.get(i, 2)), {}});
  return out;
}

bool add_web_account(PgConn& db, const WebAccount& a, const std::string& password_hash) {
  auto r = db.exec("INSERT INTO web_account (username, role, sites, password_hash) VALUES ($1, $2, $3, $4) "
                   "ON CONFLICT (username) DO NOTHING",
                   {a.user, a.role, join_sites(a.sites), password_hash});
  return r.affected() == "1";
}

bool set_web_password(PgConn& db, const std::string& user, const std::string& password_hash) {
  auto r = db.exec("UPDATE web_account SET password_hash = $2, changed_at = now() WHERE username = $1", {user, password_hash});
  return r.affected() == "1";
}

bool remove_web_account(PgConn& db, const std::string& user) {
  return db.exec("DELETE FROM web_account WHERE username = $1", {user}).affected() == "1";
}

}  // namespace sitemail::admin
