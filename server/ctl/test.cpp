// test.cpp — `sitemailctl test --site S [--send-to ADDR] [--transcript]`: connect,
// EHLO, TLS and AUTH exactly as delivery would (same settings, same engine), optionally
// send a test message, QUIT, and print one verdict line (CONTRACT §5; the words come from
// server/smtp/outcome.cpp). Progress lines go to stderr while it waits; --timeout
// replaces the site's Timeout; --transcript prints every line of every reply.
#include <ctime>
#include <iostream>

#include "client.hpp"
#include "commands.hpp"
#include "pg.hpp"
#include "site_source.hpp"
#include "token_cache.hpp"

namespace sitemail {

int cmd_test(CtlArgs& a) {
  const std::string code = a.opt("site");
  if (code.empty()) throw UsageError("test needs --site S");
  auto site = load_ctl_sites(a)->find_or_resolve(code);
  if (!site->valid) {
    std::cout << "CONFIG_INVALID " << site->first_error()->to_line() << "\n";
    return kExitFailed;
  }
  std::shared_ptr<const EffectiveSettings> s = site->settings;
  if (a.flag("timeout")) {  // --timeout SECONDS: the site's settings with another Timeout
    const std::string t = a.opt("timeout");
    if (t.empty() || t.size() > 6 || t.find_first_not_of("0123456789") != std::string::npos)
      throw UsageError("--timeout needs a whole number of seconds (0 = none)");
    auto copy = std::make_shared<EffectiveSettings>(*s);
    copy->settings[static_cast<std::size_t>(Setting::Timeout)].value.number = std::stoll(t);
    s = std::move(copy);
  }
  auto tls = smtp::make_tls_setup(*s, a.conf.config_dir);
  if (tls->error && s->tls != TlsMode::none) {
    std::cout << "CONFIG_INVALID " << tls->error->describe() << "\n";
    return kExitFailed;
  }
  std::optional<smtp::BuiltMessage> message;
  const std::string send_to = a.opt("send-to");
  if (!send_to.empty()) {
    smtp::OutboxMessage m;
    m.nvtgc = code;
    m.id = static_cast<long long>(std::time(nullptr));
    m.to = send_to;
    m.subject = "sitemail test message for site " + code;
    m.body_text = "This is a test message sent by `sitemailctl test` with the settings of site " + code + ".\n";
    auto built = smtp::build_message(m, *s, static_cast<long long>(std::time(nullptr)));
    if (built.failure) {
      std::cout << smtp::verdict_line(*built.failure) << "\n";
      return kExitFailed;
    }
    message = std::move(built.message);
  }
  asio::io_context io;
  // oauth: a site with a token endpoint gets a token source; rotated refresh tokens go to the DB.
  std::unique_ptr<PgConn> oauth_db;
  std::shared_ptr<smtp::TokenSource> tokens;
  if (oauth_plan(*s).enabled) {
    oauth_db = std::make_unique<PgConn>(require_database(a.conf));
    tokens = oauth::TokenSources(io.get_executor(), a.conf.config_dir, std::make_shared<oauth::PgRefreshStore>(*oauth_db))
                 .for_site(code, s);
  }
  std::string verdict;
  std::vector<std::string> transcript;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        smtp::Client client(io.get_executor(), s, tls, /*keep_transcript=*/true, tokens);
        // Progress on stderr, so a relay that never answers is not a silent wait.
        client.on_progress([](const std::string& what) { std::cerr << "sitemailctl: test: " << what << " ...\n"; });
        auto f = co_await client.open();
        if (!f && message) {
          auto r = co_await client.send(*message);
          if (r.failure) f = r.failure;
          for (const auto& rc : r.recipients)
            if (!rc.accepted && !f) f = smtp::Failure{smtp::FailureKind::permanent, smtp::Stage::rcpt, "recipient " + rc.address + " refused", rc.reply, rc.code};
        }
        if (f) {
          verdict = smtp::verdict_line(*f);
        } else {
          const auto& ses = client.session();
          verdict = "OK Test connection complete. site=" + code + " relay=" + client.peer() + " tls=" + (ses.tls_active() ? "yes" : "no") +
                    " auth=" + (ses.auth_mechanism().empty() ? "none" : ses.auth_mechanism());
          if (message) verdict += " sent=" + message->message_id;
        }
        co_await client.close();
        transcript = client.session().transcript();
      },
      asio::detached);
  io.run();
  if (a.flag("transcript"))
    for (const auto& line : transcript) std::cout << line << "\n";
  std::cout << verdict << "\n";
  return verdict.starts_with("OK ") ? kExitOk : kExitFailed;
}

}  // namespace sitemail
