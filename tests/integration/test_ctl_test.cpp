// test_ctl_test.cpp — `sitemailctl test` from outside, against real relays: the verdict
// line and exit code of CONTRACT §5, --send-to, and a transcript without credentials.
#include <boost/test/unit_test.hpp>

#include "peers.hpp"
#include "support.hpp"

using namespace sitemail::test;

namespace {

struct Site {
  TestDb db{"ctl_test"};
  TempDir dir{"ctl_test"};
  Site() { BOOST_REQUIRE(run(cmd("db migrate")).code == 0); }
  std::string cmd(const std::string& args) const {
    return ctl() + " --database " + db.quoted() + " --config-dir " + dir.path() + " " + args;
  }
  RunResult operator()(const std::string& args) const { return run(cmd(args)); }
  void file(const std::string& xml) const { dir.write("ACME.config", "<MailSettings>" + xml + "</MailSettings>"); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(ctl_test_verdicts)

BOOST_AUTO_TEST_CASE(ok_with_send_to_and_a_redacted_transcript) {
  PyRelay relay("--user alice:s3cret --mechs PLAIN");
  Site s;
  s.file(
      "<Host>127.0.0.1</Host><EMailSMTPPort>" + std::to_string(relay.port()) +
      "</EMailSMTPPort><From>ill@acme.example</From><User>alice</User><Password>s3cret</Password><AuthMethod>PLAIN</AuthMethod>");
  auto r = s("test --site ACME --send-to someone@dest.example --transcript");
  BOOST_TEST(r.code == 0, r.out << r.err);
  BOOST_TEST(r.out.find("OK Test connection complete. site=ACME relay=127.0.0.1:" + std::to_string(relay.port()) +
                        " tls=no auth=PLAIN sent=<sitemail.") != std::string::npos,
             r.out);
  // Every line of the EHLO reply, not only the first: the AUTH list appears.
  BOOST_TEST(r.out.find("S: 250-") != std::string::npos, r.out);
  BOOST_TEST(r.out.find("S: 250-AUTH PLAIN") != std::string::npos, r.out);
  // Progress on stderr while it works.
  BOOST_TEST(
      r.err.find("sitemailctl: test: connecting to 127.0.0.1:" + std::to_string(relay.port()) + " ...\n") != std::string::npos,
      r.err);
  BOOST_TEST(r.err.find("waiting for the greeting ...") != std::string::npos, r.err);
  BOOST_TEST(r.out.find("C: AUTH PLAIN <redacted>") != std::string::npos, r.out);
  BOOST_TEST(r.out.find("s3cret") == std::string::npos);
  BOOST_TEST(r.out.find(sitemail::test::shell_quote("s3cret")) == std::string::npos);
  auto got = relay.received();
  BOOST_REQUIRE_EQUAL(got.size(), 1u);
  BOOST_TEST(got[0].rcpt_tos == std::vector<std::string>{"someone@dest.example"});
  auto quiet = s("test --site ACME");
  BOOST_TEST(quiet.code == 0);
  BOOST_TEST(quiet.out.find('\n') == quiet.out.size() - 1);  // one line
  BOOST_TEST(relay.received().size() == 1u);                 // without --send-to nothing is sent
}

BOOST_AUTO_TEST_CASE(failure_verdicts_and_exit_codes) {
  PyRelay relay("--user alice:s3cret --mechs PLAIN");
  Site s;
  const std::string relay_port = std::to_string(relay.port());
  struct Case {
    std::string xml, verdict;
  };
  const Case cases[] = {
      {"<Host>127.0.0.1</Host><EMailSMTPPort>" + std::to_string(free_port()) + "</EMailSMTPPort>",
       "CONNECT_FAILED SMTP server connection failed. Check server url or port."},
      {"<Host>127.0.0.1</Host><EMailSMTPPort>" + relay_port +
           "</EMailSMTPPort><User>alice</User><Password>bad</Password><AuthMethod>PLAIN</AuthMethod>",
       "AUTH_FAILED SMTP login failed. Check server login or password."},
      {"<Host>127.0.0.1</Host><EMailSMTPPort>" + relay_port + "-starttls</EMailSMTPPort>", "TLS_FAILED "},
      {"<Host>127.0.0.1</Host><EMailSMTPPort>" + relay_port +
           "</EMailSMTPPort><FirewallType>fwSOCKS5</FirewallType>"
           "<FirewallHost>127.0.0.1</FirewallHost><FirewallPort>" +
           std::to_string(free_port()) + "</FirewallPort>",
       "PROXY_FAILED "},
      {"<Host>127.0.0.1</Host><SslStartMode>sslFoo</SslStartMode>",
       "CONFIG_INVALID ACME.config:1: SslStartMode: error: 'sslFoo'"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.verdict) {
      s.file(c.xml);
      auto r = s("test --site ACME");
      BOOST_TEST(r.code == 1);
      BOOST_TEST(r.out.find(c.verdict) == 0u, r.out << r.err);
    }
  }
  SmtpSink rejecting("-f rcpt");
  s.file("<Host>127.0.0.1</Host><EMailSMTPPort>" + std::to_string(rejecting.port()) + "</EMailSMTPPort><From>a@b.example</From>");
  auto rej = s("test --site ACME --send-to x@dest.example");
  BOOST_TEST(rej.code == 1);
  BOOST_TEST(rej.out.find("REJECTED ") == 0u, rej.out);
  BOOST_TEST(s("test").code == 2);  // needs --site
}

BOOST_AUTO_TEST_CASE(auth_refused_in_clear_is_not_called_a_wrong_password) {
  PyRelay relay("--user alice:s3cret --mechs PLAIN,LOGIN");
  Site s;
  s.file("<Host>127.0.0.1</Host><EMailSMTPPort>" + std::to_string(relay.port()) +
         "</EMailSMTPPort><User>alice</User><Password>s3cret</Password>");
  auto r = s("test --site ACME");
  BOOST_TEST(r.code == 1);
  BOOST_TEST(
      r.out.find("AUTH_FAILED AUTH not attempted, no password was sent. (auth: the relay offers only clear-text AUTH") == 0u,
      r.out);
  BOOST_TEST(relay.auth_log().empty(), relay.auth_log());  // the relay saw no AUTH at all
}

BOOST_AUTO_TEST_CASE(a_relay_that_demands_a_client_certificate_is_tls_failed) {
  // aiosmtpd with CERT_REQUIRED: the TLS 1.3 handshake ends in a certificate_required alert.
  PyRelay relay("--tls starttls --cert " + certs_dir() + "/relay.pem --key " + certs_dir() + "/relay.key --client-ca " +
                certs_dir() + "/ca.pem");
  Site s;
  s.file("<Host>127.0.0.1</Host><EMailSMTPPort>" + std::to_string(relay.port()) + "-starttls</EMailSMTPPort><SslCaFile>" +
         certs_dir() + "/ca.pem</SslCaFile>");
  auto r = s("test --site ACME");
  BOOST_TEST(r.code == 1);
  BOOST_TEST(r.out.find("TLS_FAILED ") == 0u, r.out << r.err);
  BOOST_TEST(r.out.find("client certificate") != std::string::npos, r.out);
  // With the certificate configured, the same relay is OK.
  s.file("<Host>127.0.0.1</Host><EMailSMTPPort>" + std::to_string(relay.port()) + "-starttls</EMailSMTPPort><SslCaFile>" +
         certs_dir() + "/ca.pem</SslCaFile><SslCertStoreType>sstUser</SslCertStoreType><SslCertStore>" + certs_dir() +
         "/client.pem</SslCertStore>");
  auto ok = s("test --site ACME");
  BOOST_TEST(ok.code == 0, ok.out << ok.err);
  BOOST_TEST(ok.out.find("OK Test connection complete. site=ACME") == 0u, ok.out);
}

BOOST_AUTO_TEST_CASE(a_relay_that_never_greets_shows_progress_and_honours_timeout) {
  SmtpSink silent("-W connect:30");  // accepts, then says nothing for 30 s
  Site s;
  s.file("<Host>127.0.0.1</Host><EMailSMTPPort>" + std::to_string(silent.port()) + "</EMailSMTPPort><Timeout>60</Timeout>");
  auto r = s("test --site ACME --timeout 2");
  BOOST_TEST(r.code == 1);
  BOOST_TEST(r.out.find("FAILED Test connection failed. (greeting: read failed during greeting: timed out after 2 s)") == 0u,
             r.out);
  BOOST_TEST(r.err.find("waiting for the greeting ...") != std::string::npos, r.err);
  BOOST_TEST(s("test --site ACME --timeout soon").code == 2);
}

BOOST_AUTO_TEST_SUITE_END()
