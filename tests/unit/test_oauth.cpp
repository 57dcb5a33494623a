// test_oauth.cpp — the pure parts of OAuth 2.0 support (issue 10): token response parsing
// and its named limits, provider presets and scopes, https URL parsing, form encoding,
// the OAUTHBEARER initial response (RFC 7628) and Auto's choice of a bearer mechanism,
// and the 5.7.139 hint.
#include <boost/test/unit_test.hpp>

#include "codec.hpp"
#include "https_post.hpp"
#include "mail_settings_file.hpp"
#include "oauth_preset.hpp"
#include "outcome.hpp"
#include "resolver.hpp"
#include "sasl.hpp"
#include "token_response.hpp"

using namespace sitemail;
using namespace sitemail::oauth;

namespace {

std::shared_ptr<const EffectiveSettings> settings(const std::string& xml) {
  ResolveEnv env;
  env.config_dir = "/nonexistent";
  env.host_fqdn = "host.example.org";
  env.getenv = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  RawLayer db = layer_from_db_rows("db:ILL", {{"EMailSMTPServer", "relay.example"}});
  RawLayer none, smtp;
  RawLayer site = parse_mail_settings("<MailSettings>\n" + xml + "</MailSettings>\n", "ACME.config");
  SiteLayers l{&db, &none, &smtp, &site};
  return resolve_site("ACME", l, env).settings;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(oauth_units)

BOOST_AUTO_TEST_CASE(token_responses_parse_with_named_limits) {
  auto ok = parse_token_response(R"({"access_token":"abc","token_type":"Bearer","expires_in":3599,"refresh_token":"r2"})");
  BOOST_TEST(ok.ok());
  BOOST_TEST(ok.access_token == "abc");
  BOOST_TEST(ok.expires_in == 3599);
  BOOST_TEST(ok.refresh_token == "r2");
  BOOST_TEST(parse_token_response(R"({"access_token":"a","expires_in":"120"})").expires_in == 120);  // quoted number

  auto err = parse_token_response(R"({"error":"invalid_client","error_description":"AADSTS7000215: bad\nsecret"})", 401);
  BOOST_TEST(!err.ok());
  BOOST_TEST(describe_error(err) == "invalid_client: AADSTS7000215: bad?secret");

  BOOST_TEST(parse_token_response("<html>", 502).malformed == "the response is not a JSON object (HTTP 502)");
  BOOST_TEST(parse_token_response("[1,2]").malformed == "the response is not a JSON object (HTTP 200)");
  BOOST_TEST(parse_token_response(R"({"access_token":5})").malformed == "field \"access_token\" is not a string");
  BOOST_TEST(parse_token_response(R"({"access_token":"a","expires_in":-5})").malformed.find("out of range") != std::string::npos);
  BOOST_TEST(parse_token_response("{}", 400).malformed == "HTTP 400 without an \"error\" field");
  const std::string long_token(kMaxTokenBytes + 1, 'x');
  BOOST_TEST(parse_token_response(R"({"access_token":")" + long_token + "\"}").malformed ==
             "field \"access_token\" is longer than kMaxTokenBytes (16384 bytes)");
  BOOST_TEST(parse_token_response(std::string(kMaxResponseBytes + 1, ' ')).malformed ==
             "the response is larger than kMaxResponseBytes (65536 bytes)");
  auto dev =
      parse_token_response(R"({"device_code":"d","user_code":"U-1","verification_url":"https://g.co/device","interval":5})");
  BOOST_TEST(dev.verification_uri == "https://g.co/device");  // Google's spelling
  BOOST_TEST(dev.interval == 5);
}

BOOST_AUTO_TEST_CASE(provider_presets_imply_endpoints_and_scopes) {
  auto ms = settings("<OAuthProvider>microsoft</OAuthProvider><OAuthTenant>contoso.onmicrosoft.com</OAuthTenant>");
  auto p = oauth_plan(*ms);
  BOOST_TEST(p.enabled);
  BOOST_TEST(p.token_url == "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token");
  BOOST_TEST(p.device_url == "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/devicecode");
  BOOST_TEST(p.scope == "https://outlook.office365.com/.default");  // client credentials
  BOOST_TEST(oauth_plan(*ms, true).scope == "https://outlook.office.com/SMTP.Send offline_access");
  auto ms_rt = settings("<OAuthProvider>1</OAuthProvider><OAuthRefreshToken>r</OAuthRefreshToken>");
  BOOST_TEST(oauth_plan(*ms_rt).refresh_grant);
  BOOST_TEST(oauth_plan(*ms_rt).token_url == "https://login.microsoftonline.com/organizations/oauth2/v2.0/token");
  BOOST_TEST(oauth_plan(*ms_rt).scope == "https://outlook.office.com/SMTP.Send offline_access");
  auto g = oauth_plan(*settings("<OAuthProvider>google</OAuthProvider><OAuthScope>x y</OAuthScope>"));
  BOOST_TEST(g.token_url == "https://oauth2.googleapis.com/token");
  BOOST_TEST(g.scope == "x y");
  BOOST_TEST(!oauth_plan(*settings("")).enabled);
  auto custom = oauth_plan(*settings("<OAuthTokenUrl>https://idp.example/t</OAuthTokenUrl>"));
  BOOST_TEST(custom.enabled);
  BOOST_TEST(custom.token_url_why == "OAuthTokenUrl");
  BOOST_TEST(custom.scope.empty());
}

BOOST_AUTO_TEST_CASE(https_urls_and_form_encoding) {
  std::string why;
  auto u = parse_https_url("https://login.example:8443/t/oauth2?x=1", why);
  BOOST_REQUIRE(u);
  BOOST_TEST(u->host == "login.example");
  BOOST_TEST(u->port == 8443);
  BOOST_TEST(u->target == "/t/oauth2?x=1");
  BOOST_TEST(parse_https_url("https://[::1]/t", why)->host == "::1");
  BOOST_TEST(!parse_https_url("http://login.example/t", why));
  BOOST_TEST(why == "not an https:// URL");
  BOOST_TEST(!parse_https_url("https://login.example:99999/", why));
  BOOST_TEST(!parse_https_url("https://u:p@login.example/", why));
  BOOST_TEST(!parse_https_url("https://login.example/a b", why));
  BOOST_TEST(form_escape("https://outlook.office.com/SMTP.Send offline_access") ==
             "https%3A%2F%2Foutlook.office.com%2FSMTP.Send+offline_access");
  BOOST_TEST(is_https_url("HTTPS://x"));
  BOOST_TEST(!is_https_url("https:///x"));
}

BOOST_AUTO_TEST_CASE(oauthbearer_and_auto_with_a_token) {
  using namespace sitemail::smtp;
  Credentials tok{"box,a=b@example", "", "T0K", ""};
  auto m = make_mechanism("OAUTHBEARER", tok);
  BOOST_TEST(*codec::unbase64(m->initial().substr(17)) == "n,a=box=2Ca=3Db@example,\x01"
                                                          "auth=Bearer T0K\x01\x01");
  BOOST_TEST(m->redacted_initial() == "AUTH OAUTHBEARER <redacted>");
  BOOST_TEST(*m->step("{\"status\":\"invalid_token\"}") == "\x01");
  BOOST_TEST(!m->step(""));
  BOOST_TEST(choose_mechanism(AuthMethod::automatic, {"OAUTHBEARER", "PLAIN"}, true, tok).mechanism->name() == "OAUTHBEARER");
  BOOST_TEST(choose_mechanism(AuthMethod::automatic, {"XOAUTH2", "OAUTHBEARER"}, true, tok).mechanism->name() == "XOAUTH2");
  BOOST_TEST(choose_mechanism(AuthMethod::automatic, {"OAUTHBEARER"}, false, tok).error.find("clear") != std::string::npos);
  BOOST_TEST(choose_mechanism(AuthMethod::oauthbearer, {"OAUTHBEARER"}, false, tok).mechanism->name() == "OAUTHBEARER");
  BOOST_TEST(!choose_mechanism(AuthMethod::oauthbearer, {"OAUTHBEARER"}, true, Credentials{"u", "p", "", ""}).mechanism);
}

BOOST_AUTO_TEST_CASE(basic_auth_retired_hints_at_oauth) {
  using namespace sitemail::smtp;
  Reply r{535, "5.7.139", {"5.7.139 Authentication unsuccessful, basic authentication is disabled."}};
  auto f = from_reply(Stage::auth, r, "SMTP login failed. Check server login or password.");
  BOOST_TEST(std::string(verdict_word(f)) == "AUTH_FAILED");
  BOOST_TEST(std::string(kind_name(f.kind)) == "auth");
  BOOST_TEST(f.detail.find("configure OAuth 2.0") != std::string::npos);
  Reply r2{550, "5.7.30", {"5.7.30 Basic authentication is not supported for Client Submission."}};
  BOOST_TEST(from_reply(Stage::auth, r2).detail.find("configure OAuth 2.0") != std::string::npos);
  Reply other{535, "5.7.8", {"5.7.8 Authentication credentials invalid"}};
  BOOST_TEST(from_reply(Stage::auth, other).detail.find("OAuth") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(check_rules_for_oauth) {
  auto diag = [](const std::string& xml) {
    ResolveEnv env;
    env.config_dir = "/nonexistent";
    env.host_fqdn = "h.example";
    env.getenv = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
    RawLayer db = layer_from_db_rows("db:ILL", {{"EMailSMTPServer", "relay.example"}});
    RawLayer none, smtp;
    RawLayer site = parse_mail_settings("<MailSettings>\n" + xml + "</MailSettings>\n", "ACME.config");
    SiteLayers l{&db, &none, &smtp, &site};
    std::string out;
    for (const auto& d : resolve_site("ACME", l, env).diagnostics) out += d.to_line() + "\n";
    return out;
  };
  BOOST_TEST(diag("<User>u</User>\n<OAuthTokenUrl>http://idp/t</OAuthTokenUrl>\n<OAuthClientId>c</OAuthClientId>\n")
                 .find("ACME.config:3: OAuthTokenUrl: error: must be an https:// URL") != std::string::npos);
  BOOST_TEST(
      diag("<User>u</User>\n<OAuthProvider>google</OAuthProvider>\n")
          .find(
              "ACME.config: OAuthClientId: error: a token endpoint is used (implied by OAuthProvider google) but OAuthClientId is empty") !=
      std::string::npos);
  BOOST_TEST(diag("<User>u</User>\n<AuthMethod>OAUTHBEARER</AuthMethod>\n")
                 .find("ACME.config:3: AuthMethod: error: OAUTHBEARER needs an OAuthToken or a token endpoint") !=
             std::string::npos);
  BOOST_TEST(diag("<User>u</User>\n<OAuthProvider>google</OAuthProvider>\n<OAuthClientId>c</OAuthClientId>\n").find("error") ==
             std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
