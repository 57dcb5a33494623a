// test_values.cpp — table-driven parsing of every setting type and every catalogue row:
// names, aliases, booleans, enums by name and number, ports with DataMiner suffixes,
// seconds, addresses, headers, certificate pins and env:/file: secret indirection.
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <fstream>

#include "catalogue.hpp"
#include "value.hpp"

using namespace sitemail;

namespace {

struct Case {
  const char* name;
  Setting setting;
  const char* raw;
  bool ok;
  const char* expect;  // formatted value when ok, a substring of the error otherwise
};

ParseContext env_ctx() {
  ParseContext c;
  c.config_dir = "/nonexistent";
  c.getenv = [](const std::string& n) -> std::optional<std::string> {
    if (n == "SITEMAIL_TEST_PW") return std::string("s3cret");
    return std::nullopt;
  };
  return c;
}

const Case kCases[] = {
    {"bool Yes", Setting::EMailSecure, "Yes", true, "Yes"},
    {"bool no lowercase", Setting::EMailSecure, "no", true, "No"},
    {"bool true", Setting::AllowExtensions, "true", true, "Yes"},
    {"bool FALSE", Setting::AllowExtensions, "FALSE", true, "No"},
    {"bool 1", Setting::EMailSecure, "1", true, "Yes"},
    {"bool 0 with spaces", Setting::EMailSecure, "  0 ", true, "No"},
    {"bool junk", Setting::EMailSecure, "maybe", false, "'maybe' is not a boolean"},
    {"bool 2", Setting::EMailSecure, "2", false, "is not a boolean"},
    {"enum by name", Setting::SslStartMode, "sslExplicit", true, "sslExplicit"},
    {"enum by name any case", Setting::SslStartMode, "SSLIMPLICIT", true, "sslImplicit"},
    {"enum by number", Setting::SslStartMode, "3", true, "sslNone"},
    {"enum opportunistic", Setting::SslStartMode, "sslOpportunistic", true, "sslOpportunistic"},
    {"enum wrong name suggests", Setting::SslStartMode, "sslExplict", false, "did you mean sslExplicit?"},
    {"enum wrong lists choices", Setting::SslStartMode, "sslFoo", false,
     "'sslFoo' is not one of sslAutomatic(0), sslImplicit(1), sslExplicit(2), sslNone(3), sslOpportunistic(4)"},
    {"enum out of range number", Setting::SslStartMode, "9", false, "is not one of"},
    {"store type PFX file", Setting::SslCertStoreType, "sstPFXFile", true, "sstPFXFile"},
    {"store type by number", Setting::SslCertStoreType, "4", true, "sstPEMKey"},
    {"firewall SOCKS5", Setting::FirewallType, "fwSOCKS5", true, "fwSOCKS5"},
    {"firewall SOCKS4A", Setting::FirewallType, "fwsocks4a", true, "fwSOCKS4A"},
    {"firewall by number", Setting::FirewallType, "1", true, "fwTunnel"},
    {"auth IPWorks name", Setting::AuthMethod, "amCRAMMD5", true, "CramMD5Method"},
    {"auth SASL name", Setting::AuthMethod, "PLAIN", true, "LoginPlainMethod"},
    {"auth amUserPassword", Setting::AuthMethod, "amUserPassword", true, "AuthLoginMethod"},
    {"auth xoauth2", Setting::AuthMethod, "xoauth2", true, "XOAUTH2"},
    {"auth unknown", Setting::AuthMethod, "Kerberos", false, "is not one of"},
    {"port plain", Setting::EMailSMTPPort, "587", true, "587"},
    {"port ssl suffix", Setting::EMailSMTPPort, "465-ssl", true, "465-ssl"},
    {"port starttls suffix", Setting::EMailSMTPPort, "587-STARTTLS", true, "587-starttls"},
    {"port nossl suffix", Setting::EMailSMTPPort, "25-nossl", true, "25-nossl"},
    {"port 0", Setting::EMailSMTPPort, "0", false, "port 0 is out of range 1-65535"},
    {"port 70000", Setting::EMailSMTPPort, "70000", false, "port 70000 is out of range 1-65535"},
    {"port bad suffix", Setting::EMailSMTPPort, "587-foo", false,
     "unknown port suffix 'foo' in '587-foo' (expected -ssl, -starttls or -nossl)"},
    {"port not a number", Setting::EMailSMTPPort, "smtp", false, "'smtp' is not a port number"},
    {"port empty", Setting::EMailSMTPPort, "", false, "is not a port number"},
    {"firewall port 0 means auto", Setting::FirewallPort, "0", true, "0"},
    {"firewall port no suffix", Setting::FirewallPort, "1080-ssl", false, "only allowed on EMailSMTPPort"},
    {"seconds", Setting::Timeout, "120", true, "120"},
    {"seconds zero", Setting::Timeout, "0", true, "0"},
    {"seconds negative", Setting::Timeout, "-5", false, "out of range 0-86400"},
    {"seconds text", Setting::Timeout, "1m", false, "'1m' is not a whole number of seconds"},
    {"count max connections 0", Setting::MaxConnections, "0", false, "out of range 1-100"},
    {"count subject length", Setting::MaxSubjectLength, "78", true, "78"},
    {"host name", Setting::EMailSMTPServer, "smtp.example.org", true, "smtp.example.org"},
    {"host ipv4", Setting::EMailSMTPServer, " 192.0.2.1 ", true, "192.0.2.1"},
    {"host ipv6 literal", Setting::EMailSMTPServer, "[2001:db8::1]", true, "[2001:db8::1]"},
    {"host with space", Setting::EMailSMTPServer, "smtp example", false, "is not a host name or IP address"},
    {"host with CR", Setting::EMailSMTPServer, "smtp\rexample", false, "is not a host name"},
    {"host empty parses", Setting::EMailSMTPServer, "", true, ""},
    {"address", Setting::EMailFromAddress, "ill@library.example", true, "ill@library.example"},
    {"address without at", Setting::EMailFromAddress, "library.example", false, "is not a mail address"},
    {"address with angle", Setting::EMailFromAddress, "<a@b.example>", false, "is not a mail address"},
    {"address with CRLF injection", Setting::EMailFromAddress, "a@b.example\r\nRCPT TO:<x@y>", false, "is not a mail address"},
    {"from name", Setting::EMailFromName, "Interlibrary Loan", true, "Interlibrary Loan"},
    {"from name with LF", Setting::EMailFromName, "ILL\nBcc: x@y", false, "control characters"},
    {"headers one", Setting::OtherHeaders, "X-Site: ACME", true, "X-Site: ACME"},
    {"headers two", Setting::OtherHeaders, "X-A: 1\r\nX-B: 2", true, "X-A: 1\\nX-B: 2"},
    {"headers bad line", Setting::OtherHeaders, "X-A: 1\nnot a header", false,
     "header line 2 'not a header' is not 'Name: value'"},
    {"pin star", Setting::SslAcceptServerCert, "*", true, "*"},
    {"pin fingerprint colons", Setting::SslAcceptServerCert,
     "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89", true,
     "sha256:abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"},
    {"pin short fingerprint", Setting::SslAcceptServerCert, "abcd", false, "64 hex digits"},
    {"pin garbage", Setting::SslAcceptServerCert, "not a cert!", false, "not '*', a SHA-256 fingerprint"},
    {"secret literal", Setting::SMTPPassword, "hunter2", true, "(set)"},
    {"secret empty", Setting::SMTPPassword, "", true, "(empty)"},
    {"secret env set", Setting::SMTPPassword, "env:SITEMAIL_TEST_PW", true, "(set)"},
    {"secret env unset", Setting::SMTPPassword, "env:SITEMAIL_NO_SUCH_VAR", false,
     "environment variable SITEMAIL_NO_SUCH_VAR is not set"},
    {"secret env empty name", Setting::FirewallPassword, "env:", false, "env: needs a variable name"},
    {"secret file missing", Setting::OAuthToken, "file:/nonexistent/token", false, "cannot read secret file /nonexistent/token"},
    {"secret file relative to config dir", Setting::SslCertStorePassword, "file:pw.txt", false,
     "cannot read secret file /nonexistent/pw.txt"},
};

}  // namespace

