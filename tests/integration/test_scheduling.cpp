// test_scheduling.cpp — sitemaild under shared-server load, with real PostgreSQL and real
// relays: a killed instance's mail is taken over in seconds (not at lease expiry), one
// site's backlog does not delay small sites when slots are scarce, a dead relay is one
// event for its site, a dripping relay is cut by the transaction deadline while other
// sites deliver, every way a session ends (idle, reload, --once, SIGTERM) says QUIT, and
// sites with the same connection identity share connections (others never do).
#define BOOST_TEST_MODULE sitemail_integration_scheduling
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "daemon_fixture.hpp"

using namespace sitemail::test;

namespace {

std::string stall_relay(const std::string& mode, int p) {
  return "/usr/bin/python3 " + std::string(SITEMAIL_SOURCE_DIR) + "/tests/integration/peers/stall_relay.py --mode " + mode +
         " --port " + std::to_string(p);
}

long long occurrences(const std::string& hay, const std::string& needle) {
  long long n = 0;
  for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_killed_daemons_mail_is_taken_over_in_seconds_not_at_lease_expiry) {
  Env e("takeover");
  PyRelay relay("");
  // 10 messages a second: the daemon always holds claimed rows when it is killed
  e.site("ACME", port(relay.port()) + "<MaxMessagesPerMinute>600</MaxMessagesPerMinute>");
  enqueue(e.db, "ACME", 60);
  {
    Daemon d(e.db, e.cfg.path(), "", "first");  // shipped lease_seconds (300)
    Daemon::wait_for([&] { return relay.received().size() >= 5; }, 30, "some delivered");
    d.kill_now();
  }
  const long long stranded = count(e.db, "status = 'sending'");
  BOOST_TEST(stranded > 0);
  BOOST_TEST(count(e.db, "status = 'sending' AND lease_until > now() + interval '200 seconds'") == stranded);
  Daemon d2(e.db, e.cfg.path(), "", "second");
  // CONTRACT §2: within 30 s of the death, not when the 300 s lease runs out
  Daemon::wait_for(
      [&] {
        return count(e.db, "status = 'sending' AND lease_instance IS DISTINCT FROM "
                           "(SELECT max(id) FROM sitemail_instance)") == 0;
      },
      30, "the dead instance's rows taken over");
  BOOST_TEST(d2.log().find("event=recovered") != std::string::npos, d2.log());
  Daemon::wait_for([&] { return count(e.db, "status = 'sent'") == 60; }, 60, "all 60 sent");
  auto ids = message_ids(relay.received());
  std::set<std::string> unique(ids.begin(), ids.end());
  BOOST_TEST(unique.size() == 60u);
  BOOST_TEST(ids.size() - unique.size() <= 2u);  // only what was on the wire at the kill
  BOOST_TEST(d2.signal_and_wait(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(a_backlog_of_one_site_does_not_delay_small_sites_when_slots_are_scarce) {
  Env e("fair");
  SmtpSink big_sink, small_sink;
  e.site("BIG", port(big_sink.port()) + "<MaxConnections>100</MaxConnections><MaxMessagesPerMinute>300</MaxMessagesPerMinute>");
  for (int i = 0; i < 50; ++i) e.site("S" + std::to_string(i), port(small_sink.port()));
  enqueue(e.db, "BIG", 3000);
  for (int i = 0; i < 50; ++i) enqueue(e.db, "S" + std::to_string(i), 10);
  // 4 slots: BIG may hold only its share (2) whatever its MaxConnections; the small sites
  // queue for the other two, and connections with nothing left to send do not linger.
  Daemon d(e.db, e.cfg.path(), "[delivery]\nmax_connections = 4\n");
  try {
    Daemon::wait_for([&] { return count(e.db, "nvtgc <> 'BIG' AND status = 'sent'") == 500; }, 90, "small sites delivered");
  } catch (const std::exception&) {
    auto l = d.log();
    BOOST_FAIL("small sites: " << count(e.db, "nvtgc <> 'BIG' AND status = 'sent'") << " sent; log tail:\n"
                               << l.substr(l.size() > 4000 ? l.size() - 4000 : 0));
  }
  BOOST_TEST(count(e.db, "nvtgc = 'BIG' AND status = 'queued'") > 2000);  // the backlog is still there
  BOOST_TEST(count(e.db, "nvtgc = 'BIG' AND status = 'sending'") <= 8);   // per-site in-flight cap holds exactly
  BOOST_TEST(d.signal_and_wait(SIGTERM) == 0);
  BOOST_TEST(count(e.db, "status = 'sending'") == 0);
}

BOOST_AUTO_TEST_CASE(sites_with_the_same_connection_identity_share_a_connection_and_others_do_not) {
  Env e("routes");
  PyRelay relay("");
  // ACME and BETA: the same relay and session settings, their own From: one route. GAMMA:
  // the same relay with another EHLO name: a route of its own. One slot per route (share
  // of a 2-slot pool), so the shared route's messages must go through one session.
  e.site("ACME", port(relay.port()) + "<MaxConnections>1</MaxConnections><EMailFromAddress>acme@lib.example</EMailFromAddress>");
  e.site("BETA", port(relay.port()) + "<MaxConnections>1</MaxConnections><EMailFromAddress>beta@lib.example</EMailFromAddress>");
  e.site("GAMMA", port(relay.port()) + "<MaxConnections>1</MaxConnections><EMailFromAddress>gamma@lib.example</EMailFromAddress>"
                                       "<FullyQualifiedDomainName>gamma.example</FullyQualifiedDomainName>");
  enqueue(e.db, "ACME", 5);
  enqueue(e.db, "BETA", 5);
  enqueue(e.db, "GAMMA", 5);
  auto r = e.once("[delivery]\nmax_connections = 2\nsite_share = 50\n");
  BOOST_TEST(r.code == 0, r.err);
  auto got = relay.received();
  BOOST_REQUIRE_EQUAL(got.size(), 15u);
  std::map<std::string, std::set<std::string>> sessions;  // sender -> sessions that carried its mail
  for (const auto& m : got) sessions[m.mail_from].insert(m.session);
  BOOST_REQUIRE_EQUAL(sessions.size(), 3u);
  BOOST_TEST(sessions["acme@lib.example"] == sessions["beta@lib.example"]);  // one session carried both sites' mail
  BOOST_TEST(sessions["acme@lib.example"].size() == 1u);
  for (const auto& s : sessions["gamma@lib.example"]) BOOST_TEST(!sessions["acme@lib.example"].count(s));
  for (const auto& m : got)  // each message still carries its own site's From
    BOOST_TEST(m.data.find(m.mail_from) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_next_envelope_rides_with_the_content_and_every_message_keeps_its_own) {
  // smtp-sink offers PIPELINING, so each message's envelope goes out with the previous
  // message's content, across the two sites of one route. Each dumped transaction must
  // pair its envelope with its own content: the sender with its site's From, the recipient
  // with its own To, and no message twice or missing.
  Env e("prefetch");
  SmtpSink sink;
  e.site("ACME", port(sink.port()) + "<MaxConnections>1</MaxConnections><EMailFromAddress>acme@lib.example</EMailFromAddress>");
  e.site("BETA", port(sink.port()) + "<MaxConnections>1</MaxConnections><EMailFromAddress>beta@lib.example</EMailFromAddress>");
  for (const char* site : {"ACME", "BETA"})
    e.db.conn().exec(
        "INSERT INTO outbox (nvtgc, to_addrs, subject, body_text) SELECT $1, lower($1) || '-' || g || '@dest.example', "
        "'msg ' || g, 'body ' || g FROM generate_series(1, 30) g",
        {site});
  auto r = e.once("[delivery]\nmax_connections = 2\nsite_share = 50\n");
  BOOST_TEST(r.code == 0, r.err);
  BOOST_TEST(count(e.db, "status = 'sent'") == 60);
  std::set<std::string> rcpts;
  int files = 0;
  for (const auto& f : std::filesystem::directory_iterator(sink.dir())) {
    if (!f.path().filename().string().starts_with("msg-")) continue;
    ++files;
    std::ifstream in(f.path());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto field = [&](const std::string& name) {
      auto p = text.find("\n" + name);
      if (p == std::string::npos) p = text.rfind(name, 0) == 0 ? 0 : std::string::npos;
      if (p == std::string::npos) return std::string();
      p = text.find(name, p) + name.size();
      return text.substr(p, text.find('\n', p) - p);
    };
    const std::string sender = field("X-Mail-Args: <");
    const std::string rcpt = field("X-Rcpt-Args: <");
    const std::string from = sender.substr(0, sender.find('>'));
    const std::string to = rcpt.substr(0, rcpt.find('>'));
    BOOST_TEST(text.find("\nFrom: " + from) != std::string::npos, f.path().string() + ":\n" + text);
    BOOST_TEST(text.find("\nTo: " + to) != std::string::npos, f.path().string() + ":\n" + text);
    BOOST_TEST(to.starts_with(from.substr(0, 4)), to + " sent as " + from);  // acme-N from acme@, beta-N from beta@
    rcpts.insert(to);
  }
  BOOST_TEST(files == 60);
  BOOST_TEST(rcpts.size() == 60u);
}

BOOST_AUTO_TEST_CASE(small_sites_go_first_even_when_the_backlog_site_drains_every_claim_at_once) {
  // A fast relay: the backlog site sends everything it was given between two claims, so at
  // claim time nothing is in flight. Its mail must still count as busy, or the claim's
  // window (the oldest mail, all the backlog's) hides the small sites' mail. (Before the
  // fix this showed now and then: a few small sites waited 3-5 s, until the backlog was
  // nearly gone.)
  Env e("lockstep");
  SmtpSink big_sink, small_sink;
  e.site("BIG", port(big_sink.port()));
  for (int i = 0; i < 20; ++i)
    e.site("S" + std::to_string(i),
           port(small_sink.port()) + "<FullyQualifiedDomainName>s" + std::to_string(i) + ".example</FullyQualifiedDomainName>");
  Daemon d(e.db, e.cfg.path(), "");
  enqueue(e.db, "BIG", 30000);
  for (int i = 0; i < 20; ++i) enqueue(e.db, "S" + std::to_string(i), 5);
  Daemon::wait_for([&] { return count(e.db, "nvtgc <> 'BIG' AND status = 'sent'") == 100; }, 60, "small sites delivered");
  BOOST_TEST(count(e.db, "nvtgc = 'BIG' AND status = 'queued'") > 10000, "the small sites waited for the backlog");
  BOOST_TEST(count(e.db, "nvtgc <> 'BIG' AND sent_at - created_at > interval '3 seconds'") == 0);
  BOOST_TEST(d.signal_and_wait(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(a_relay_that_cannot_be_reached_is_one_event_for_its_site) {
  Env e("dead");
  PyRelay ok("");
  const int closed = free_port();  // nothing listens here
  e.site("DEAD", port(closed) + "<MaxConnections>1</MaxConnections>");
  e.site("OK", port(ok.port()));
  enqueue(e.db, "DEAD", 20);
  enqueue(e.db, "OK", 5);
  auto r = e.once();
  BOOST_TEST(r.code == 1);  // some mail deferred
  BOOST_TEST(count(e.db, "nvtgc = 'OK' AND status = 'sent'") == 5);
  // one message was tried and spent its attempt; the other 19 were deferred with the site
  BOOST_TEST(count(e.db, "nvtgc = 'DEAD' AND status = 'queued' AND attempts = 1 AND last_error LIKE 'connect:%'") == 1);
  BOOST_TEST(count(e.db, "nvtgc = 'DEAD' AND status = 'queued' AND attempts = 0 AND "
                         "last_error LIKE 'deferred: site suspended for % s after: connect:%'") == 19);
  BOOST_TEST(count(e.db, "nvtgc = 'DEAD' AND next_attempt_at <= now()") == 0);
  BOOST_TEST(r.err.find("event=site_suspended site=DEAD") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(a_dripping_relay_is_cut_by_the_transaction_deadline_while_others_deliver) {
  Env e("drip");
  const int p = free_port();
  Peer drip("drip", stall_relay("drip", p), p);
  PyRelay ok("");
  e.site("DRIP", port(p) + "<Timeout>60</Timeout><MaxConnections>100</MaxConnections>");
  e.site("OK", port(ok.port()));
  enqueue(e.db, "DRIP", 10);
  Daemon d(e.db, e.cfg.path(), "[delivery]\nmax_connections = 2\ntransaction_deadline = 3\n");
  enqueue(e.db, "OK", 5);
  Daemon::wait_for([&] { return count(e.db, "nvtgc = 'OK' AND status = 'sent'") == 5; }, 30, "the other site delivered");
  Daemon::wait_for([&] { return count(e.db, "nvtgc = 'DRIP' AND last_error LIKE '%transaction_deadline%'") >= 1; }, 30,
                   "the dripping relay cut by the deadline");
  BOOST_TEST(count(e.db, "nvtgc = 'DRIP' AND status = 'sent'") == 0);
  BOOST_TEST(d.signal_and_wait(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(every_way_a_session_ends_says_quit) {
  Env e("quit");
  PyRelay plain("");
  PyRelay tls("--tls starttls --cert " + certs_dir() + "/relay.pem --key " + certs_dir() + "/relay.key");
  e.cfg.write("ca.pem", slurp(certs_dir() + "/ca.pem"));
  e.site("PLAIN", port(plain.port()));
  e.site("TLS", port(tls.port(), "-starttls") + "<SslCaFile>ca.pem</SslCaFile>");
  // --once: the last sessions end when the queue is drained
  enqueue(e.db, "PLAIN", 3);
  enqueue(e.db, "TLS", 3);
  auto r = e.once();
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  BOOST_TEST(occurrences(plain.session_log(), "CONNECT") >= 1);
  BOOST_TEST(occurrences(plain.session_log(), "QUIT tls=False") == occurrences(plain.session_log(), "CONNECT"),
             plain.session_log() + r.err);
  BOOST_TEST(occurrences(tls.session_log(), "QUIT tls=True") == occurrences(tls.session_log(), "CONNECT"));
  {
    Daemon d(e.db, e.cfg.path());
    // idle: a connection with nothing more to send says QUIT after its short linger
    enqueue(e.db, "PLAIN", 1);
    Daemon::wait_for([&] { return count(e.db, "status = 'sent'") == 7; }, 30, "idle test mail");
    Daemon::wait_for([&] { return occurrences(plain.session_log(), "QUIT") == occurrences(plain.session_log(), "CONNECT"); }, 30,
                     "QUIT after idling");
    // reload: a connection whose site's settings changed says QUIT before a new one opens
    e.site("PLAIN",
           port(plain.port()) + "<EMailFromName>Reloaded</EMailFromName><MaxMessagesPerMinute>60</MaxMessagesPerMinute>");
    d.hup();
    Daemon::wait_for(
        [&] { return d.log().find("event=config_loaded", d.log().find("event=config_loaded") + 1) != std::string::npos; }, 30,
        "reload");
    enqueue(e.db, "PLAIN", 2);
    enqueue(e.db, "TLS", 1);
    // SIGTERM while the PLAIN site's second message waits for its rate-limit slot
    Daemon::wait_for([&] { return count(e.db, "status = 'sent'") >= 9; }, 30, "mail after reload");
    BOOST_TEST(d.signal_and_wait(SIGTERM) == 0);
  }
  BOOST_TEST(occurrences(plain.session_log(), "QUIT") == occurrences(plain.session_log(), "CONNECT"), plain.session_log());
  BOOST_TEST(occurrences(tls.session_log(), "QUIT tls=True") == occurrences(tls.session_log(), "CONNECT"), tls.session_log());
  BOOST_TEST(count(e.db, "status = 'sending'") == 0);
}
