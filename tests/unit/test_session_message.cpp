// test_session_message.cpp — the sans-io SMTP session driven with scripted server bytes
// (EHLO/HELO fallback, PIPELINING, per-recipient results, STARTTLS rules and the injection
// check, AUTH, RSET only after a transaction left open) and message building (headers, RFC 2047, subject
// limit, control characters, CRLF normalisation and dot-stuffing against smuggling).
#include <boost/test/unit_test.hpp>

#include "mail_settings_file.hpp"
#include "resolver.hpp"
#include "session.hpp"
#include "site_settings.hpp"

using namespace sitemail;
using namespace sitemail::smtp;

namespace {

std::shared_ptr<const EffectiveSettings> settings(const std::string& body) { return test::site_settings(body); }

SessionParams params(const EffectiveSettings& s) {
  auto p = session_params(s);
  p.keep_transcript = true;
  return p;
}

// Runs the session: answers each read with the next scripted chunk; returns all bytes written.
struct Script {
  Script(Session session, std::vector<std::string> chunks) : s(std::move(session)), server(std::move(chunks)) {}
  Session s;
  std::vector<std::string> server;
  std::size_t next_chunk = 0;
  std::string written;
  Session::Action run() {
    while (true) {
      auto a = s.next();
      if (a == Session::Action::write) {
        written += s.take_output();
      } else if (a == Session::Action::read) {
        if (next_chunk == server.size()) return a;
        s.on_bytes(server[next_chunk++]);
      } else {
        return a;
      }
    }
  }
};

BuiltMessage simple_message(std::vector<std::string> rcpts = {"a@x.example"}) {
  return make_built("ill@lib.example", std::move(rcpts), "Subject: t\r\n\r\nhello\r\n", "<1@lib.example>");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(session)

BOOST_AUTO_TEST_CASE(pipelined_transaction_with_a_refused_recipient) {
  Script t{Session(params(*settings(""))), {"220 relay ESMTP\r\n", "250-relay\r\n250-PIPELINING\r\n250 SIZE 1000\r\n"}};
  BOOST_TEST((t.run() == Session::Action::ready));
  BOOST_TEST(t.written == "EHLO client.example\r\n");
  auto m = simple_message({"a@x.example", "bad@x.example"});
  t.s.send(m);
  t.server.push_back("250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no such user\r\n");
  t.server.push_back("354 go\r\n");
  t.server.push_back("250 2.0.0 queued as X\r\n");
  BOOST_TEST((t.run() == Session::Action::message_done));
  BOOST_TEST(t.written.find("MAIL FROM:<ill@lib.example> SIZE=21\r\nRCPT TO:<a@x.example>\r\nRCPT TO:<bad@x.example>\r\n") !=
                 std::string::npos,
             t.written);
  // DATA goes in the same group as MAIL and RCPT (RFC 2920 §3.1): one write, two round trips
  BOOST_TEST(t.written.ends_with("RCPT TO:<bad@x.example>\r\nDATA\r\nSubject: t\r\n\r\nhello\r\n.\r\n"));
  const auto& r = t.s.message_result();
  BOOST_TEST(r.delivered());
  BOOST_REQUIRE_EQUAL(r.recipients.size(), 2u);
  BOOST_TEST(r.recipients[0].accepted);
  BOOST_TEST(!r.recipients[1].accepted);
  BOOST_TEST(r.recipients[1].reply == "550 5.1.1 no such user");
  BOOST_TEST(r.reply == "250 2.0.0 queued as X");
  // second message on the same connection: the first one ended cleanly, so no RSET
  BOOST_TEST((t.run() == Session::Action::ready));
  const auto before = t.written.size();
  t.s.send(m);
  t.server.push_back("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n250 ok\r\n");
  BOOST_TEST((t.run() == Session::Action::message_done));
  BOOST_TEST(t.written.substr(before).starts_with("MAIL FROM:<ill@lib.example>"), t.written.substr(before));
  BOOST_TEST(t.written.find("RSET") == std::string::npos);
  BOOST_TEST(t.s.message_result().delivered());
}

BOOST_AUTO_TEST_CASE(the_next_envelope_rides_with_the_content_one_round_trip_per_message) {
  Script t{Session(params(*settings(""))), {"220 relay ESMTP\r\n", "250-relay\r\n250 PIPELINING\r\n"}};
  BOOST_TEST((t.run() == Session::Action::ready));
  auto m1 = simple_message({"a@x.example"});
  auto m2 =
      make_built("ill@lib.example", std::vector<std::string>{"b@x.example"}, "Subject: two\r\n\r\nsecond\r\n", "<2@lib.example>");
  t.s.prefetch(m2);
  t.s.send(m1);
  BOOST_TEST((t.run() == Session::Action::read));  // m1's envelope written
  auto at = t.written.size();
  t.server.push_back("250 ok\r\n250 ok\r\n354 go\r\n");
  BOOST_TEST((t.run() == Session::Action::read));
  // m1's content, then m2's envelope, in one write
  BOOST_TEST(t.written.substr(at) ==
             "Subject: t\r\n\r\nhello\r\n.\r\nMAIL FROM:<ill@lib.example>\r\nRCPT TO:<b@x.example>\r\nDATA\r\n");
  // the replies for both come in one read
  t.server.push_back("250 queued 1\r\n250 ok\r\n250 ok\r\n354 go\r\n");
  BOOST_TEST((t.run() == Session::Action::message_done));
  BOOST_TEST(t.s.message_result().delivered());
  BOOST_TEST(t.s.message_result().reply == "250 queued 1");  // m2's replies did not touch m1's result
  BOOST_TEST(t.s.prefetched(m2));
  BOOST_TEST((t.run() == Session::Action::ready));
  at = t.written.size();
  t.s.send(m2);  // its MAIL, RCPT and 354 are already here: its content goes out at once
  t.server.push_back("250 queued 2\r\n");
  BOOST_TEST((t.run() == Session::Action::message_done));
  BOOST_TEST(t.written.substr(at) == "Subject: two\r\n\r\nsecond\r\n.\r\n");
  BOOST_TEST(t.s.message_result().delivered());
  BOOST_TEST(t.s.message_result().reply == "250 queued 2");
  BOOST_REQUIRE_EQUAL(t.s.message_result().recipients.size(), 1u);
  BOOST_TEST(t.s.message_result().recipients[0].address == "b@x.example");
  BOOST_TEST(t.s.messages_sent() == 2);
}

BOOST_AUTO_TEST_CASE(a_pending_envelope_is_never_closed_with_an_empty_message) {
  // The relay refuses the first message's content; the next envelope is already out and
  // its transaction is valid. Quitting instead of sending it drops the connection: a lone
  // dot would deliver an empty message.
  Script t{Session(params(*settings(""))), {"220 relay ESMTP\r\n", "250-relay\r\n250 PIPELINING\r\n"}};
  t.run();
  auto m1 = simple_message({"a@x.example"});
  auto m2 = simple_message({"b@x.example"});
  t.s.prefetch(m2);
  t.s.send(m1);
  t.server.push_back("250 ok\r\n250 ok\r\n354 go\r\n");
  t.server.push_back("554 5.7.1 content rejected\r\n250 ok\r\n250 ok\r\n354 go\r\n");
  BOOST_TEST((t.run() == Session::Action::message_done));
  BOOST_TEST(!t.s.message_result().delivered());
  BOOST_TEST(t.s.prefetched(m2));
  t.run();
  const auto at = t.written.size();
  t.s.quit();
  BOOST_TEST((t.run() == Session::Action::failed));
  BOOST_TEST(t.written.substr(at).empty(), t.written.substr(at));  // no QUIT, no dot
  // and a message offered but not prefetched (the content never went out) is forgotten
  Script u{Session(params(*settings(""))), {"220 relay ESMTP\r\n", "250-relay\r\n250 PIPELINING\r\n"}};
  u.run();
  u.s.prefetch(m2);
  u.s.send(m1);
  u.server.push_back("550 no such sender\r\n503 need MAIL\r\n503 need MAIL\r\n");
  BOOST_TEST((u.run() == Session::Action::message_done));
  BOOST_TEST(!u.s.prefetched(m2));
}

BOOST_AUTO_TEST_CASE(pipelined_data_after_every_recipient_refused_sends_a_lone_dot_then_rset) {
  Script t{Session(params(*settings(""))), {"220 relay ESMTP\r\n", "250-relay\r\n250 PIPELINING\r\n"}};
  BOOST_TEST((t.run() == Session::Action::ready));
  auto m = simple_message({"a@x.example", "b@x.example"});
  t.s.send(m);
  // a relay that accepts DATA although it refused every recipient
  t.server.push_back("250 ok\r\n550 5.1.1 no\r\n550 5.1.1 no\r\n354 go\r\n");
  t.server.push_back("554 5.5.1 no valid recipients\r\n");
  BOOST_TEST((t.run() == Session::Action::message_done));
  BOOST_TEST(t.written.ends_with("DATA\r\n.\r\n"), t.written);  // no content was sent
  BOOST_TEST(t.written.find("hello") == std::string::npos);
  const auto& r = t.s.message_result();
  BOOST_REQUIRE(!r.delivered());
  BOOST_TEST((r.failure->kind == FailureKind::permanent));
  BOOST_TEST(r.failure->detail.find("refused every recipient") != std::string::npos, r.failure->detail);
  // the reply to that dot ended the transaction: no RSET; this time the usual answer, 554 to DATA
  BOOST_TEST((t.run() == Session::Action::ready));
  auto at = t.written.size();
  t.s.send(m);
  t.server.push_back("250 ok\r\n550 5.1.1 no\r\n550 5.1.1 no\r\n554 5.5.1 no valid recipients\r\n");
  BOOST_TEST((t.run() == Session::Action::message_done));
  BOOST_TEST(t.written.substr(at) == "MAIL FROM:<ill@lib.example>\r\nRCPT TO:<a@x.example>\r\nRCPT TO:<b@x.example>\r\nDATA\r\n");
  BOOST_TEST(!t.s.message_result().delivered());
  // after a refused DATA the relay still holds the sender: RSET first next time
  BOOST_TEST((t.run() == Session::Action::ready));
  at = t.written.size();
  t.s.send(m);
  t.server.push_back("250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n250 queued\r\n");
  BOOST_TEST((t.run() == Session::Action::message_done));
  BOOST_TEST(t.written.substr(at).starts_with("RSET\r\nMAIL FROM:"));
  BOOST_TEST(t.s.message_result().delivered());
}

BOOST_AUTO_TEST_CASE(pipelined_refused_sender_is_the_reason_not_the_data_reply) {
  Script t{Session(params(*settings(""))), {"220 relay ESMTP\r\n", "250-relay\r\n250 PIPELINING\r\n"}};
  t.run();
  auto m = simple_message();
  t.s.send(m);
  t.server.push_back("553 5.7.1 sender rejected\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n");
  BOOST_TEST((t.run() == Session::Action::message_done));
  BOOST_REQUIRE(!t.s.message_result().delivered());
  BOOST_TEST(t.s.message_result().failure->remote == "553 5.7.1 sender rejected");
  // nothing was left open: no RSET before the next message
  t.run();
  t.s.send(m);
  BOOST_TEST(t.s.take_output().starts_with("MAIL FROM:"));
}

BOOST_AUTO_TEST_CASE(ehlo_refused_falls_back_to_helo_and_helo_only_when_extensions_off) {
  Script t{Session(params(*settings(""))), {"220 old\r\n", "502 what\r\n", "250 hi\r\n"}};
  BOOST_TEST((t.run() == Session::Action::ready));
  BOOST_TEST(t.written == "EHLO client.example\r\nHELO client.example\r\n");
  Script h{Session(params(*settings("<AllowExtensions>false</AllowExtensions>"))), {"220 x\r\n", "250 hi\r\n"}};
  BOOST_TEST((h.run() == Session::Action::ready));
  BOOST_TEST(h.written == "HELO client.example\r\n");
}

BOOST_AUTO_TEST_CASE(starttls_required_but_not_offered_fails_without_sending_anything_else) {
  Script t{Session(params(*settings("<EMailSecure>Yes</EMailSecure><EMailSMTPPort>587</EMailSMTPPort>"))),
           {"220 x\r\n", "250-x\r\n250 AUTH PLAIN\r\n"}};
  BOOST_TEST((t.run() == Session::Action::failed));
  BOOST_TEST(std::string(verdict_word(t.s.failure())) == "TLS_FAILED");
  BOOST_TEST(t.written == "EHLO client.example\r\n");
}

BOOST_AUTO_TEST_CASE(starttls_injection_aborts) {
  Script t{Session(params(*settings("<EMailSecure>Yes</EMailSecure><EMailSMTPPort>587</EMailSMTPPort>"))),
           {"220 x\r\n", "250-x\r\n250 STARTTLS\r\n", "220 go ahead\r\n250 injected\r\n"}};
  BOOST_TEST((t.run() == Session::Action::failed));
  BOOST_TEST(t.s.failure().detail.find("sent data after its 220 reply to STARTTLS") != std::string::npos);
  BOOST_TEST(std::string(verdict_word(t.s.failure())) == "TLS_FAILED");
}

BOOST_AUTO_TEST_CASE(starttls_then_ehlo_again) {
  Script t{Session(params(*settings("<EMailSecure>Yes</EMailSecure><EMailSMTPPort>587</EMailSMTPPort>"))),
           {"220 x\r\n", "250-x\r\n250 STARTTLS\r\n", "220 go ahead\r\n"}};
  BOOST_TEST((t.run() == Session::Action::start_tls));
  t.s.on_tls_started();
  t.server.push_back("250-x\r\n250 AUTH PLAIN\r\n");
  BOOST_TEST((t.run() == Session::Action::ready));
  BOOST_TEST(t.written == "EHLO client.example\r\nSTARTTLS\r\nEHLO client.example\r\n");
  BOOST_TEST(t.s.tls_active());
}

BOOST_AUTO_TEST_CASE(auth_535_is_an_auth_failure_and_the_transcript_hides_credentials) {
  Script t{Session(params(*settings("<EMailSMTPPort>465-ssl</EMailSMTPPort><User>u</User><Password>s3cret</Password>"))),
           {"220 x\r\n", "250-x\r\n250 AUTH LOGIN PLAIN\r\n", "535 5.7.8 bad credentials\r\n"}};
  BOOST_TEST((t.run() == Session::Action::failed));
  BOOST_TEST((t.s.failure().kind == FailureKind::auth));
  BOOST_TEST(std::string(verdict_word(t.s.failure())) == "AUTH_FAILED");
  BOOST_TEST(t.s.failure().remote == "535 5.7.8 bad credentials");
  for (const auto& l : t.s.transcript()) BOOST_TEST(l.find("s3cret") == std::string::npos);
  BOOST_TEST(t.s.auth_mechanism() == "PLAIN");
}

BOOST_AUTO_TEST_CASE(auth_login_dialogue) {
  Script t{Session(params(*settings(
               "<EMailSMTPPort>465-ssl</EMailSMTPPort><User>u</User><Password>p</Password><AuthMethod>LOGIN</AuthMethod>"))),
           {"220 x\r\n", "250-x\r\n250 AUTH LOGIN PLAIN\r\n", "334 VXNlcm5hbWU6\r\n", "334 UGFzc3dvcmQ6\r\n", "235 ok\r\n"}};
  BOOST_TEST((t.run() == Session::Action::ready));
  BOOST_TEST(t.written == "EHLO client.example\r\nAUTH LOGIN\r\ndQ==\r\ncA==\r\n");
}

BOOST_AUTO_TEST_CASE(reply_421_or_eof_fails_the_session) {
  Script t{Session(params(*settings(""))), {"220 x\r\n", "250 x\r\n"}};
  t.run();
  auto m = simple_message();
  t.s.send(m);
  t.server.push_back("421 4.3.2 shutting down\r\n");
  BOOST_TEST((t.run() == Session::Action::failed));
  BOOST_TEST((t.s.failure().kind == FailureKind::transient));
  Script e{Session(params(*settings(""))), {}};
  e.s.on_eof();
  BOOST_TEST((e.s.next() == Session::Action::failed));
}

BOOST_AUTO_TEST_CASE(multiline_replies_and_enhanced_codes) {
  ReplyParser p;
  p.feed("250-first\r\n250-8BITMIME\r\n");
  BOOST_TEST(!p.next().has_value());
  p.feed("250 SIZE 10\r\n550 5.7.1 relay\x01 denied\r\n");
  auto a = p.next();
  BOOST_REQUIRE(a);
  BOOST_TEST(a->lines.size() == 3u);
  auto b = p.next();
  BOOST_REQUIRE(b);
  BOOST_TEST(b->enhanced == "5.7.1");
  BOOST_TEST(b->summary() == "550 5.7.1 relay? denied");
  ReplyParser bad;
  bad.feed("HTTP/1.1 400 Bad\r\n");
  BOOST_TEST(!bad.next().has_value());
  BOOST_TEST(!bad.error().empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(message)

BOOST_AUTO_TEST_CASE(headers_envelope_and_stable_message_id) {
  auto s = settings("<EMailFromName>Inter Library</EMailFromName><OtherHeaders>X-Site: T</OtherHeaders>");
  OutboxMessage m;
  m.id = 42;
  m.nvtgc = "T";
  m.to = "A <a@x.example>, b@x.example";
  m.cc = "c@x.example";
  m.bcc = "d@x.example, A@x.example";
  m.subject = "Hello";
  m.body_text = "line1\nline2";
  auto r = build_message(m, *s, 0);
  BOOST_REQUIRE(r.message);
  const auto& b = *r.message;
  BOOST_TEST(b.envelope_from == "ill@lib.example");
  BOOST_TEST(b.recipients == (std::vector<std::string>{"a@x.example", "b@x.example", "c@x.example", "d@x.example"}));
  BOOST_TEST(b.message_id == "<sitemail.42.t@lib.example>");
  BOOST_TEST(b.data.find("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\nFrom: Inter Library <ill@lib.example>\r\n"
                         "To: A <a@x.example>,\r\n b@x.example\r\nCc: c@x.example\r\nSubject: Hello\r\n"
                         "Message-ID: <sitemail.42.t@lib.example>\r\nX-Site: T\r\nMIME-Version: 1.0\r\n") == 0u,
             b.data);
  BOOST_TEST(b.data.find("Bcc") == std::string::npos);
  BOOST_TEST(b.data.ends_with("\r\n\r\nline1\r\nline2\r\n"));
  BOOST_TEST(build_message(m, *s, 0).message->message_id == b.message_id);
}

BOOST_AUTO_TEST_CASE(non_ascii_subject_and_name_are_rfc2047_and_subject_is_cut) {
  auto s = settings("<MaxSubjectLength>5</MaxSubjectLength>");
  auto m = outbox_row(1, "T", "a@x.example", "", "", "", "Bj\xc3\xb6rk", "",
                      "Gr\xc3\xbc\xc3\x9f"
                      "e aus Wien",
                      "x", "", "");
  auto r = build_message(m, *s, 0);
  BOOST_REQUIRE(r.message);
  BOOST_TEST(r.message->data.find("Subject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n") != std::string::npos, r.message->data);
  BOOST_TEST(r.message->data.find("From: =?UTF-8?B?QmrDtnJr?= <ill@lib.example>") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(control_characters_are_rejected) {
  auto s = settings("");
  auto m = outbox_row(1, "T", "a@x.example", "", "", "", "", "", "Hi\r\nBcc: victim@x.example", "x", "", "");
  auto r = build_message(m, *s, 0);
  BOOST_REQUIRE(r.failure);
  BOOST_TEST(r.failure->detail.find("control characters") != std::string::npos);
  BOOST_TEST((r.failure->kind == FailureKind::permanent));
  auto bad_rcpt = outbox_row(1, "T", "a@x.example\r\nRCPT TO:<z@z.example>", "", "", "", "", "", "s", "x", "", "");
  BOOST_TEST(build_message(bad_rcpt, *s, 0).failure.has_value());
  auto bad_header = outbox_row(1, "T", "a@x.example", "", "", "", "", "", "s", "x", "", "X-A: 1\nnot a header");
  BOOST_TEST(build_message(bad_header, *s, 0).failure.has_value());
}

BOOST_AUTO_TEST_CASE(no_to_uses_the_no_account_address) {
  auto s = settings("<EMailNoAccountAddress>staff@lib.example</EMailNoAccountAddress>");
  auto m = outbox_row(1, "T", "", "", "", "", "", "", "s", "x", "", "");
  auto r = build_message(m, *s, 0);
  BOOST_REQUIRE(r.message);
  BOOST_TEST(r.message->recipients == std::vector<std::string>{"staff@lib.example"});
  auto none = build_message(m, *settings(""), 0);
  BOOST_TEST(none.failure->detail == "the message has no recipient and EMailNoAccountAddress is empty");
}

BOOST_AUTO_TEST_CASE(other_headers_with_leading_empty_line_replace_the_computed_ones) {
  auto s = settings("<OtherHeaders>\nFrom: custom@lib.example\nSubject: fixed</OtherHeaders>");
  auto m = outbox_row(1, "T", "a@x.example", "", "", "", "", "", "ignored", "x", "", "");
  auto r = build_message(m, *s, 0);
  BOOST_REQUIRE(r.message);
  BOOST_TEST(r.message->data.find("From: custom@lib.example\r\nSubject: fixed\r\nMIME-Version: 1.0\r\n") == 0u, r.message->data);
  BOOST_TEST(r.message->data.find("ignored") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(bare_lf_and_lone_dots_cannot_smuggle_commands) {
  auto s = settings("");
  auto m = outbox_row(1, "T", "a@x.example", "", "", "", "", "", "s", "a\n.\nMAIL FROM:<evil@x.example>\r\n.\r\nb\rc", "", "");
  auto r = build_message(m, *s, 0);
  BOOST_REQUIRE(r.message);
  const auto& d = r.message->data;
  for (std::size_t i = 0; i < d.size(); ++i) {
    if (d[i] == '\n') BOOST_TEST((i > 0 && d[i - 1] == '\r'));
    if (d[i] == '\r') BOOST_TEST((i + 1 < d.size() && d[i + 1] == '\n'));
  }
  auto wire = dot_stuff(d);
  BOOST_TEST(wire.find("\r\n.\r\n") == wire.size() - 5);  // the only end-of-data is the real one
  BOOST_TEST(wire.find("\r\n..\r\nMAIL FROM") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(text_and_html_make_multipart_alternative_with_qp) {
  auto s = settings("");
  auto m = outbox_row(1, "T", "a@x.example", "", "", "", "", "", "s", "caf\xc3\xa9", "<p>hi</p>", "");
  auto r = build_message(m, *s, 0);
  BOOST_REQUIRE(r.message);
  const auto& d = r.message->data;
  BOOST_TEST(d.find("Content-Type: multipart/alternative; boundary=\"=_sitemail_") != std::string::npos);
  BOOST_TEST(d.find("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9") !=
             std::string::npos);
  BOOST_TEST(d.find("Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n<p>hi</p>") !=
             std::string::npos);
  for (std::size_t start = 0, end; (end = d.find("\r\n", start)) != std::string::npos; start = end + 2)
    BOOST_TEST(end - start <= 998u);
}

BOOST_AUTO_TEST_SUITE_END()
