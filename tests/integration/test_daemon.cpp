// test_daemon.cpp — sitemaild end to end with real PostgreSQL and real relays: several
// sites with different settings, retries after 4xx and dropped connections, permanent
// failures, a broken site held then released by a reload, SIGKILL mid-run, a PostgreSQL
// restart mid-run, two daemons on one database, graceful SIGTERM, metrics and health.
#define BOOST_TEST_MODULE sitemail_integration_daemon
#include <boost/test/unit_test.hpp>
#include <map>
#include <set>

#include "daemon_fixture.hpp"

using namespace sitemail::test;

BOOST_AUTO_TEST_CASE(several_sites_with_different_settings_deliver_end_to_end) {
  Env e("e2e");
  PyRelay plain("");
  PyRelay secure("--tls starttls --cert " + certs_dir() + "/relay.pem --key " + certs_dir() + "/relay.key --user alice:pw");
  SmtpSink sink;
  e.cfg.write("ca.pem", slurp(certs_dir() + "/ca.pem"));
  e.site("ACME", port(plain.port()) + "<EMailFromName>ACME Library</EMailFromName>");
  e.site("BETA", port(secure.port(), "-starttls") + "<SslCaFile>ca.pem</SslCaFile><User>alice</User><Password>pw</Password>");
  e.site("GAMMA", port(sink.port()) + "<MaxConnections>1</MaxConnections>");
  enqueue(e.db, "ACME", 5);
  enqueue(e.db, "BETA", 5);
  enqueue(e.db, "GAMMA", 5);
  Daemon d(e.db, e.cfg.path());
  Daemon::wait_for([&] { return count(e.db, "status = 'sent'") == 15; }, 30, "15 sent");
  BOOST_TEST(plain.received().size() == 5u);
  BOOST_TEST(secure.received().size() == 5u);
  for (const auto& r : secure.received()) {
    BOOST_TEST(r.tls);
    BOOST_TEST(!r.auth.empty());
  }
  BOOST_TEST(sink.messages() == 5);
  BOOST_TEST(plain.received()[0].data.find("From: ACME Library <ill@lib.example>") != std::string::npos);
  BOOST_TEST(count(e.db, "status = 'sent' AND sent_at IS NOT NULL AND smtp_reply LIKE '250%' AND message_id LIKE '<sitemail.%' "
                         "AND attempts = 1 AND lease_owner IS NULL") == 15);
  // one connection per site reused for its messages
  std::set<std::string> sessions;
  for (const auto& r : plain.received()) sessions.insert(r.session);
  BOOST_TEST(sessions.size() <= 2u);
  auto m = d.metrics();
  BOOST_TEST(m.find("sitemail_messages_total{site=\"ACME\",result=\"sent\"} 5") != std::string::npos, m);
  BOOST_TEST(m.find("sitemail_delivery_latency_seconds_count 15") != std::string::npos, m);
  BOOST_TEST(m.find("sitemail_queue_depth{status=\"queued\"}") != std::string::npos, m);
  BOOST_TEST(m.find("sitemail_connections_open") != std::string::npos);
  BOOST_TEST(d.healthz() == "ok\n\n");
  auto log = d.log();
  BOOST_TEST(log.find("event=delivery site=BETA id=") != std::string::npos);
  BOOST_TEST(log.find("result=sent") != std::string::npos);
  BOOST_TEST(log.find("pw") == std::string::npos);  // never a secret
  BOOST_TEST(d.signal_and_wait(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(connection_limit_and_rate_limit_per_site) {
  Env e("limits");
  PyRelay relay("");
  e.site("ONE", port(relay.port()) + "<MaxConnections>1</MaxConnections>");
  e.site("SLOW", port(relay.port()) + "<MaxMessagesPerMinute>120</MaxMessagesPerMinute>");
  enqueue(e.db, "ONE", 8);
  enqueue(e.db, "SLOW", 5);
  Daemon d(e.db, e.cfg.path());
  Daemon::wait_for([&] { return count(e.db, "status = 'sent'") == 13; }, 30, "13 sent");
  std::map<std::string, std::set<std::string>> sessions;
  for (const auto& r : relay.received()) sessions[r.data.find(".one@") != std::string::npos ? "ONE" : "SLOW"].insert(r.session);
  BOOST_TEST(sessions["ONE"].size() == 1u);  // MaxConnections = 1: one connection carried all 8
  auto spread = e.db.conn().exec("SELECT extract(epoch from max(sent_at) - min(sent_at)) FROM outbox WHERE nvtgc = 'SLOW'");
  BOOST_TEST(std::stod(spread.get(0, 0)) >= 1.8);  // 120/min = one every 0.5 s: 5 messages span >= 2 s
  BOOST_TEST(d.signal_and_wait(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(a_dead_relay_with_a_backlog_does_not_hold_up_other_sites) {
  Env e("dead");
  SmtpSink silent("-W connect:30");  // accepts, then says nothing for 30 s
  SmtpSink live;
  e.site("DEAD", port(silent.port()) + "<Timeout>8</Timeout>");
  e.site("LIVE", port(live.port()));
  enqueue(e.db, "DEAD", 400);  // older: first in line
  enqueue(e.db, "LIVE", 20);
  Daemon d(e.db, e.cfg.path());
  Daemon::wait_for([&] { return count(e.db, "nvtgc = 'LIVE' AND status = 'sent'") == 20; }, 30, "LIVE sent");
  // LIVE was delivered while DEAD's first connections were still waiting for a greeting:
  // no DEAD row has an outcome yet (they get one when their 8 s timeout fires).
  BOOST_TEST(count(e.db, "nvtgc = 'DEAD' AND (last_error IS NOT NULL OR status <> 'sending' AND attempts > 0)") == 0);
  BOOST_TEST(d.signal_and_wait(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(retry_after_4xx_and_after_a_dropped_connection_then_success) {
  for (const char* fault : {"-r rcpt", "-q mail"}) {
    BOOST_TEST_CONTEXT(fault) {
      Env e(std::string("retry") + (fault[1] == 'r' ? "r" : "q"));
      int p = free_port();
      e.site("ACME", port(p));
      enqueue(e.db, "ACME", 2);
      {
        SmtpSink bad(fault, p);
        auto r = e.once();
        BOOST_TEST(r.code == 1, r.err);  // deferred
      }
      BOOST_TEST(
          count(
              e.db,
              "status = 'queued' AND attempts = 1 AND last_error IS NOT NULL AND next_attempt_at > now() - interval '1 second'") ==
          2);
      SmtpSink good("", p);
      Daemon::wait_for(
          [&] {
            e.once();
            return count(e.db, "status = 'sent'") == 2;
          },
          20, "retry success");
      BOOST_TEST(count(e.db, "status = 'sent' AND attempts >= 2") == 2);
      BOOST_TEST(good.messages() == 2);
    }
  }
}

BOOST_AUTO_TEST_CASE(auth_failure_defers_and_backs_the_site_off) {
  Env e("auth535");
  PyRelay relay("--user alice:right --mechs PLAIN");
  e.site("ACME", port(relay.port()) + "<User>alice</User><Password>wrong</Password><AuthMethod>PLAIN</AuthMethod>");
  enqueue(e.db, "ACME", 1);
  Daemon d(e.db, e.cfg.path(), "[retry]\nauth_backoff = 600\n");
  Daemon::wait_for([&] { return count(e.db, "status = 'queued' AND attempts = 1 AND smtp_reply LIKE '535%'") == 1; }, 20,
                   "deferred");
  BOOST_TEST(count(e.db, "next_attempt_at > now() + interval '500 seconds'") == 1);  // auth_backoff, not the 1 s retry
  enqueue(e.db, "ACME", 2);  // new mail for the suspended site is not tried and spends no attempt
  Daemon::wait_for(
      [&] { return count(e.db, "status = 'queued' AND attempts = 0 AND last_error LIKE 'deferred: site suspended%'") == 2; }, 20,
      "new mail deferred too");
  BOOST_TEST(relay.auth_log() == "PLAIN fail\n");
  BOOST_TEST(count(e.db, "next_attempt_at > now() + interval '500 seconds'") == 3);
  BOOST_TEST(d.signal_and_wait(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(a_reused_connection_dropped_by_the_relay_is_replaced_not_deferred) {
  Env e("dropped");
  PyRelay relay("--close-after-message");
  e.site("ACME", port(relay.port()) + "<MaxConnections>1</MaxConnections>");
  enqueue(e.db, "ACME", 4);
  auto r = e.once();
  BOOST_TEST(r.code == 0, r.err);
  BOOST_TEST(count(e.db, "status = 'sent' AND attempts = 1") == 4);
  std::set<std::string> sessions;
  for (const auto& m : relay.received()) sessions.insert(m.session);
  BOOST_TEST(sessions.size() == 4u);  // one message per connection, as the relay wanted
}

BOOST_AUTO_TEST_CASE(permanent_failure_is_failed_with_the_reply_kept) {
  Env e("perm");
  SmtpSink sink("-f rcpt");
  e.site("ACME", port(sink.port()));
  enqueue(e.db, "ACME", 1);
  auto r = e.once();
  BOOST_TEST(r.code == 1);
  auto row = e.db.conn().exec("SELECT status, smtp_reply, last_error, attempts FROM outbox");
  BOOST_TEST(row.get(0, 0) == "failed");
  BOOST_TEST(row.get(0, 1).starts_with("5"), row.get(0, 1));
  BOOST_TEST(row.get(0, 2).find("rcpt:") == 0u, row.get(0, 2));
  BOOST_TEST(row.get(0, 3) == "1");
  auto q = e.ctl_cmd("queue --status failed");
  BOOST_TEST(q.out.find(" ACME failed attempts=1 ") != std::string::npos, q.out);
  BOOST_TEST(e.ctl_cmd("queue retry --failed").out == "requeued 1\n");
  BOOST_TEST(count(e.db, "status = 'queued'") == 1);
}

BOOST_AUTO_TEST_CASE(partial_recipient_failure_does_not_resend_accepted_recipients) {
  Env e("partial");
  PyRelay relay("");
  e.site("ACME", port(relay.port()));
  // aiosmtpd accepts everything; make one recipient undeliverable with an invalid domain literal it rejects
  e.db.conn().exec("INSERT INTO outbox (nvtgc, to_addrs, subject, body_text, done_rcpts) "
                   "VALUES ('ACME', 'a@dest.example, b@dest.example', 's', 'b', 'a@dest.example')");
  auto r = e.once();
  BOOST_TEST(r.code == 0, r.err);
  auto got = relay.received();
  BOOST_REQUIRE_EQUAL(got.size(), 1u);
  BOOST_TEST(got[0].rcpt_tos == std::vector<std::string>{"b@dest.example"});  // a@ was accepted before
  BOOST_TEST(count(e.db, "status = 'sent' AND done_rcpts = 'a@dest.example,b@dest.example'") == 1);
}

BOOST_AUTO_TEST_CASE(a_broken_site_is_held_while_others_deliver_then_released_by_reload) {
  Env e("held");
  SmtpSink sink;
  e.site("GOOD", port(sink.port()));
  e.site("BAD", port(sink.port()) + "<SslStartMode>sslFoo</SslStartMode>");
  enqueue(e.db, "GOOD", 3);
  enqueue(e.db, "BAD", 2);
  Daemon d(e.db, e.cfg.path());
  Daemon::wait_for([&] { return count(e.db, "nvtgc = 'GOOD' AND status = 'sent'") == 3; }, 20, "GOOD sent");
  Daemon::wait_for(
      [&] {
        return count(e.db, "nvtgc = 'BAD' AND last_error LIKE 'held: site configuration invalid: BAD.config:1: SslStartMode%'") ==
               2;
      },
      10, "BAD held");
  BOOST_TEST(count(e.db, "nvtgc = 'BAD' AND status = 'queued' AND attempts = 0") == 2);  // no attempts spent
  e.site("BAD", port(sink.port()) + "<SslStartMode>sslNone</SslStartMode>");
  BOOST_TEST(e.ctl_cmd("reload").code == 0);
  Daemon::wait_for([&] { return count(e.db, "nvtgc = 'BAD' AND status = 'sent'") == 2; }, 20, "BAD sent after reload");
  BOOST_TEST(sink.messages() == 5);
  // a reload that breaks a site again holds only that site (SIGHUP this time)
  e.site("GOOD", "<Timeout>soon</Timeout>");
  d.hup();
  Daemon::wait_for([&] { return d.log().find("event=config site=GOOD status=invalid") != std::string::npos; }, 10,
                   "GOOD invalid");
  enqueue(e.db, "GOOD", 1);
  enqueue(e.db, "BAD", 1);
  Daemon::wait_for([&] { return count(e.db, "nvtgc = 'BAD' AND status = 'sent'") == 3; }, 20, "BAD still sends");
  BOOST_TEST(count(e.db, "nvtgc = 'GOOD' AND status = 'queued' AND attempts = 0") == 1);
  BOOST_TEST(d.signal_and_wait(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(sigkill_mid_run_loses_nothing) {
  Env e("sigkill");
  PyRelay relay("");
  e.site("ACME", port(relay.port()) + "<MaxMessagesPerMinute>1200</MaxMessagesPerMinute><MaxConnections>2</MaxConnections>");
  enqueue(e.db, "ACME", 60);
  {
    Daemon d(e.db, e.cfg.path(), "", "first");
    Daemon::wait_for([&] { return relay.received().size() >= 10; }, 20, "some delivered");
    d.kill_now();  // SIGKILL: leases stay behind
  }
  BOOST_TEST(count(e.db, "status = 'sent'") < 60);
  Daemon d2(e.db, e.cfg.path(), "", "second");
  Daemon::wait_for([&] { return count(e.db, "status = 'sent'") == 60; }, 60, "all 60 sent after restart");
  auto ids = message_ids(relay.received());
  std::set<std::string> unique(ids.begin(), ids.end());
  BOOST_TEST(unique.size() == 60u);              // every message arrived
  BOOST_TEST(ids.size() - unique.size() <= 2u);  // duplicates only for the in-flight ones (<= MaxConnections)
  BOOST_TEST(d2.signal_and_wait(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(postgresql_restart_mid_run) {
  Env e("pgrestart");
  PyRelay relay("");
  e.site("ACME", port(relay.port()) + "<MaxMessagesPerMinute>600</MaxMessagesPerMinute>");
  enqueue(e.db, "ACME", 30);
  Daemon d(e.db, e.cfg.path());
  Daemon::wait_for([&] { return relay.received().size() >= 5; }, 20, "some delivered");
  auto r = run(std::string(SITEMAIL_SOURCE_DIR) + "/deploy/pg-cluster.sh restart " + std::getenv("SITEMAIL_TEST_PG_DIR"));
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  e.db.reconnect();
  enqueue(e.db, "ACME", 10);
  Daemon::wait_for([&] { return count(e.db, "status = 'sent'") == 40; }, 60, "all 40 sent after the restart");
  auto ids = message_ids(relay.received());
  std::set<std::string> unique(ids.begin(), ids.end());
  BOOST_TEST(unique.size() == 40u);
  BOOST_TEST(ids.size() == 40u);  // reconnecting neither lost nor duplicated a message
  BOOST_TEST(d.log().find("event=database status=down") != std::string::npos);
  BOOST_TEST(d.signal_and_wait(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(two_daemons_share_one_database_without_sending_twice) {
  Env e("two");
  PyRelay relay("");
  e.site("ACME", port(relay.port()) + "<MaxConnections>4</MaxConnections>");
  e.site("BETA", port(relay.port()) + "<MaxConnections>4</MaxConnections>");
  Daemon a(e.db, e.cfg.path(), "", "a");
  Daemon b(e.db, e.cfg.path(), "", "b");
  enqueue(e.db, "ACME", 100);
  enqueue(e.db, "BETA", 100);
  Daemon::wait_for([&] { return count(e.db, "status = 'sent'") == 200; }, 60, "200 sent");
  auto ids = message_ids(relay.received());
  std::set<std::string> unique(ids.begin(), ids.end());
  BOOST_TEST(unique.size() == 200u);
  BOOST_TEST(ids.size() == 200u);  // no message twice
  BOOST_TEST(a.log().find("event=delivery") != std::string::npos);
  BOOST_TEST(b.log().find("event=delivery") != std::string::npos);
  BOOST_TEST(a.signal_and_wait(SIGTERM) == 0);
  BOOST_TEST(b.signal_and_wait(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(sigterm_releases_work_and_once_exit_codes) {
  Env e("term");
  SmtpSink slow("-W data:2");  // (not rcpt: smtp-sink answers a pipelined DATA before a delayed RCPT)
  e.site("ACME", port(slow.port()) + "<MaxConnections>1</MaxConnections>");
  enqueue(e.db, "ACME", 20);
  Daemon d(e.db, e.cfg.path(), "[delivery]\nshutdown_grace = 5\n");
  Daemon::wait_for([&] { return count(e.db, "status = 'sending'") > 0; }, 10, "claimed");
  BOOST_TEST(d.signal_and_wait(SIGTERM, 20) == 0);
  BOOST_TEST(count(e.db, "status = 'sending'") == 0);
  BOOST_TEST(count(e.db, "status = 'queued' AND attempts = 0") + count(e.db, "status = 'sent'") == 20);
  Env empty("once_empty");
  BOOST_TEST(empty.once().code == 0);
}

BOOST_AUTO_TEST_CASE(ctl_enqueue_queue_cancel_retry) {
  Env e("ctlq");
  auto id = e.ctl_cmd("enqueue --site ACME --to a@dest.example,b@dest.example --cc c@dest.example --subject Hello");
  BOOST_TEST(id.code == 0, id.err);
  BOOST_TEST(count(e.db, "id = " + id.out.substr(0, id.out.size() - 1) +
                             " AND to_addrs = 'a@dest.example,b@dest.example' AND cc_addrs = 'c@dest.example'") == 1);
  BOOST_TEST(e.ctl_cmd("enqueue --site ACME --to 'x\r\nRCPT TO:<y@z>'").code == 1);
  BOOST_TEST(e.ctl_cmd("enqueue --to a@b.example").code == 2);
  std::string n = id.out.substr(0, id.out.size() - 1);
  BOOST_TEST(e.ctl_cmd("queue cancel " + n).out == "cancelled " + n + "\n");
  BOOST_TEST(e.ctl_cmd("queue cancel " + n).code == 1);
  BOOST_TEST(e.ctl_cmd("queue --status cancelled").out.find("\n" + n + " ACME cancelled") !=
             std::string::npos);  // after the header
  BOOST_TEST(e.ctl_cmd("queue retry " + n).code == 0);
  BOOST_TEST(e.ctl_cmd("queue retry 999999").code == 1);
  BOOST_TEST(e.ctl_cmd("queue retry abc").code == 2);
  auto json = e.ctl_cmd("queue --json");
  BOOST_TEST(json.out.find("\"status\":\"queued\"") != std::string::npos, json.out);
}
