// web.cpp — `sitemailctl web add/passwd/remove/list`: accounts of the web console
// (CONTRACT §1, §10). The password comes from one line of standard input, or is generated
// and printed once with --generate; only its scrypt hash is stored, and no command ever
// prints a hash.
#include <iostream>

#include "commands.hpp"
#include "migrations.hpp"
#include "password_hash.hpp"
#include "text_util.hpp"
#include "web_accounts.hpp"

namespace sitemail {

namespace {

void require_web_table(PgConn& db) {
  if (!db.table_exists("web_account")) throw UsageError("the database has no web_account table; run: sitemailctl db migrate");
}

const std::string& user_or_throw(const CtlArgs& a) {
  if (auto p = admin::web_user_problem(a.words[0]); !p.empty()) throw UsageError("'" + printable(a.words[0]) + "': " + p);
  return a.words[0];
}

// The new password: generated (and printed once, after the write succeeded) or one line of stdin.
std::string new_password(CtlArgs& a) {
  if (a.flag("generate")) return accounts::generate_password();
  std::string pw;
  if (!std::getline(std::cin, pw)) throw UsageError("no password on standard input (one line), or use --generate");
  if (!pw.empty() && pw.back() == '\r') pw.pop_back();
  if (pw.size() < 8) throw UsageError("the password needs at least 8 characters");
  if (pw.size() > 1024) throw UsageError("the password is longer than 1024 characters");
  return pw;
}

}  // namespace

int cmd_web_add(CtlArgs& a) {
  const std::string& user = user_or_throw(a);
  const std::string role = a.opt("role");
  admin::WebAccount acct{user, role, {}, {}};
  if (role == "admin") {
    if (a.flag("site")) throw UsageError("web add --role admin manages every site; leave out --site");
  } else if (role == "site") {
    for (const auto& s : split(a.opt("site"), ','))
      if (!trim(s).empty()) acct.sites.emplace_back(trim(s));
    if (acct.sites.empty()) throw UsageError("web add --role site needs --site S[,S2...]");
  } else {
    throw UsageError("web add needs --role admin or --role site");
  }
  PgConn db(require_database(a.conf));
  require_web_table(db);
  const std::string pw = new_password(a);
  if (!admin::add_web_account(db, acct, accounts::hash_password(pw))) {
    std::cerr << "sitemailctl: web account " << user << " exists already (web passwd changes its password)\n";
    return kExitFailed;
  }
  std::cout << "added web account " << user << " role=" << role;
  if (!acct.sites.empty()) std::cout << " sites=" << printable(a.opt("site"));
  std::cout << "\n";
  if (a.flag("generate")) std::cout << "password: " << pw << "\n";
  return kExitOk;
}

int cmd_web_passwd(CtlArgs& a) {
  const std::string& user = user_or_throw(a);
  PgConn db(require_database(a.conf));
  require_web_table(db);
  if (!admin::find_web_account(db, user)) {
    std::cerr << "sitemailctl: no web account " << user << "\n";
    return kExitFailed;
  }
  const std::string pw = new_password(a);
  if (!admin::set_web_password(db, user, accounts::hash_password(pw))) {
    std::cerr << "sitemailctl: no web account " << user << "\n";
    return kExitFailed;
  }
  std::cout << "changed the password of web account " << user << "\n";
  if (a.flag("generate")) std::cout << "password: " << pw << "\n";
  return kExitOk;
}

int cmd_web_remove(CtlArgs& a) {
  const std::string& user = user_or_throw(a);
  PgConn db(require_database(a.conf));
  require_web_table(db);
  if (!admin::remove_web_account(db, user)) {
    std::cerr << "sitemailctl: no web account " << user << "\n";
    return kExitFailed;
  }
  std::cout << "removed web account " << user << "\n";
  return kExitOk;
}

int cmd_web_list(CtlArgs& a) {
  PgConn db(require_database(a.conf));
  require_web_table(db);
  for (const auto& acct : admin::list_web_accounts(db)) {
    std::cout << acct.user << " " << acct.role;
    if (!acct.admin()) {
      std::string sites;
      for (const auto& s : acct.sites) sites += (sites.empty() ? "" : ",") + s;
      std::cout << " " << printable(sites);
    }
    std::cout << "\n";
  }
  return kExitOk;
}

}  // namespace sitemail
