// test_oauth.cpp — OAuth 2.0 end to end (issue 10) against our HTTPS token endpoint and a
// STARTTLS relay that accepts only the tokens the endpoint issued: `oauth token`, `test`
// with XOAUTH2 and OAUTHBEARER, endpoint errors in verdicts, the 5.7.139 hint, the size
// limit, the device login, `check`/`show --explain`, and tinyproxy (fwTunnel) carrying both
// connections. Every case asserts what the endpoint and the relay received and that no
// secret or token appears in any output.
#define BOOST_TEST_MODULE sitemail_integration_oauth
#include <boost/test/unit_test.hpp>

#include "oauth_env.hpp"

using namespace sitemail::test;

namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_SUITE(oauth_ctl)

BOOST_AUTO_TEST_CASE(client_credentials_token_and_test_with_xoauth2) {
  OAuthEnv e("cc");
  e.start_endpoint("--expires-in 3600");
  e.start_relay("XOAUTH2");
  e.site("<OAuthScope>https://outlook.office365.com/.default</OAuthScope>\n");
  auto t = e.ctl_cmd("oauth token --site ACME");
  BOOST_TEST(t.code == 0, t.out << t.err);
  BOOST_TEST(t.out.starts_with("OK site=ACME grant=client_credentials expires="), t.out);
  BOOST_TEST(has(t.out, "(in 3"), t.out);  // ~3600 s left
  auto reqs = e.requests();
  BOOST_REQUIRE_EQUAL(reqs.size(), 1u);
  BOOST_TEST(reqs[0].path == "/token");
  BOOST_TEST(reqs[0].form.at("grant_type") == "client_credentials");
  BOOST_TEST(reqs[0].form.at("client_id") == "sitemail-app");
  BOOST_TEST(reqs[0].form.at("client_secret") == OAuthEnv::kSecret);
  BOOST_TEST(reqs[0].form.at("scope") == "https://outlook.office365.com/.default");
  BOOST_TEST(reqs[0].form.count("refresh_token") == 0u);

  auto r = e.ctl_cmd("test --site ACME --send-to someone@dest.example --transcript");
  BOOST_TEST(r.code == 0, r.out << r.err);
  BOOST_TEST(has(r.out, "tls=yes auth=XOAUTH2 sent=<sitemail."), r.out);
  BOOST_TEST(has(r.out, "C: AUTH XOAUTH2 <redacted>"), r.out);
  const auto tokens = e.issued_tokens();
  BOOST_REQUIRE_EQUAL(tokens.size(), 2u);  // `oauth token` and `test` each obtained one
  BOOST_TEST(has(e.relay_auth_log(), "XOAUTH2 ok token=" + tokens[1]), e.relay_auth_log());
  BOOST_REQUIRE_EQUAL(e.relay->received().size(), 1u);
  BOOST_TEST(e.relay->received()[0].auth == "XOAUTH2");
  for (const auto* out : {&t.out, &t.err, &r.out, &r.err}) BOOST_TEST(e.leaked_in(*out) == "", *out);
}

BOOST_AUTO_TEST_CASE(oauthbearer_when_the_relay_offers_only_that) {
  OAuthEnv e("bearer");
  e.start_endpoint();
  e.start_relay("OAUTHBEARER");
  e.site("");
  auto r = e.ctl_cmd("test --site ACME --send-to someone@dest.example --transcript");
  BOOST_TEST(r.code == 0, r.out << r.err);
  BOOST_TEST(has(r.out, "auth=OAUTHBEARER"), r.out);
  BOOST_TEST(has(r.out, "C: AUTH OAUTHBEARER <redacted>"), r.out);
  BOOST_TEST(has(e.relay_auth_log(), "OAUTHBEARER ok token=" + e.issued_tokens().at(0)), e.relay_auth_log());
  BOOST_TEST(e.leaked_in(r.out + r.err) == "");
}

