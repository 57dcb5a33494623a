// engine_fixture.hpp — running the SMTP engine in-process against real peers: settings
// from a MailSettings snippet (config dir = the test certificates), one connection that
// opens, sends messages in turn, and closes.
#pragma once
#include <ctime>
#include <string>
#include <vector>

#include "client.hpp"
#include "mail_settings_file.hpp"
#include "peers.hpp"
#include "resolver.hpp"

namespace sitemail::test {

inline std::shared_ptr<const EffectiveSettings> site_settings(const std::string& xml) {
  auto db = layer_from_db_rows(
      "db:ILL",
      {{"EMailSMTPServer", "127.0.0.1"}, {"EMailFromAddress", "ill@lib.example"}, {"Timeout", "10"}, {"Helo", "client.example"}});
  auto file = parse_mail_settings("<MailSettings>" + xml + "</MailSettings>", "T.config");
  ResolveEnv env;
  env.config_dir = certs_dir();
  env.host_fqdn = "client.example";
  auto r = resolve_site("T", SiteLayers{&db, nullptr, nullptr, &file}, env);
  if (!r.valid) throw std::runtime_error("test settings invalid: " + r.first_error()->to_line());
  return r.settings;
}

struct Delivery {
  std::optional<smtp::Failure> open_failure;
  std::vector<smtp::MessageResult> results;
  std::vector<std::string> transcript;
  std::string auth;
  bool tls = false;
  [[nodiscard]] std::string verdict() const {
    if (open_failure) return smtp::verdict_word(*open_failure);
    for (const auto& r : results)
      if (r.failure) return smtp::verdict_word(*r.failure);
    return "OK";
  }
  [[nodiscard]] std::string why() const {
    std::string s = open_failure ? open_failure->describe() : "";
    for (const auto& r : results)
      if (r.failure) s += " | " + r.failure->describe();
    for (const auto& l : transcript) s += "\n  " + l;
    return s;
  }
};

inline smtp::OutboxMessage message(long long id, const std::string& to = "rcpt@dest.example") {
  smtp::OutboxMessage m;
  m.id = id;
  m.nvtgc = "T";
  m.to = to;
  m.subject = "Test " + std::to_string(id);
  m.body_text = "Hello from message " + std::to_string(id) + ".\n";
  return m;
}

inline Delivery deliver(const std::shared_ptr<const EffectiveSettings>& s, const std::vector<smtp::OutboxMessage>& msgs,
                        std::vector<smtp::BuiltMessage>* built_out = nullptr) {
  Delivery d;
  std::vector<smtp::BuiltMessage> built;
  for (const auto& m : msgs) {
    auto b = smtp::build_message(m, *s, static_cast<long long>(std::time(nullptr)));
    if (!b.message) throw std::runtime_error("build failed: " + b.failure->describe());
    built.push_back(*b.message);
  }
  auto tls = smtp::make_tls_setup(*s, certs_dir());
  asio::io_context io;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        smtp::Client c(io.get_executor(), s, tls, /*keep_transcript=*/true);
        d.open_failure = co_await c.open();
        if (!d.open_failure)
          for (const auto& b : built) {
            d.results.push_back(co_await c.send(b));
            if (!c.usable()) break;
          }
        d.auth = c.session().auth_mechanism();
        d.tls = c.session().tls_active();
        co_await c.close();
        d.transcript = c.session().transcript();
      },
      asio::detached);
  io.run();
  if (built_out) *built_out = built;
  return d;
}

}  // namespace sitemail::test
