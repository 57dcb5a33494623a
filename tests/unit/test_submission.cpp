// test_submission.cpp — the submission door's sans-io dialogue (server/submission/dialogue.*)
// and its pure policy rules (policy.*): every refusal of CONTRACT §9 with its exact code, the
// actions asked of the driver, and what a stored message holds.
#include <boost/test/unit_test.hpp>

#include "codec.hpp"
#include "dialogue.hpp"
#include "policy.hpp"

using namespace sitemail;
using namespace sitemail::submission;
using A = Dialogue::Action;

namespace {

DialogueParams params(bool trusted = false, bool loopback = true) {
  DialogueParams p;
  p.hostname = "door.example";
  p.max_message_size = 2000;
  p.max_recipients = 3;
  p.loopback = loopback;
  p.trusted = trusted;
  p.peer_ip = "127.0.0.1";
  p.now = [] { return std::string("Sat, 05 Dec 2026 21:00:00 +0000"); };
  return p;
}

// Feeds `in`, answers every action with the given verdicts, returns what the server wrote.
struct Driver {
  Dialogue d;
  AuthVerdict auth = AuthVerdict::ok;
  SenderVerdict sender = SenderVerdict::ok;
  long long next_id = 41;
  std::vector<std::string> stored;
  bool closed = false, tls = false;
  explicit Driver(DialogueParams p = params()) : d(std::move(p)) {}
  std::string feed(std::string_view in) {
    d.on_bytes(in);
    std::string out;
    while (true) {
      switch (d.next()) {
        case A::write: out += d.take_output(); continue;
        case A::authenticate: d.auth_done(d.user() == "app" && d.password() == "secret" ? auth : AuthVerdict::bad); continue;
        case A::check_sender: d.sender_done(sender); continue;
        case A::store:
          stored.push_back(d.message());
          d.stored(++next_id);
          continue;
        case A::start_tls:
          tls = true;
          d.tls_started();
          continue;
        case A::close: closed = true; return out;
        case A::read: return out;
      }
    }
  }
};

std::string plain(const std::string& u, const std::string& p) {
  return codec::base64(std::string("\0", 1) + u + std::string("\0", 1) + p);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(submission_dialogue)

BOOST_AUTO_TEST_CASE(greeting_and_ehlo_advertise_the_extensions) {
  Driver t;
  auto out = t.feed("EHLO app.example\r\n");
  BOOST_TEST(out.starts_with("220 door.example ESMTP"));
  for (auto ext :
       {"250-PIPELINING", "250-SIZE 2000", "250-8BITMIME", "250-SMTPUTF8", "250-AUTH PLAIN LOGIN", "250 ENHANCEDSTATUSCODES"})
    BOOST_TEST(out.find(ext) != std::string::npos, ext);
  BOOST_TEST(out.find("STARTTLS") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(auth_only_under_tls_or_on_loopback_and_starttls_when_configured) {
  auto p = params(false, false);
  p.starttls_available = true;
  Driver t(p);
  auto out = t.feed("EHLO a\r\n");
  BOOST_TEST(out.find("250-STARTTLS") != std::string::npos);
  BOOST_TEST(out.find("AUTH") == std::string::npos);
  BOOST_TEST(t.feed("AUTH PLAIN " + plain("app", "secret") + "\r\n").starts_with("538 5.7.11"));
  BOOST_TEST(t.feed("STARTTLS\r\nEHLO injected\r\n") == "220 2.0.0 Ready to start TLS\r\n");  // pipelined bytes dropped
  BOOST_TEST(t.tls);
  out = t.feed("EHLO a\r\n");
  BOOST_TEST(out.find("STARTTLS") == std::string::npos);
  BOOST_TEST(out.find("250-AUTH PLAIN LOGIN") != std::string::npos);
  BOOST_TEST(t.feed("AUTH PLAIN " + plain("app", "secret") + "\r\n") == "235 2.7.0 Authentication successful\r\n");
}

BOOST_AUTO_TEST_CASE(a_whole_pipelined_submission_is_stored_with_a_received_line) {
  Driver t;
  t.feed("EHLO app.example\r\n");
  auto out =
      t.feed("AUTH PLAIN " + plain("app", "secret") +
             "\r\nMAIL FROM:<a@x.example> SIZE=100 BODY=8BITMIME\r\nRCPT TO:<b@y.example>\r\nRCPT TO:<c@y.example>\r\nDATA\r\n");
  BOOST_TEST(
      out ==
      "235 2.7.0 Authentication successful\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  out = t.feed("Subject: hi\r\n\r\n..dotted\r\nbody\r\n.\r\nQUIT\r\n");
  BOOST_TEST(out == "250 2.0.0 Ok: queued as 42\r\n221 2.0.0 Bye\r\n");
  BOOST_TEST(t.closed);
  BOOST_REQUIRE(t.stored.size() == 1);
  BOOST_TEST(
      t.stored[0] ==
      "Received: from app.example ([127.0.0.1])\r\n\tby door.example (sitemail) with ESMTPA; Sat, 05 Dec 2026 21:00:00 +0000\r\n"
      "Subject: hi\r\n\r\n.dotted\r\nbody\r\n");
  BOOST_TEST(t.d.mail_from() == "");  // the transaction is over
}

BOOST_AUTO_TEST_CASE(auth_login_and_a_wrong_password) {
  Driver t;
  t.feed("EHLO a\r\n");
  BOOST_TEST(t.feed("AUTH LOGIN\r\n") == "334 VXNlcm5hbWU6\r\n");
  BOOST_TEST(t.feed(codec::base64("app") + "\r\n") == "334 UGFzc3dvcmQ6\r\n");
  BOOST_TEST(t.feed(codec::base64("wrong") + "\r\n") == "535 5.7.8 Authentication credentials invalid\r\n");
  BOOST_TEST(t.feed("AUTH LOGIN " + codec::base64("app") + "\r\n") == "334 UGFzc3dvcmQ6\r\n");
  BOOST_TEST(t.feed(codec::base64("secret") + "\r\n") == "235 2.7.0 Authentication successful\r\n");
  BOOST_TEST(t.d.user() == "app");
  BOOST_TEST(t.d.password().empty());  // not kept after the check
}

BOOST_AUTO_TEST_CASE(throttled_auth_is_454) {
  Driver t;
  t.auth = AuthVerdict::throttled;
  t.feed("EHLO a\r\n");
  BOOST_TEST(t.feed("AUTH PLAIN " + plain("app", "secret") + "\r\n").starts_with("454 4.7.0"));
}

BOOST_AUTO_TEST_CASE(mail_before_auth_is_530_unless_trusted) {
  Driver t;
  t.feed("EHLO a\r\n");
  BOOST_TEST(t.feed("MAIL FROM:<a@x.example>\r\n") == "530 5.7.0 Authentication required\r\n");
  Driver trusted(params(true));
  trusted.feed("EHLO a\r\n");
  BOOST_TEST(trusted.feed("MAIL FROM:<a@x.example>\r\n") == "250 2.1.0 Ok\r\n");
}

BOOST_AUTO_TEST_CASE(sender_policy_and_rate_are_refused_at_mail_from) {
  Driver t(params(true));
  t.feed("EHLO a\r\n");
  t.sender = SenderVerdict::refused;
  BOOST_TEST(t.feed("MAIL FROM:<a@x.example>\r\n") == "550 5.7.1 Sender address not allowed for this account\r\n");
  t.sender = SenderVerdict::rate_limited;
  BOOST_TEST(t.feed("MAIL FROM:<a@x.example>\r\n").starts_with("450 4.7.1"));
  BOOST_TEST(t.feed("RCPT TO:<b@y.example>\r\n").starts_with("503"));
}

BOOST_AUTO_TEST_CASE(line_and_size_limits) {
  Driver t(params(true));
  t.feed("EHLO a\r\n");
  BOOST_TEST(t.feed("NOOP " + std::string(600, 'x') + "\r\n") == "500 5.5.2 Line too long\r\n");
  BOOST_TEST(t.feed(std::string(700, 'y')) == "500 5.5.2 Line too long\r\n");
  BOOST_TEST(t.feed(std::string(700, 'y') + "\r\nNOOP\r\n") == "250 2.0.0 Ok\r\n");  // the rest of that line is dropped
  BOOST_TEST(t.feed("MAIL FROM:<a@x.example> SIZE=2001\r\n").starts_with("552 5.3.4"));
  t.feed("MAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\nDATA\r\n");
  BOOST_TEST(t.feed(std::string(1000, 'z') + "\r\n.\r\n") == "552 5.3.4 Message line longer than 1000 octets\r\n");
  t.feed("MAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\nDATA\r\n");
  std::string big;
  for (int i = 0; i < 30; ++i) big += std::string(98, 'q') + "\r\n";
  BOOST_TEST(t.feed(big + ".\r\n") == "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
  BOOST_TEST(t.stored.empty());
}

BOOST_AUTO_TEST_CASE(too_many_recipients_is_452) {
  Driver t(params(true));
  t.feed("EHLO a\r\nMAIL FROM:<a@x.example>\r\n");
  auto out = t.feed("RCPT TO:<1@y.example>\r\nRCPT TO:<2@y.example>\r\nRCPT TO:<3@y.example>\r\nRCPT TO:<4@y.example>\r\n");
  BOOST_TEST(out == "250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n452 4.5.3 Error: too many recipients\r\n");
}

BOOST_AUTO_TEST_CASE(bare_lf_or_cr_refuse_the_message_and_do_not_end_it) {
  for (std::string smuggle : {"a\n.\r\nMAIL FROM:<evil@x.example>\r\n", "a\r\n.\nRCPT TO:<x@y.example>\r\n", "a\r.\r\n"}) {
    Driver t(params(true));
    t.feed("EHLO a\r\nMAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\nDATA\r\n");
    auto out = t.feed("Subject: x\r\n\r\n" + smuggle);
    BOOST_TEST(out.empty(), "no reply before CRLF.CRLF: " << out);  // the smuggled dot ended nothing
    BOOST_TEST(t.feed("\r\n.\r\n") == "550 5.6.0 Bare CR or LF in message; lines must end with CRLF\r\n");
    BOOST_TEST(t.stored.empty());
  }
}

BOOST_AUTO_TEST_CASE(a_long_line_split_between_cr_and_lf_still_ends_at_crlf_dot_crlf) {
  Driver t(params(true));
  t.feed("EHLO a\r\nMAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\nDATA\r\n");
  BOOST_TEST(t.feed(std::string(1500, 'w') + "\r").empty());
  BOOST_TEST(t.feed("\n.\r\n") == "552 5.3.4 Message line longer than 1000 octets\r\n");
}

BOOST_AUTO_TEST_CASE(data_split_into_single_bytes_is_the_same_message) {
  Driver t(params(true));
  t.feed("EHLO a\r\nMAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\nDATA\r\n");
  std::string out;
  for (char c : std::string("Subject: s\r\n\r\n..\r\nend\r\n.\r\n")) out += t.feed(std::string(1, c));
  BOOST_TEST(out == "250 2.0.0 Ok: queued as 42\r\n");
  BOOST_REQUIRE(t.stored.size() == 1);
  BOOST_TEST(t.stored[0].ends_with("\r\nSubject: s\r\n\r\n.\r\nend\r\n"), t.stored[0]);
}

BOOST_AUTO_TEST_CASE(out_of_storage_refuses_the_message_with_452) {
  Driver t(params(true));
  t.feed("EHLO a\r\nMAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\nDATA\r\nSubject: x\r\n");
  BOOST_TEST(t.d.buffered() == 12u);
  t.d.refuse_storage();
  BOOST_TEST(t.d.buffered() == 0u);
  BOOST_TEST(t.feed("more\r\n.\r\n") == "452 4.3.1 Insufficient system storage; try again later\r\n");
  BOOST_TEST(t.stored.empty());
  BOOST_TEST(t.feed("MAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\nDATA\r\nok\r\n.\r\n").ends_with("queued as 42\r\n"));
}

BOOST_AUTO_TEST_CASE(store_failure_is_451_and_timeout_is_421) {
  Dialogue d(params(true));
  d.on_bytes("EHLO a\r\nMAIL FROM:<>\r\nRCPT TO:<b@y.example>\r\nDATA\r\nx\r\n.\r\n");
  std::string out;
  A a;
  while ((a = d.next()) != A::store) {
    if (a == A::write) out += d.take_output();
    else if (a == A::check_sender) d.sender_done(SenderVerdict::ok);
    else BOOST_FAIL("unexpected action");
  }
  d.store_failed();
  BOOST_TEST((d.next() == A::write));
  BOOST_TEST(d.take_output() == "451 4.3.0 Error: message not queued; try again later\r\n");
  d.on_timeout();
  BOOST_TEST((d.next() == A::write));
  BOOST_TEST(d.take_output().starts_with("421 4.4.2"));
  BOOST_TEST((d.next() == A::close));
}

BOOST_AUTO_TEST_CASE(a_store_of_unknown_outcome_says_it_may_have_been_queued) {
  Dialogue d(params(true));
  d.on_bytes("EHLO a\r\nMAIL FROM:<>\r\nRCPT TO:<b@y.example>\r\nDATA\r\nx\r\n.\r\n");
  A a;
  while ((a = d.next()) != A::store) {
    if (a == A::write) static_cast<void>(d.take_output());
    else if (a == A::check_sender) d.sender_done(SenderVerdict::ok);
    else BOOST_FAIL("unexpected action");
  }
  d.store_failed(true);
  BOOST_TEST((d.next() == A::write));
  BOOST_TEST(d.take_output() ==
             "451 4.3.0 Error: database connection lost; the message may have been queued; try again later\r\n");
}

BOOST_AUTO_TEST_CASE(a_line_dripped_a_byte_at_a_time_stays_one_line) {
  Dialogue d(params(true));
  BOOST_TEST((d.next() == A::write));
  static_cast<void>(d.take_output());
  BOOST_TEST(!d.mid_line());
  for (char c : std::string("EHLO a")) {
    d.on_bytes(std::string_view(&c, 1));
    BOOST_TEST((d.next() == A::read));
    BOOST_TEST(d.mid_line());
  }
  BOOST_TEST(d.lines() == 0u);
  d.on_bytes("\r\nNOOP");
  BOOST_TEST((d.next() == A::write));
  static_cast<void>(d.take_output());
  BOOST_TEST(d.lines() == 1u);
  BOOST_TEST(d.mid_line());
  d.on_bytes(std::string(600, 'x'));  // over the command line limit: discarded, still one line
  BOOST_TEST((d.next() == A::write));
  BOOST_TEST(d.take_output().starts_with("500 5.5.2"));
  BOOST_TEST(d.mid_line());
  BOOST_TEST(d.lines() == 1u);
}

BOOST_AUTO_TEST_CASE(too_many_errors_close) {
  Driver t;
  std::string junk;
  for (int i = 0; i < Dialogue::kMaxErrors; ++i) junk += "BOGUS\r\n";
  auto out = t.feed(junk);
  BOOST_TEST(out.find("421 4.7.0") != std::string::npos);
  BOOST_TEST(t.closed);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(submission_policy)

BOOST_AUTO_TEST_CASE(sender_patterns) {
  std::string err;
  auto p = parse_senders("app@Example.org, @corp.example ,*@*.Sub.example", err);
  BOOST_REQUIRE(p);
  BOOST_TEST(sender_allowed(*p, "app@EXAMPLE.org"));
  BOOST_TEST(!sender_allowed(*p, "App@example.org"));  // local parts are exact
  BOOST_TEST(!sender_allowed(*p, "other@example.org"));
  BOOST_TEST(sender_allowed(*p, "x@CORP.example"));
  BOOST_TEST(!sender_allowed(*p, "x@a.corp.example"));  // @domain: that domain only
  BOOST_TEST(sender_allowed(*p, "x@a.sub.example"));
  BOOST_TEST(sender_allowed(*p, "x@b.a.sub.example"));
  BOOST_TEST(!sender_allowed(*p, "x@sub.example"));  // *@*.domain: subdomains only
  BOOST_TEST(!sender_allowed(*p, "x@evilsub.example"));
  BOOST_TEST(!sender_allowed(*p, ""));
  BOOST_TEST(sender_allowed({}, ""));  // no patterns: any sender
  BOOST_TEST(!parse_senders("nodomain", err));
  BOOST_TEST(err.find("nodomain") != std::string::npos);
  BOOST_TEST(!parse_senders("a@", err));
}

BOOST_AUTO_TEST_CASE(cidr_matching) {
  auto n = Cidr::parse("127.0.0.1/32");
  BOOST_REQUIRE(n);
  BOOST_TEST(n->contains("127.0.0.1"));
  BOOST_TEST(!n->contains("127.0.0.2"));
  BOOST_TEST(n->contains("::ffff:127.0.0.1"));
  auto w = Cidr::parse("10.1.2.3/8");
  BOOST_REQUIRE(w);
  BOOST_TEST(w->str() == "10.0.0.0/8");
  BOOST_TEST(w->contains("10.200.0.1"));
  auto v6 = Cidr::parse("2001:db8::/32");
  BOOST_REQUIRE(v6);
  BOOST_TEST(v6->contains("2001:db8:1::5"));
  BOOST_TEST(!v6->contains("10.0.0.1"));
  BOOST_TEST(!Cidr::parse("10.0.0.0/33"));
  BOOST_TEST(!Cidr::parse("nonsense"));
}

BOOST_AUTO_TEST_CASE(auth_throttle_five_failures_in_ten_minutes) {
  AuthThrottle t;
  auto t0 = Clock::time_point{} + std::chrono::hours(1);
  for (int i = 0; i < 4; ++i) t.failure("192.0.2.1", t0 + std::chrono::minutes(i));
  BOOST_TEST(!t.locked("192.0.2.1", t0 + std::chrono::minutes(4)));
  t.failure("192.0.2.1", t0 + std::chrono::minutes(9));
  BOOST_TEST(t.locked("192.0.2.1", t0 + std::chrono::minutes(9)));
  BOOST_TEST(!t.locked("192.0.2.2", t0 + std::chrono::minutes(9)));
  BOOST_TEST(t.locked("192.0.2.1", t0 + std::chrono::minutes(18)));
  BOOST_TEST(!t.locked("192.0.2.1", t0 + std::chrono::minutes(20)));
  // failures spread over more than ten minutes never lock
  AuthThrottle s;
  for (int i = 0; i < 10; ++i) s.failure("a", t0 + std::chrono::minutes(3 * i));
  BOOST_TEST(!s.locked("a", t0 + std::chrono::minutes(28)));
}

BOOST_AUTO_TEST_SUITE_END()