BOOST_AUTO_TEST_CASE(endpoint_errors_are_auth_failed_verdicts_without_secrets) {
  OAuthEnv e("errors");
  e.start_endpoint();
  e.start_relay();
  e.secret = "wrong-secret";
  e.site("");
  auto t = e.ctl_cmd("oauth token --site ACME");
  BOOST_TEST(t.code == 1);
  BOOST_TEST(t.out == "AUTH_FAILED token endpoint: invalid_client: AADSTS7000215: Invalid client secret provided.\n", t.out);
  auto r = e.ctl_cmd("test --site ACME");
  BOOST_TEST(r.code == 1);
  BOOST_TEST(r.out == "AUTH_FAILED token endpoint: invalid_client: AADSTS7000215: Invalid client secret provided.\n", r.out);
  BOOST_TEST(e.relay_auth_log().empty());  // the relay never saw an attempt
  BOOST_TEST(!has(t.out + t.err + r.out + r.err, "wrong-secret"));

  // A response over the named limit is an error naming it.
  e.token_url = e.url("/huge");
  e.site("");
  auto h = e.ctl_cmd("oauth token --site ACME");
  BOOST_TEST(h.code == 1);
  BOOST_TEST(has(h.out, "AUTH_FAILED token endpoint: the response is larger than kMaxResponseBytes (65536 bytes)"), h.out);

  // Nothing listens: still an authentication failure of the site, naming the endpoint.
  e.token_url = "https://127.0.0.1:" + std::to_string(free_port()) + "/token";
  e.site("");
  auto c = e.ctl_cmd("oauth token --site ACME");
  BOOST_TEST(c.code == 1);
  BOOST_TEST(c.out.starts_with("AUTH_FAILED token endpoint: connect: cannot connect to 127.0.0.1:"), c.out);
}

BOOST_AUTO_TEST_CASE(refused_password_with_5_7_139_hints_at_oauth) {
  OAuthEnv e("basic");
  e.start_relay("XOAUTH2", "--basic-retired");
  e.cfg.write("ACME.config", "<MailSettings><Host>127.0.0.1</Host><EMailSMTPPort>" + std::to_string(e.relay->port()) +
                                 "</EMailSMTPPort><EMailSecure>Yes</EMailSecure><SslStartMode>sslExplicit</SslStartMode>"
                                 "<SslCaFile>" +
                                 certs_dir() +
                                 "/ca.pem</SslCaFile><User>box@acme.example</User>"
                                 "<Password>pw</Password></MailSettings>");
  auto r = e.ctl_cmd("test --site ACME");
  BOOST_TEST(r.code == 1);
  BOOST_TEST(r.out.starts_with("AUTH_FAILED "), r.out);
  BOOST_TEST(has(r.out, "535 5.7.139"), r.out);
  BOOST_TEST(has(r.out, "configure OAuth 2.0"), r.out);
}

BOOST_AUTO_TEST_CASE(device_login_stores_the_refresh_token) {
  OAuthEnv e("device");
  e.start_endpoint("--device-script pending,slow_down,ok");
  e.site("<OAuthDeviceUrl>" + e.url("/device") +
         "</OAuthDeviceUrl>\n<OAuthScope>https://outlook.office.com/SMTP.Send offline_access</OAuthScope>\n");
  auto r = e.ctl_cmd("oauth login --site ACME");
  BOOST_TEST(r.code == 0, r.out << r.err);
  BOOST_TEST(has(r.out, "Open " + e.url("/verify").substr(0, e.url("/verify").size()) + " and enter the code WDJB-MJHT"), r.out);
  BOOST_TEST(has(r.out, "OK site=ACME stored db:ACME OAuthRefreshToken = (set)"), r.out);
  BOOST_TEST(has(r.err, "authorization_pending"), r.err);
  BOOST_TEST(has(r.err, "slow_down"), r.err);
  auto reqs = e.requests();
  BOOST_REQUIRE_EQUAL(reqs.size(), 4u);  // device, pending, slow_down, ok
  BOOST_TEST(reqs[0].path == "/device");
  BOOST_TEST(reqs[0].form.at("client_id") == "sitemail-app");
  BOOST_TEST(reqs[0].form.at("scope") == "https://outlook.office.com/SMTP.Send offline_access");
  for (std::size_t i = 1; i < 4; ++i) {
    BOOST_TEST(reqs[i].form.at("grant_type") == "urn:ietf:params:oauth:grant-type:device_code");
    BOOST_TEST(reqs[i].form.at("device_code").starts_with("DC-"));
  }
  auto row = e.db.conn().exec("SELECT value FROM customization WHERE nvtgc = 'ACME' AND custkey = 'OAuthRefreshToken'");
  BOOST_REQUIRE_EQUAL(row.rows(), 1);
  BOOST_TEST(row.get(0, 0) == e.valid_refresh_tokens().at(0));
  BOOST_TEST(e.leaked_in(r.out + r.err) == "");
  auto keys = e.ctl_cmd("keys list --site ACME");
  BOOST_TEST(e.leaked_in(keys.out + keys.err) == "", keys.out);

  // access_denied stops the login with exit 1 and stores nothing new.
  OAuthEnv d("denied");
  d.start_endpoint("--device-script pending,denied");
  d.site("<OAuthDeviceUrl>" + d.url("/device") + "</OAuthDeviceUrl>\n");
  auto no = d.ctl_cmd("oauth login --site ACME");
  BOOST_TEST(no.code == 1);
  BOOST_TEST(has(no.out, "AUTH_FAILED token endpoint: access_denied: the user declined"), no.out);
  BOOST_TEST(d.db.conn().exec("SELECT 1 FROM customization WHERE custkey = 'OAuthRefreshToken'").rows() == 0);

  OAuthEnv x("expired");
  x.start_endpoint("--device-script expired");
  x.site("<OAuthDeviceUrl>" + x.url("/device") + "</OAuthDeviceUrl>\n");
  auto late = x.ctl_cmd("oauth login --site ACME");
  BOOST_TEST(late.code == 1);
  BOOST_TEST(has(late.out, "AUTH_FAILED token endpoint: expired_token"), late.out);
}

