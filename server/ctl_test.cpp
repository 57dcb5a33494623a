// ctl_test.cpp — `sitemailctl test --site S [--send-to ADDR] [--transcript]`: connect,
// EHLO, TLS and AUTH exactly as delivery would (same settings, same engine), optionally
// send a test message, QUIT, and print one verdict line (CONTRACT §5).
#include <ctime>
#include <iostream>

#include "client.hpp"
#include "ctl_commands.hpp"
#include "pg.hpp"
#include "site_source.hpp"
#include "token_cache.hpp"

namespace sitemail {

namespace {

std::string verdict_line(const smtp::Failure& f) {
  std::string word = smtp::verdict_word(f);
  std::string lead;
  if (word == "CONNECT_FAILED") lead = "SMTP server connection failed. Check server url or port. ";
  if (word == "AUTH_FAILED" && f.detail.starts_with("token endpoint:"))  // oauth: CONTRACT §7 wording
    return word + " " + f.detail;
  if (word == "AUTH_FAILED") lead = "SMTP login failed. Check server login or password. ";
  return word + " " + lead + "(" + f.describe() + ")";
}

}  // namespace

int cmd_test(CtlArgs& a) {
  const std::string code = a.opt("site");
  if (code.empty()) throw UsageError("test needs --site S");
  auto site = load_ctl_sites(a)->find_or_resolve(code);
  if (!site->valid) {
    std::cout << "CONFIG_INVALID " << site->first_error()->to_line() << "\n";
    return kExitFailed;
  }
  const auto& s = site->settings;
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
      std::cout << verdict_line(*built.failure) << "\n";
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
        auto f = co_await client.open();
        if (!f && message) {
          auto r = co_await client.send(*message);
          if (r.failure) f = r.failure;
          for (const auto& rc : r.recipients)
            if (!rc.accepted && !f) f = smtp::Failure{smtp::FailureKind::permanent, smtp::Stage::rcpt, "recipient " + rc.address + " refused", rc.reply, rc.code};
        }
        if (f) {
          verdict = verdict_line(*f);
        } else {
          const auto& ses = client.session();
          verdict = "OK site=" + code + " relay=" + client.peer() + " tls=" + (ses.tls_active() ? "yes" : "no") +
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
