// web_accounts.hpp — accounts of the web console (CONTRACT §10; table web_account,
// sql/011_web.sql): `sitemailctl web add/passwd/remove/list` writes them, sitemaild's
// console reads them at sign-in. A hash never leaves this module except into the table.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "pg.hpp"

namespace sitemail::admin {

struct WebAccount {
  std::string user;
  std::string role;                // "admin" or "site"
  std::vector<std::string> sites;  // role site: the sites it manages
  std::string password_hash;       // filled only by find_web_account (for verification)
  [[nodiscard]] bool admin() const { return role == "admin"; }
  [[nodiscard]] bool manages(const std::string& site) const;
};

// "" when `user` is an acceptable account name (1-64 of A-Z a-z 0-9 . _ @ -), else why not.
[[nodiscard]] std::string web_user_problem(const std::string& user);

[[nodiscard]] std::optional<WebAccount> find_web_account(PgConn& db, const std::string& user);
// Every account, by name, without hashes.
[[nodiscard]] std::vector<WebAccount> list_web_accounts(PgConn& db);
// False when the account exists already.
bool add_web_account(PgConn& db, const WebAccount& a, const std::string& password_hash);
bool set_web_password(PgConn& db, const std::string& user, const std::string& password_hash);
bool remove_web_account(PgConn& db, const std::string& user);

}  // namespace sitemail::admin
