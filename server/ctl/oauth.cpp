// oauth.cpp — `sitemailctl oauth token --site S` (obtain an access token exactly as delivery
// would and print a verdict with its expiry, never the token) and `sitemailctl oauth login
// --site S` (RFC 8628 device flow; stores the refresh token as the site's DB key
// OAuthRefreshToken). CONTRACT §1 and §7.
#include <ctime>
#include <iostream>

#include "commands.hpp"
#include "device_flow.hpp"
#include "pg.hpp"
#include "site_source.hpp"
#include "token_cache.hpp"

namespace sitemail {

namespace {

std::string utc_time(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The site, valid and with a token endpoint; prints the verdict and returns nullptr otherwise.
std::shared_ptr<const ResolvedSite> oauth_site(CtlArgs& a, const char* command) {
  const std::string code = a.opt("site");
  if (code.empty()) throw UsageError(std::string("oauth ") + command + " needs --site S");
  auto site = load_ctl_site(a, code)->find_or_resolve(code);
  if (!site->valid) {
    std::cout << "CONFIG_INVALID " << site->first_error()->to_line() << "\n";
    return nullptr;
  }
  return site;
}

// `AUTH_FAILED token endpoint: invalid_client: …` (CONTRACT §7); token failures carry no relay reply.
std::string failure_verdict(const smtp::Failure& f) { return std::string(smtp::verdict_word(f)) + " " + f.detail; }

}  // namespace

int cmd_oauth_token(CtlArgs& a) {
  auto site = oauth_site(a, "token");
  if (!site) return kExitFailed;
  const auto& s = site->settings;
  const auto plan = oauth_plan(*s);
  if (!plan.enabled) {
    std::cout << "CONFIG_INVALID site " << site->site
              << " has no token endpoint (set OAuthProvider, or OAuthTokenUrl; a fixed OAuthToken is used as is)\n";
    return kExitFailed;
  }
  PgConn db(require_database(a.conf));
  asio::io_context io;
  oauth::TokenSources sources(io.get_executor(), a.conf.config_dir, std::make_shared<oauth::PgRefreshStore>(db));
  auto src = sources.for_site(site->site, s);
  smtp::TokenGrant grant;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { grant = co_await src->get(); }, asio::detached);
  io.run();
  if (grant.failure) {
    std::cout << failure_verdict(*grant.failure) << "\n";
    return kExitFailed;
  }
  const auto left = std::chrono::duration_cast<std::chrono::seconds>(grant.expires_at - std::chrono::system_clock::now());
  std::cout << "OK site=" << site->site << " grant=" << (plan.refresh_grant ? "refresh_token" : "client_credentials")
            << " expires=" << utc_time(grant.expires_at) << " (in " << left.count() << " s)"
            << (src->rotated() ? " refresh_token=rotated (stored in the database)" : "") << "\n";
  return kExitOk;
}

int cmd_oauth_login(CtlArgs& a) {
  auto site = oauth_site(a, "login");
  if (!site) return kExitFailed;
  const auto& s = site->settings;
  PgConn db(require_database(a.conf));  // before the user spends time approving
  asio::io_context io;
  oauth::DeviceLogin result;
  const std::function<void(const oauth::TokenResponse&)> show = [](const oauth::TokenResponse& d) {
    if (!d.verification_uri_complete.empty())
      std::cout << "Open " << d.verification_uri_complete << " (code " << d.user_code << ")\n";
    else std::cout << "Open " << d.verification_uri << " and enter the code " << d.user_code << "\n";
    std::cout << "Waiting for the sign-in to be approved..." << std::endl;
  };
  const std::function<void(const std::string&)> progress = [](const std::string& pending) {
    std::cerr << "sitemailctl: oauth login: " << pending << "\n";
  };
  const auto ex = io.get_executor();
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { result = co_await oauth::device_login(ex, *s, a.conf.config_dir, show, progress); },
      asio::detached);
  io.run();
  if (result.failure) {
    std::cout << failure_verdict(*result.failure) << "\n";
    return kExitFailed;
  }
  const std::string key(def(Setting::OAuthRefreshToken).name);
  PgTransaction tx(db);
  db.exec("DELETE FROM customization WHERE nvtgc = $1 AND lower(custkey) = lower($2)", {site->site, key});
  db.exec("INSERT INTO customization (custkey, value, nvtgc, description, admincat, adminkey, admintype) "
          "VALUES ($1, $2, $3, $4, 'System', 'EMail', 'String')",
          {key, result.tokens.refresh_token, site->site, std::string(def(Setting::OAuthRefreshToken).doc)});
  tx.commit();
  std::cout << "OK site=" << site->site << " stored db:" << site->site << " " << key << " = (set)\n";
  return kExitOk;
}

}  // namespace sitemail
