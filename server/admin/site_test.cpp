// site_test.cpp — see site_test.hpp.
#include "site_test.hpp"

#include <ctime>

#include "client.hpp"
#include "pg.hpp"
#include "token_cache.hpp"

namespace sitemail::admin {

SiteTestResult run_site_test(const DaemonConf& conf, const ResolvedSite& site, const SiteTestOptions& opt) {
  SiteTestResult out;
  const std::string& code = site.site;
  if (!site.valid) {
    out.verdict = "CONFIG_INVALID " + site.first_error()->to_line();
    return out;
  }
  std::shared_ptr<const EffectiveSettings> s = site.settings;
  if (opt.timeout) {  // the site's settings with another Timeout
    auto copy = std::make_shared<EffectiveSettings>(*s);
    copy->settings[static_cast<std::size_t>(Setting::Timeout)].value.number = *opt.timeout;
    s = std::move(copy);
  }
  auto tls = smtp::make_tls_setup(*s, conf.config_dir);
  if (tls->error && s->tls != TlsMode::none) {
    out.verdict = "CONFIG_INVALID " + tls->error->describe();
    return out;
  }
  std::optional<smtp::BuiltMessage> message;
  if (!opt.send_to.empty()) {
    smtp::OutboxMessage m;
    m.nvtgc = code;
    m.id = static_cast<long long>(std::time(nullptr));
    m.to = opt.send_to;
    m.subject = "sitemail test message for site " + code;
    m.body_text = "This is a test message sent by " + opt.sent_by + " with the settings of site " + code + ".\n";
    auto built = smtp::build_message(m, *s, static_cast<long long>(std::time(nullptr)));
    if (built.failure) {
      out.verdict = smtp::verdict_line(*built.failure);
      return out;
    }
    message = std::move(built.message);
  }
  asio::io_context io;
  // oauth: a site with a token endpoint gets a token source; rotated refresh tokens go to the DB.
  std::unique_ptr<PgConn> oauth_db;
  std::shared_ptr<smtp::TokenSource> tokens;
  if (oauth_plan(*s).enabled) {
    oauth_db = std::make_unique<PgConn>(require_database(conf));
    tokens = oauth::TokenSources(io.get_executor(), conf.config_dir, std::make_shared<oauth::PgRefreshStore>(*oauth_db))
                 .for_site(code, s);
  }
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        smtp::Client client(io.get_executor(), s, tls, /*keep_transcript=*/true, tokens);
        if (opt.progress) client.on_progress(opt.progress);
        auto f = co_await client.open();
        if (!f && message) {
          auto r = co_await client.send(*message);
          if (r.failure) f = r.failure;
          for (const auto& rc : r.recipients)
            if (!rc.accepted && !f)
              f = smtp::Failure{smtp::FailureKind::permanent, smtp::Stage::rcpt, "recipient " + rc.address + " refused", rc.reply,
                                rc.code};
        }
        if (f) {
          out.verdict = smtp::verdict_line(*f);
        } else {
          const auto& ses = client.session();
          out.verdict = "OK Test connection complete. site=" + code + " relay=" + client.peer() +
                        " tls=" + (ses.tls_active() ? "yes" : "no") +
                        " auth=" + (ses.auth_mechanism().empty() ? "none" : ses.auth_mechanism());
          if (message) out.verdict += " sent=" + message->message_id;
        }
        co_await client.close();
        out.transcript = client.session().transcript();
      },
      asio::detached);
  io.run();
  return out;
}

}  // namespace sitemail::admin
