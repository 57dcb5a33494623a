// test_submission_e2e.cpp — a message submitted through the door (CONTRACT §9) and delivered
// by the engine as a raw message (§8) to a real relay, across a SIGKILL of the daemon right
// after the 250: the row is there, the restarted daemon sends it, the relay receives the
// message as submitted (Received: line first, Bcc: header removed, envelope from the SMTP
// transaction). Needs the engine's raw_message delivery (the lead's §8 work): on a branch
// without it this test fails, on main after both are merged it must pass.
#define BOOST_TEST_MODULE integration_submission_e2e
#include <boost/test/unit_test.hpp>

#include "submission_fixture.hpp"

using namespace sitemail;
using namespace sitemail::test;

BOOST_AUTO_TEST_CASE(a_submitted_message_survives_sigkill_and_is_delivered_as_submitted) {
  // The relay starts only after the SIGKILL: before it, delivery cannot reach it, so the
  // message goes out exactly once, from the restarted daemon (a message the killed one had
  // already handed over would be a permitted duplicate, CONTRACT §2, and make this test race).
  const int relay_port = free_port();
  Door d("sub_e2e");
  d.env.site("ACME", port(relay_port));
  d.reload();
  d.add_user("app1", "pw1", "--site ACME");
  const std::string msg = "From: app@acme.example\r\nTo: b@dest.example\r\nBcc: hidden@dest.example\r\nSubject: report\r\n"
                          "Message-ID: <e2e-1@acme.example>\r\n\r\n.leading dot\r\nline two\r\n";
  auto r = d.send("--user app1 --password pw1 --from app@acme.example --to b@dest.example --to hidden@dest.example", msg);
  BOOST_REQUIRE_MESSAGE(r.out.starts_with("SENT 250 2.0.0 Ok: queued as "), r.out + r.err);
  const auto id = queued_id(r.out);
  d.daemon->signal_and_wait(SIGKILL);
  d.env.db.reconnect();
  BOOST_TEST(count(d.env.db, "id = " + std::to_string(id)) == 1);  // the 250 was durable
  PyRelay relay("", relay_port);
  d.daemon->start();
  Daemon::wait_for([&] { return count(d.env.db, "id = " + std::to_string(id) + " AND status = 'sent'") == 1; }, 60,
                   "the row sent");
  auto got = relay.received();
  BOOST_REQUIRE_EQUAL(got.size(), 1u);
  BOOST_TEST(got[0].mail_from == "app@acme.example");
  BOOST_TEST(got[0].rcpt_tos.size() == 2u);
  const auto received = got[0].data.find("Received: from client.example ([127.0.0.1])");
  BOOST_TEST(received != std::string::npos, got[0].data);
  BOOST_TEST(received < got[0].data.find("Subject: report"),
             got[0].data);  // the trace line stays above the message's own headers
  BOOST_TEST(got[0].data.find("Subject: report\r\n") != std::string::npos, got[0].data);
  BOOST_TEST(got[0].data.find("\r\n.leading dot\r\nline two\r\n") != std::string::npos, got[0].data);
  BOOST_TEST(got[0].data.find("Bcc:") == std::string::npos, got[0].data);
  BOOST_TEST(got[0].data.find("hidden@dest.example") == std::string::npos, got[0].data);
}
