// submission.cpp — `sitemailctl submission add|passwd|remove|list` and `submission network
// add|remove|list` (CONTRACT §1, §9): the accounts and trusted networks of the SMTP
// submission door. Passwords come from one line of standard input (or --generate prints a
// new one once) and are stored only as an scrypt hash (server/accounts/password_hash.*);
// `list` never shows a hash. A running sitemaild picks changes up within seconds.
#include <iostream>

#include "commands.hpp"
#include "password_hash.hpp"
#include "pg.hpp"
#include "policy.hpp"
#include "text_util.hpp"

namespace sitemail {

namespace {

PgConn& open_db(CtlArgs& a, std::unique_ptr<PgConn>& holder) {
  holder = std::make_unique<PgConn>(require_database(a.conf));
  if (!holder->table_exists("submission_account"))
    throw UsageError("the database has no submission tables; run: sitemailctl db migrate");
  return *holder;
}

bool printable_name(const std::string& s) {
  if (s.empty() || s.size() > 256) return false;
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

std::string site_arg(CtlArgs& a) {
  auto site = a.opt("site");
  if (site.empty()) throw UsageError("--site S is required");
  if (!printable_name(site) || site.find(' ') != std::string::npos)
    throw UsageError("'" + printable(site) + "' is not a site code");
  return site;
}

std::string senders_arg(CtlArgs& a) {
  std::string err;
  auto p = submission::parse_senders(a.opt("senders"), err);
  if (!p) throw UsageError("--senders: " + err);
  std::string out;
  for (const auto& s : *p) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::string max_per_hour_arg(CtlArgs& a) {
  auto v = a.opt("max-per-hour", "0");
  try {
    std::size_t used = 0;
    long n = std::stol(v, &used);
    if (used == v.size() && n >= 0 && n <= 1000000000) return std::to_string(n);
  } catch (...) {
  }
  throw UsageError("--max-per-hour: '" + v + "' is not a whole number from 0 (no limit) to 1000000000");
}

// The new password: generated and printed once, or one line of standard input.
std::string new_password(CtlArgs& a) {
  if (a.flag("generate")) {
    auto pw = accounts::generate_password();
    std::cout << "password: " << pw << "\n";
    return pw;
  }
  std::string pw;
  if (!std::getline(std::cin, pw)) throw UsageError("no password on standard input (one line), or use --generate");
  if (!pw.empty() && pw.back() == '\r') pw.pop_back();
  if (pw.empty()) throw UsageError("the password read from standard input is empty");
  return pw;
}

std::string user_arg(CtlArgs& a) {
  const auto& u = a.words.at(0);
  if (!printable_name(u)) throw UsageError("'" + printable(u) + "' is not a user name (1-256 printable characters)");
  return u;
}

std::string policy_text(const std::string& senders, const std::string& max) {
  return "senders=" + (senders.empty() ? std::string("any") : senders) +
         " max_per_hour=" + (max == "0" ? std::string("unlimited") : max);
}

}  // namespace

int cmd_submission_add(CtlArgs& a) {
  auto user = user_arg(a);
  auto site = site_arg(a);
  auto senders = senders_arg(a);
  auto max = max_per_hour_arg(a);
  std::unique_ptr<PgConn> h;
  auto& db = open_db(a, h);
  if (db.exec("SELECT 1 FROM submission_account WHERE username = $1", {user}).rows()) {
    std::cerr << "sitemailctl: submission account '" << printable(user)
              << "' exists already (change its password with: submission passwd)\n";
    return kExitFailed;
  }
  auto hash = accounts::hash_password(new_password(a));
  auto r = db.exec(
      "INSERT INTO submission_account (username, nvtgc, password_hash, senders, max_per_hour) VALUES ($1,$2,$3,$4,$5::int) "
      "ON CONFLICT (username) DO NOTHING",
      {user, site, hash, senders, max});
  if (r.affected() != "1") {
    std::cerr << "sitemailctl: submission account '" << printable(user) << "' exists already\n";
    return kExitFailed;
  }
  std::cout << "added " << printable(user) << " site=" << printable(site) << " " << policy_text(senders, max) << "\n";
  return kExitOk;
}

int cmd_submission_passwd(CtlArgs& a) {
  auto user = user_arg(a);
  std::unique_ptr<PgConn> h;
  auto& db = open_db(a, h);
  if (!db.exec("SELECT 1 FROM submission_account WHERE username = $1", {user}).rows()) {
    std::cerr << "sitemailctl: no submission account '" << printable(user) << "'\n";
    return kExitFailed;
  }
  auto hash = accounts::hash_password(new_password(a));
  auto r = db.exec("UPDATE submission_account SET password_hash = $2, updated_at = now() WHERE username = $1", {user, hash});
  if (r.affected() != "1") {
    std::cerr << "sitemailctl: no submission account '" << printable(user) << "'\n";
    return kExitFailed;
  }
  std::cout << "password changed for " << printable(user) << "\n";
  return kExitOk;
}

int cmd_submission_remove(CtlArgs& a) {
  auto user = user_arg(a);
  std::unique_ptr<PgConn> h;
  auto& db = open_db(a, h);
  if (db.exec("DELETE FROM submission_account WHERE username = $1", {user}).affected() != "1") {
    std::cerr << "sitemailctl: no submission account '" << printable(user) << "'\n";
    return kExitFailed;
  }
  std::cout << "removed " << printable(user) << "\n";
  return kExitOk;
}

int cmd_submission_list(CtlArgs& a) {
  std::unique_ptr<PgConn> h;
  auto& db = open_db(a, h);
  auto r = db.exec("SELECT username, nvtgc, senders, max_per_hour FROM submission_account ORDER BY username");
  for (int i = 0; i < r.rows(); ++i)
    std::cout << printable(r.get(i, 0)) << " site=" << printable(r.get(i, 1)) << " " << policy_text(r.get(i, 2), r.get(i, 3))
              << "\n";
  return kExitOk;
}

int cmd_submission_network_add(CtlArgs& a) {
  auto net = submission::Cidr::parse(a.words.at(0));
  if (!net) throw UsageError("'" + printable(a.words.at(0)) + "' is not an address or network (CIDR, e.g. 192.0.2.0/24)");
  auto site = site_arg(a);
  auto senders = senders_arg(a);
  auto max = max_per_hour_arg(a);
  std::unique_ptr<PgConn> h;
  auto& db = open_db(a, h);
  auto r = db.exec("INSERT INTO submission_network (cidr, nvtgc, senders, max_per_hour) VALUES ($1::cidr,$2,$3,$4::int) "
                   "ON CONFLICT (cidr) DO NOTHING",
                   {net->str(), site, senders, max});
  if (r.affected() != "1") {
    std::cerr << "sitemailctl: trusted network " << net->str() << " exists already (remove it first)\n";
    return kExitFailed;
  }
  std::cout << "added network " << net->str() << " site=" << printable(site) << " " << policy_text(senders, max) << "\n";
  return kExitOk;
}

int cmd_submission_network_remove(CtlArgs& a) {
  auto net = submission::Cidr::parse(a.words.at(0));
  if (!net) throw UsageError("'" + printable(a.words.at(0)) + "' is not an address or network (CIDR)");
  std::unique_ptr<PgConn> h;
  auto& db = open_db(a, h);
  if (db.exec("DELETE FROM submission_network WHERE cidr = $1::cidr", {net->str()}).affected() != "1") {
    std::cerr << "sitemailctl: no trusted network " << net->str() << "\n";
    return kExitFailed;
  }
  std::cout << "removed network " << net->str() << "\n";
  return kExitOk;
}

int cmd_submission_network_list(CtlArgs& a) {
  std::unique_ptr<PgConn> h;
  auto& db = open_db(a, h);
  auto r = db.exec("SELECT cidr::text, nvtgc, senders, max_per_hour FROM submission_network ORDER BY cidr");
  for (int i = 0; i < r.rows(); ++i)
    std::cout << r.get(i, 0) << " site=" << printable(r.get(i, 1)) << " " << policy_text(r.get(i, 2), r.get(i, 3)) << "\n";
  return kExitOk;
}

}  // namespace sitemail