BOOST_AUTO_TEST_CASE(check_and_show_explain_the_oauth_settings) {
  OAuthEnv e("check");
  e.cfg.write("ACME.config",
              "<MailSettings>\n<Host>smtp.office365.com</Host>\n<OAuthTokenUrl>http://login.example/token</OAuthTokenUrl>\n"
              "<OAuthClientId>app</OAuthClientId>\n</MailSettings>\n");
  auto c = e.ctl_cmd("check --site ACME");
  BOOST_TEST(c.code == 1);
  BOOST_TEST(has(c.out, "ACME.config:3: OAuthTokenUrl: error: must be an https:// URL"), c.out);
  e.cfg.write("ACME.config",
              "<MailSettings>\n<Host>smtp.office365.com</Host>\n<User>box@contoso.example</User>\n"
              "<OAuthProvider>microsoft</OAuthProvider>\n<OAuthTenant>contoso.example</OAuthTenant>\n</MailSettings>\n");
  auto m = e.ctl_cmd("check --site ACME");
  BOOST_TEST(m.code == 1);
  BOOST_TEST(has(m.out, "ACME.config: OAuthClientId: error: a token endpoint is used (implied by OAuthProvider microsoft (tenant "
                        "contoso.example)) but OAuthClientId is empty"),
             m.out);
  auto s = e.ctl_cmd("show --site ACME --explain");
  BOOST_TEST(has(s.out, "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/token"), s.out);
  BOOST_TEST(has(s.out, "https://outlook.office365.com/.default"), s.out);  // client credentials scope
  BOOST_TEST(has(s.out, "OAuthClientSecret = (empty)"), s.out);
}

BOOST_AUTO_TEST_CASE(token_endpoint_and_relay_through_tinyproxy) {
  OAuthEnv e("proxy");
  e.start_endpoint();
  e.start_relay();
  int port = free_port();
  TempDir dir("oauth_tinyproxy");
  std::string conf = "Port " + std::to_string(port) + "\nListen 127.0.0.1\nTimeout 30\nAllow 127.0.0.1\nLogFile \"" + dir.path() +
                     "/tinyproxy.log\"\nLogLevel Connect\nMaxClients 20\n";
  if (getuid() == 0) conf += "User nobody\nGroup nogroup\n";
  dir.write("tinyproxy.conf", conf);
  run("chmod 777 " + dir.path());
  Peer proxy("tinyproxy", "/usr/bin/tinyproxy -d -c " + dir.path() + "/tinyproxy.conf", port);
  e.site("<FirewallType>fwTunnel</FirewallType>\n<FirewallHost>127.0.0.1</FirewallHost>\n<FirewallPort>" + std::to_string(port) +
         "</FirewallPort>\n");
  auto r = e.ctl_cmd("test --site ACME");
  BOOST_TEST(r.code == 0, r.out << r.err);
  auto log = slurp(dir.path() + "/tinyproxy.log");
  BOOST_TEST(has(log, "127.0.0.1:" + std::to_string(e.endpoint->port())), log);  // the token request went through it
  BOOST_TEST(has(log, "127.0.0.1:" + std::to_string(e.relay->port())), log);
  BOOST_TEST(e.requests().size() == 1u);
  BOOST_TEST(e.leaked_in(r.out + r.err + log) == "");
}

BOOST_AUTO_TEST_SUITE_END()