BOOST_AUTO_TEST_SUITE(values)

BOOST_AUTO_TEST_CASE(every_case_of_the_table) {
  const auto ctx = env_ctx();
  for (const auto& c : kCases) {
    BOOST_TEST_CONTEXT("case '" << c.name << "' raw='" << c.raw << "'") {
      auto r = parse_value(def(c.setting), c.raw, ctx);
      BOOST_TEST(r.value.has_value() == c.ok);
      if (c.ok && r.value) BOOST_TEST(format_value(def(c.setting), *r.value) == c.expect);
      if (!c.ok) BOOST_TEST(r.error.find(c.expect) != std::string::npos, "error was: " << r.error);
    }
  }
}

BOOST_AUTO_TEST_CASE(secret_values_are_resolved_but_never_formatted) {
  auto r = parse_value(def(Setting::SMTPPassword), "env:SITEMAIL_TEST_PW", env_ctx());
  BOOST_REQUIRE(r.value);
  BOOST_TEST(r.value->text == "s3cret");
  BOOST_TEST(r.value->indirection == "env:SITEMAIL_TEST_PW");
  BOOST_TEST(format_value(def(Setting::SMTPPassword), *r.value) == "(set)");
  BOOST_TEST(format_raw(def(Setting::SMTPPassword), "hunter2") == "(set)");
  BOOST_TEST(format_raw(def(Setting::SMTPPassword), "env:X") == "env:X");
}

