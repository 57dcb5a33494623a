// site_settings.hpp — unit-test helper: the effective settings of a test site "T" whose
// T.config holds `body`, over ILL's DB keys (relay.example, ill@lib.example).
#pragma once
#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>

#include "mail_settings_file.hpp"
#include "resolver.hpp"

namespace sitemail::test {

inline std::shared_ptr<const EffectiveSettings> site_settings(const std::string& body) {
  auto db = layer_from_db_rows("db:ILL", {{"EMailSMTPServer", "relay.example"}, {"EMailFromAddress", "ill@lib.example"}});
  auto file = parse_mail_settings("<MailSettings>" + body + "</MailSettings>", "T.config");
  ResolveEnv env;
  env.host_fqdn = "client.example";
  auto r = resolve_site("T", SiteLayers{&db, nullptr, nullptr, &file}, env);
  BOOST_REQUIRE_MESSAGE(r.valid, (r.first_error() ? r.first_error()->to_line() : ""));
  return r.settings;
}

}  // namespace sitemail::test
