// test_admin_truth.cpp — what the admin sees must be the whole truth, on one line each:
// printable() for text listings, log values with control characters escaped, every line
// of a multi-line reply in the transcript, and the `sitemailctl test` verdict lines of
// server/smtp/outcome.cpp (AUTH not attempted, client certificate demanded, FAILED).
#include <boost/test/unit_test.hpp>

#include "log.hpp"
#include "mail_settings_file.hpp"
#include "resolver.hpp"
#include "session.hpp"
#include "site_settings.hpp"
#include "text_util.hpp"

using namespace sitemail;
using namespace sitemail::smtp;

namespace {

std::shared_ptr<const EffectiveSettings> site(const std::string& body) { return test::site_settings(body); }

// Drives a session with scripted server replies; a STARTTLS handshake "succeeds" at once.
Session::Action drive(Session& s, const std::vector<std::string>& replies) {
  std::size_t next = 0;
  while (true) {
    auto a = s.next();
    if (a == Session::Action::write) (void)s.take_output();
    else if (a == Session::Action::start_tls) s.on_tls_started();
    else if (a == Session::Action::read && next < replies.size()) s.on_bytes(replies[next++]);
    else return a;
  }
}

SessionParams with_transcript(const EffectiveSettings& s) {
  auto p = session_params(s);
  p.keep_transcript = true;
  return p;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(admin_truth)

BOOST_AUTO_TEST_CASE(printable_escapes_every_control_character) {
  BOOST_TEST(printable("plain text, 1 = 1") == "plain text, 1 = 1");
  BOOST_TEST(printable("Subject\nX-Fake: line\r\n") == "Subject\\nX-Fake: line\\r\\n");
  BOOST_TEST(printable(std::string("a\tb\x01\x7f"
                                   "c",
                                   6)) == "a\\tb\\x01\\x7fc");
  BOOST_TEST(printable("Überweisung") == "Überweisung");  // UTF-8 is text, not control
}

BOOST_AUTO_TEST_CASE(log_values_keep_one_event_on_one_line) {
  BOOST_TEST(log::quote_value("ACME") == "ACME");
  BOOST_TEST(log::quote_value("") == "\"\"");
  // PostgreSQL's multi-line errors were logged as "??"; now they read as written.
  BOOST_TEST(log::quote_value("connection to server failed: FATAL:  no such database\n\tDETAIL: x\n") ==
             "\"connection to server failed: FATAL:  no such database\\n\\tDETAIL: x\\n\"");
  BOOST_TEST(log::quote_value("say \"hi\" \\ there") == "\"say \\\"hi\\\" \\\\ there\"");
  BOOST_TEST(log::quote_value(std::string("bell\x07", 5)) == "\"bell\\x07\"");
}

BOOST_AUTO_TEST_CASE(transcript_shows_every_line_of_a_multi_line_reply) {
  Session s(with_transcript(*site("")));
  BOOST_TEST(
      (drive(s, {"220 relay ESMTP\r\n", "250-relay.example\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n"}) ==
       Session::Action::ready));
  const auto& t = s.transcript();
  const std::vector<std::string> want = {"S: 220 relay ESMTP", "C: EHLO client.example", "S: 250-relay.example",
                                         "S: 250-PIPELINING",  "S: 250-STARTTLS",        "S: 250 AUTH PLAIN LOGIN"};
  BOOST_TEST(t == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(auth_not_attempted_in_clear_is_not_a_wrong_password) {
  Session s(with_transcript(*site("<User>u</User><Password>p</Password>")));
  BOOST_TEST((drive(s, {"220 x\r\n", "250-x\r\n250 AUTH PLAIN LOGIN\r\n"}) == Session::Action::failed));
  const auto line = verdict_line(s.failure());
  BOOST_TEST(line.starts_with("AUTH_FAILED AUTH not attempted, no password was sent. (auth: "), line);
  BOOST_TEST(line.find("clear") != std::string::npos, line);
  BOOST_TEST(line.find("Check server login or password") == std::string::npos, line);
  // A relay that refused the password is the other case.
  Session wrong(with_transcript(*site("<EMailSMTPPort>465-ssl</EMailSMTPPort><User>u</User><Password>p</Password>")));
  BOOST_TEST(
      (drive(wrong, {"220 x\r\n", "250-x\r\n250 AUTH PLAIN\r\n", "535 5.7.8 bad credentials\r\n"}) == Session::Action::failed));
  BOOST_TEST(verdict_line(wrong.failure()).starts_with("AUTH_FAILED SMTP login failed. Check server login or password. ("));
}

BOOST_AUTO_TEST_CASE(postfix_demanding_a_client_certificate_is_tls_failed) {
  // Postfix with smtpd_tls_req_ccert = yes answers the EHLO after STARTTLS like this.
  Session s(with_transcript(*site("<EMailSMTPPort>25-starttls</EMailSMTPPort>")));
  BOOST_TEST((drive(s, {"220 x ESMTP Postfix\r\n", "250-x\r\n250 STARTTLS\r\n", "220 2.0.0 Ready to start TLS\r\n",
                        "421 4.7.1 relay.test Error: No client certificate presented\r\n"}) == Session::Action::failed));
  BOOST_TEST(std::string(verdict_word(s.failure())) == "TLS_FAILED");
  const auto line = verdict_line(s.failure());
  BOOST_TEST(line.find("client certificate") != std::string::npos, line);
  BOOST_TEST(line.find("No client certificate presented") != std::string::npos, line);
  // aiosmtpd (asyncio) just closes the connection after the handshake: also TLS_FAILED.
  Session closed(with_transcript(*site("<EMailSMTPPort>25-starttls</EMailSMTPPort>")));
  BOOST_TEST((drive(closed, {"220 x\r\n", "250-x\r\n250 STARTTLS\r\n", "220 go ahead\r\n"}) == Session::Action::read));
  closed.on_eof();
  BOOST_TEST(std::string(verdict_word(closed.failure())) == "TLS_FAILED");
  BOOST_TEST(closed.failure().detail.find("right after the TLS handshake, before answering ehlo") != std::string::npos,
             closed.failure().detail);
  // A TLS 1.3 server sends a certificate_required alert, seen at the first read.
  auto alert = network_failure(Stage::message, "read failed during ehlo: tlsv13 alert certificate required (SSL routines)");
  BOOST_TEST(std::string(verdict_word(alert)) == "TLS_FAILED");
  // Anything else unexplained stays FAILED, with the seed's words.
  auto other = network_failure(Stage::greeting, "read failed during greeting: timed out after 5 s");
  BOOST_TEST(verdict_line(other) ==
             "FAILED Test connection failed. (greeting: read failed during greeting: timed out after 5 s)");
}

BOOST_AUTO_TEST_SUITE_END()