BOOST_AUTO_TEST_CASE(secret_from_file_strips_the_final_newline) {
  const std::string path = "/tmp/sitemail_unit_secret_" + std::to_string(getpid()) + ".txt";  // per process
  std::ofstream(path) << "tok3n\n";
  auto r = parse_value(def(Setting::OAuthToken), "file:" + path, env_ctx());
  std::remove(path.c_str());
  BOOST_REQUIRE(r.value);
  BOOST_TEST(r.value->text == "tok3n");
}

BOOST_AUTO_TEST_CASE(keys_set_checks_indirection_syntax_without_reading_it) {
  ParseContext c = env_ctx();
  c.resolve_secrets = false;
  BOOST_TEST(parse_value(def(Setting::SMTPPassword), "env:NOT_SET_HERE", c).value.has_value());
  BOOST_TEST(!parse_value(def(Setting::SMTPPassword), "env:", c).value.has_value());
}

BOOST_AUTO_TEST_CASE(headers_with_leading_empty_line_replace_the_computed_ones) {
  auto r = parse_value(def(Setting::OtherHeaders), "\r\nFrom: a@b.example\r\nTo: c@d.example", env_ctx());
  BOOST_REQUIRE(r.value);
  BOOST_TEST(r.value->number == 1);
  BOOST_TEST(r.value->text == "\nFrom: a@b.example\nTo: c@d.example");
}

BOOST_AUTO_TEST_CASE(pin_star_warns) {
  auto r = parse_value(def(Setting::SslAcceptServerCert), "*", env_ctx());
  BOOST_TEST(r.warning.find("not verified") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(every_default_parses_and_every_name_and_alias_is_found) {
  for (const auto& d : catalogue()) {
    BOOST_TEST_CONTEXT(d.name) {
      auto r = parse_value(d, d.default_text, ParseContext{});
      BOOST_TEST(r.value.has_value(), "default '" << d.default_text << "': " << r.error);
      BOOST_TEST((find_setting(d.name) == d.id));
      BOOST_TEST((find_setting(std::string(d.name) + " ") == d.id));
      for (auto a : d.aliases) BOOST_TEST((find_setting(a) == d.id), "alias " << a);
      BOOST_TEST(!d.doc.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(names_match_case_insensitively) {
  BOOST_TEST((find_setting("emailsecure") == Setting::EMailSecure));
  BOOST_TEST((find_setting("EmailSecure") == Setting::EMailSecure));
  BOOST_TEST((find_setting("HOSTPORT") == Setting::EMailSMTPPort));
  BOOST_TEST((find_setting("loginmethod") == Setting::AuthMethod));
  BOOST_TEST(!find_setting("EMailSecur").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
