// test_connection_route.cpp — which sites may share an SMTP connection
// (tenants/connection_route.hpp): equal connection identity shares, any difference in the
// session (relay, port, TLS, login, proxy, certificates, EHLO, timeouts) does not, and
// message-only settings (From, headers) never split a route.
#include <boost/test/unit_test.hpp>

#include "connection_route.hpp"
#include "mail_settings_file.hpp"
#include "resolver.hpp"

using namespace sitemail;

namespace {

std::string route(const std::string& site, const std::string& body) {
  auto db = layer_from_db_rows("db:ILL", {{"EMailSMTPServer", "relay.example"}, {"EMailFromAddress", "ill@lib.example"}});
  auto file = parse_mail_settings("<MailSettings>" + body + "</MailSettings>", site + ".config");
  ResolveEnv env;
  env.host_fqdn = "client.example";
  auto r = resolve_site(site, SiteLayers{&db, nullptr, nullptr, &file}, env);
  BOOST_REQUIRE_MESSAGE(r.valid, (r.first_error() ? r.first_error()->to_line() : ""));
  BOOST_TEST(r.route == connection_route(*r.settings));
  return r.route;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(connection_routes)

BOOST_AUTO_TEST_CASE(sites_with_the_same_session_share_whatever_their_messages_look_like) {
  const std::string relay = "<EMailSMTPServer>smtp.campus.example</EMailSMTPServer><EMailSMTPPort>587</EMailSMTPPort>";
  BOOST_TEST(route("ACME", relay) == route("BETA", relay));
  BOOST_TEST(
      route("ACME", relay + "<EMailFromAddress>acme@lib.example</EMailFromAddress><EMailFromName>Acme ILL</EMailFromName>") ==
      route("BETA", relay + "<EMailFromAddress>beta@lib.example</EMailFromAddress><OtherHeaders>X-Site: beta</OtherHeaders>"));
  BOOST_TEST(route("ACME", relay + "<User>ill</User><Password>s3cret</Password>") ==
             route("BETA", relay + "<User>ill</User><Password>s3cret</Password>"));
}

BOOST_AUTO_TEST_CASE(any_difference_in_the_session_is_a_route_of_its_own) {
  const std::string relay = "<EMailSMTPServer>smtp.campus.example</EMailSMTPServer>";
  const std::string base = route("ACME", relay + "<User>ill</User><Password>s3cret</Password>");
  BOOST_TEST(route("BETA", relay + "<User>ill</User><Password>s3cret</Password>") == base);
  for (
      const std::string& other : std::vector<std::string>{
          "<EMailSMTPServer>smtp2.campus.example</EMailSMTPServer><User>ill</User><Password>s3cret</Password>",
          relay + "<EMailSMTPPort>2525</EMailSMTPPort><User>ill</User><Password>s3cret</Password>",
          relay + "<User>ill</User><Password>other</Password>",  // same user, another password
          relay + "<User>ill2</User><Password>s3cret</Password>",
          relay + "<User>ill</User><Password>s3cret</Password><EMailSecure>Yes</EMailSecure>",
          relay + "<User>ill</User><Password>s3cret</Password><AuthMethod>LOGIN</AuthMethod>",
          relay + "<User>ill</User><Password>s3cret</Password><FullyQualifiedDomainName>acme.example</FullyQualifiedDomainName>",
          relay + "<User>ill</User><Password>s3cret</Password><Timeout>30</Timeout>",
          relay +
              "<User>ill</User><Password>s3cret</Password><FirewallType>fwSOCKS5</FirewallType><FirewallHost>proxy.example</FirewallHost>",
          relay + "<User>ill</User><Password>s3cret</Password><SslAcceptServerCert>*</SslAcceptServerCert>",
          relay + "<User>ill</User><Password>s3cret</Password><MaxConnections>5</MaxConnections>",
      })
    BOOST_TEST(route("BETA", other) != base, other);
}

BOOST_AUTO_TEST_CASE(a_rate_limit_or_a_token_endpoint_keeps_a_site_on_its_own) {
  const std::string limited = "<MaxMessagesPerMinute>60</MaxMessagesPerMinute>";
  BOOST_TEST(route("ACME", limited) != route("BETA", limited));  // the limit is counted per site
  const std::string oauth = "<EMailSMTPPort>587</EMailSMTPPort><User>ill@lib.example</User><AuthMethod>XOAUTH2</AuthMethod>"
                            "<OAuthTokenUrl>https://login.example/token</OAuthTokenUrl><OAuthClientId>id</OAuthClientId>"
                            "<OAuthClientSecret>secret</OAuthClientSecret><OAuthRefreshToken>rt</OAuthRefreshToken>";
  BOOST_TEST(route("ACME", oauth) != route("BETA", oauth));  // one token source per site
  BOOST_TEST(route("ACME", "") == route("BETA", ""));
}

BOOST_AUTO_TEST_CASE(only_message_settings_are_left_out) {
  int left_out = 0;
  for (std::size_t i = 0; i < kSettingCount; ++i) left_out += message_only(static_cast<Setting>(i)) ? 1 : 0;
  BOOST_TEST(left_out == 6);  // From address, From name, no-account address, extra headers, subject length, message size
  BOOST_TEST(message_only(Setting::EMailFromAddress));
  BOOST_TEST(!message_only(Setting::SMTPPassword));
  BOOST_TEST(!message_only(Setting::SslCertStore));
}

BOOST_AUTO_TEST_SUITE_END()
