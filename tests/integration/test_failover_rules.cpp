// test_failover_rules.cpp — CONTRACT §11 against the real PostgreSQL of the test cluster:
// the dead-instance rule (a live instance that reconnects after a failover keeps its rows,
// a dead one's rows are taken over), the requeue of orphaned claims after a reconnect,
// the connection defaults added to a conninfo (the user's own values win; several hosts,
// key=value and URI form), a second connection pinned to the server the first reached, read-only errors counted as a lost
// connection, and the pooler probe on a direct connection. The whole failover is driven by tests/failover/drill.py.
#define BOOST_TEST_MODULE sitemail_integration_failover_rules
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <thread>

#include <map>

#include "migrations.hpp"
#include "queue_store.hpp"
#include "session_check.hpp"
#include "support.hpp"

using namespace sitemail;
using namespace sitemail::test;

namespace {

std::map<std::string, std::string> options(PgConn& c) {
  std::map<std::string, std::string> out;
  PQconninfoOption* o = PQconninfo(c.raw());
  for (auto* p = o; p && p->keyword; ++p)
    if (p->val) out[p->keyword] = p->val;
  PQconninfoFree(o);
  return out;
}

// A socket directory of the test cluster, from its key=value conninfo.
std::string cluster_socket_dir() {
  const auto ci = cluster_conninfo();
  const auto at = ci.find("host=");
  return ci.substr(at + 5, ci.find(' ', at) - at - 5);
}

// Instance `id` (of another process) with `n` rows in sending; its heartbeat `beat_age` s old.
void make_instance_with_rows(PgConn& db, int id, int n, int beat_age) {
  db.exec(
      "INSERT INTO sitemail_instance (id, owner, heartbeat_at) VALUES ($1, 'other:1:1', now() - make_interval(secs => $2::int))",
      {std::to_string(id), std::to_string(beat_age)});
  for (int i = 0; i < n; ++i)
    db.exec("INSERT INTO outbox (nvtgc, to_addrs, status, lease_owner, lease_instance, lease_until, attempts) "
            "VALUES ('S', 'a@b.example', 'sending', 'other:1:1', $1, now() + interval '300 s', 1)",
            {std::to_string(id)});
}

long long count(PgConn& db, const std::string& where) {
  return db.exec("SELECT count(*) FROM outbox WHERE " + where).get_int(0, 0);
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_live_instance_that_reconnects_within_the_grace_keeps_its_rows_after_a_failover) {
  TestDb t("fo_live");
  migrate(t.conn());
  make_instance_with_rows(t.conn(), 900, 5, 20);  // its session died with the old primary 20 s ago
  QueueStore observer(t.conn(), "me:2:2");
  observer.attach_instance(0);
  // The first look after the failover (this server started long ago: a promoted standby)
  // only marks it; nothing is taken over although its heartbeat is 20 s old.
  BOOST_TEST(observer.recover_dead(5).empty());
  BOOST_TEST(t.conn().exec("SELECT unlocked_since IS NOT NULL FROM sitemail_instance WHERE id = 900").get(0, 0) == "t");
  // It reconnects 6 s later: lock + heartbeat (what attach_instance does) clear the mark.
  t.conn().exec("UPDATE sitemail_instance SET unlocked_since = now() - interval '6 s' WHERE id = 900");
  PgConn it(t.conninfo());
  QueueStore live(it, "other:1:1");
  BOOST_TEST(live.attach_instance(900) == 900);
  BOOST_TEST(t.conn().exec("SELECT unlocked_since IS NULL FROM sitemail_instance WHERE id = 900").get(0, 0) == "t");
  t.conn().exec("UPDATE sitemail_instance SET heartbeat_at = now() - interval '20 s' WHERE id = 900");  // a slow beat
  BOOST_TEST(observer.recover_dead(5).empty());
  BOOST_TEST(count(t.conn(), "status = 'sending' AND lease_instance = 900") == 5);
}

BOOST_AUTO_TEST_CASE(a_dead_instances_rows_are_taken_over_once_it_has_been_seen_unlocked_for_the_grace) {
  TestDb t("fo_dead");
  migrate(t.conn());
  make_instance_with_rows(t.conn(), 901, 4, 20);
  QueueStore observer(t.conn(), "me:2:2");
  observer.attach_instance(0);
  BOOST_TEST(observer.recover_dead(5).empty());  // marked now
  t.conn().exec("UPDATE sitemail_instance SET unlocked_since = now() - interval '7 s' WHERE id = 901");
  BOOST_TEST(observer.recover_dead(5).empty());  // 7 s < 8 s
  t.conn().exec("UPDATE sitemail_instance SET unlocked_since = now() - interval '9 s' WHERE id = 901");
  auto r = observer.recover_dead(5);
  BOOST_TEST(r.size() == 1u);
  BOOST_TEST(r[901] == 4);
  BOOST_TEST(count(t.conn(), "status = 'queued'") == 4);
}

BOOST_AUTO_TEST_CASE(an_instance_seen_locked_in_this_session_is_taken_over_after_the_heartbeat_grace_alone) {
  TestDb t("fo_seen");
  migrate(t.conn());
  QueueStore observer(t.conn(), "me:2:2");
  observer.attach_instance(0);
  int id = 0;
  {
    PgConn other(t.conninfo());
    QueueStore it(other, "other:1:1");
    id = it.attach_instance(0);
    BOOST_TEST(observer.recover_dead(5).empty());  // seen holding its lock
    other.exec("INSERT INTO outbox (nvtgc, to_addrs, status, lease_owner, lease_instance, lease_until, attempts) "
               "VALUES ('S', 'a@b.example', 'sending', 'other:1:1', $1, now() + interval '300 s', 1)",
               {std::to_string(id)});
  }  // its session ends while this server runs on: it died
  // The server ends a closed session's backend (and frees its lock) a moment after the
  // client hangs up; wait for that, so the first look below surely sees no lock.
  for (int i = 0; i < 200; ++i) {
    auto held = t.conn().exec("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 "
                              "AND objid = $1::int::oid",
                              {std::to_string(id)});
    if (held.get_int(0, 0) == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  t.conn().exec("UPDATE sitemail_instance SET heartbeat_at = now() - interval '6 s' WHERE id = $1", {std::to_string(id)});
  BOOST_TEST(observer.recover_dead(5).empty());  // the first look marks it
  auto r = observer.recover_dead(5);             // no 8 s wait: the server did not move
  BOOST_TEST(r[id] == 1);
}

BOOST_AUTO_TEST_CASE(after_a_reconnect_rows_claimed_by_a_commit_whose_reply_was_lost_go_back_to_the_queue) {
  TestDb t("fo_orphan");
  migrate(t.conn());
  QueueStore me(t.conn(), "me:3:3");
  const int id = me.attach_instance(0);
  for (int i = 0; i < 3; ++i)
    t.conn().exec("INSERT INTO outbox (nvtgc, to_addrs, status, lease_owner, lease_instance, lease_until, attempts) "
                  "VALUES ('S', 'a@b.example', 'sending', 'me:3:3', $1, now() + interval '300 s', 2)",
                  {std::to_string(id)});
  const long long kept = t.conn().exec("SELECT min(id) FROM outbox").get_int(0, 0);
  BOOST_TEST(me.requeue_orphans({kept}) == 2);  // the two we never handed to delivery
  BOOST_TEST(count(t.conn(), "status = 'queued' AND attempts = 1 AND lease_owner IS NULL") == 2);  // attempt refunded
  BOOST_TEST(count(t.conn(), "status = 'sending' AND id = " + std::to_string(kept)) == 1);
}

BOOST_AUTO_TEST_CASE(keepalive_defaults_are_added_and_the_conninfos_own_values_win_in_both_forms) {
  const std::string dir = cluster_socket_dir();
  // several hosts, the first a socket directory where nothing listens
  PgConn kv("host=/nonexistent-sitemail," + dir + " dbname=postgres keepalives_idle=7 target_session_attrs=read-write " +
            cluster_conninfo().substr(cluster_conninfo().find("user=")));
  auto o = options(kv);
  BOOST_TEST(o["keepalives"] == "1");
  BOOST_TEST(o["keepalives_idle"] == "7");  // the user's
  BOOST_TEST(o["keepalives_interval"] == "2");
  BOOST_TEST(o["tcp_user_timeout"] == "10000");
  BOOST_TEST(o["connect_timeout"] == "3");
  BOOST_TEST(o["target_session_attrs"] == "read-write");
  BOOST_TEST(std::string(PQhost(kv.raw())) == dir);
  std::string enc;
  for (char c : dir) enc += c == '/' ? std::string("%2F") : std::string(1, c);
  const auto user = cluster_conninfo().substr(cluster_conninfo().find("user=") + 5);
  PgConn uri("postgresql://%2Fnonexistent-sitemail," + enc + "/postgres?user=" + user.substr(0, user.find(' ')) +
             "&tcp_user_timeout=1234&target_session_attrs=any");
  o = options(uri);
  BOOST_TEST(o["tcp_user_timeout"] == "1234");
  BOOST_TEST(o["target_session_attrs"] == "any");  // the user's
  BOOST_TEST(o["keepalives_count"] == "3");
  BOOST_TEST(uri.exec("SELECT 1").get(0, 0) == "1");
}

BOOST_AUTO_TEST_CASE(a_second_connection_reaches_the_server_the_first_found_and_tries_no_other_host) {
  const std::string dir = cluster_socket_dir();
  const auto rest = cluster_conninfo().substr(cluster_conninfo().find("user="));
  // the LISTEN connection of db_worker.cpp: of "a vanished host, then the cluster" it goes
  // straight to the cluster
  const std::string conninfo = "host=/nonexistent-sitemail," + dir + " dbname=postgres " + rest;
  PgConn first(conninfo);
  const auto same = pg_same_server(first.raw());
  BOOST_TEST(same.size() == 2u);  // a Unix socket: host and port, no address
  PgConn second(conninfo, same);
  auto o = options(second);
  BOOST_TEST(o["host"] == dir);  // only the host the first one reached
  BOOST_TEST(std::string(PQport(second.raw())) == std::string(PQport(first.raw())));
  BOOST_TEST(o["keepalives_idle"] == "5");  // the defaults still apply
  BOOST_TEST(second.exec("SELECT 1").get(0, 0) == "1");
  // the overrides win over the conninfo's own values: a wrong port is a refused connection
  BOOST_CHECK_THROW(PgConn(conninfo, {{"host", dir.c_str()}, {"port", "1"}}), PgError);
}

BOOST_AUTO_TEST_CASE(a_read_only_error_counts_as_a_lost_connection) {
  TestDb t("fo_ro");
  t.conn().exec("SET default_transaction_read_only = on");
  try {
    t.conn().exec("CREATE TABLE x (a int)");
    BOOST_FAIL("a write in a read-only transaction succeeded");
  } catch (const PgError& e) {
    BOOST_TEST(e.sqlstate() == "25006");
    BOOST_TEST(e.connection_lost());
  }
  BOOST_TEST(!PgError("syntax", "42601").connection_lost());
}

BOOST_AUTO_TEST_CASE(the_pooler_probe_finds_nothing_wrong_with_a_direct_connection) {
  TestDb t("fo_probe");
  PgConn second(t.conninfo());
  BOOST_TEST(session_pooling_problem(t.conn(), second) == "");
  BOOST_TEST(t.conn().exec("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()").get(0, 0) ==
             "0");
}
