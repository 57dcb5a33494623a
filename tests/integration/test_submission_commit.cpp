// test_submission_commit.cpp — the submission door loses its database connection during the
// COMMIT of a message (CONTRACT §9: 250 only once the row is committed; a message not
// answered 250 is not queued). The door's backend is ended with pg_terminate_backend at that
// very moment, in both outcomes:
//   - before the commit record: a deferred constraint trigger makes COMMIT wait on an advisory
//     lock this test holds; terminated there, the transaction is rolled back -> 451, no row;
//   - after it: with synchronous_standby_names naming a standby that does not exist, COMMIT
//     waits for it after committing locally; terminated there, the row is committed -> the
//     door reconnects, finds its row and answers 250 with its id (no duplicate on retry).
// The second needs a server setting (ALTER SYSTEM), so this test runs its own PostgreSQL
// cluster in its temp folder instead of the shared one.
#define BOOST_TEST_MODULE integration_submission_commit
#include <boost/test/unit_test.hpp>

#include <future>

#include "submission_fixture.hpp"

using namespace sitemail;
using namespace sitemail::test;

namespace {

// A PostgreSQL cluster of this test only (deploy/pg-cluster.sh), with its durable defaults
// (synchronous_commit on: needed for the wait on a standby); SITEMAIL_TEST_PG_DIR points the
// TestDb of this process at it while it runs.
struct OwnCluster {
  TempDir dir{"pg"};
  std::string previous;
  OwnCluster() {
    if (const char* p = std::getenv("SITEMAIL_TEST_PG_DIR")) previous = p;
    auto r = run("env -u SITEMAIL_PG_FAST " + std::string(SITEMAIL_SOURCE_DIR) + "/deploy/pg-cluster.sh start " + dir.path());
    BOOST_REQUIRE_MESSAGE(r.code == 0, r.out + r.err);
    setenv("SITEMAIL_TEST_PG_DIR", dir.path().c_str(), 1);
  }
  ~OwnCluster() {
    run(std::string(SITEMAIL_SOURCE_DIR) + "/deploy/pg-cluster.sh stop " + dir.path());
    setenv("SITEMAIL_TEST_PG_DIR", previous.c_str(), 1);
  }
  OwnCluster(const OwnCluster&) = delete;
  OwnCluster& operator=(const OwnCluster&) = delete;
};

// The pid of the door's backend once it waits in COMMIT on `wait_event`, or 0.
int door_backend_waiting(TestDb& db, const std::string& wait_event) {
  auto r =
      db.conn().exec("SELECT pid FROM pg_stat_activity WHERE application_name = 'sitemaild submission' AND wait_event = $1 AND "
                     "query = 'COMMIT'",
                     {wait_event});
  return r.rows() == 1 ? static_cast<int>(r.get_int(0, 0)) : 0;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_connection_lost_during_commit_is_answered_by_what_was_committed) {
  OwnCluster cluster;
  Door d("sub_commit");
  d.add_user("app1", "pw1", "--site ACME");
  const std::string args = "--user app1 --password pw1 --from app@acme.example --to b@dest.example";
  auto& db = d.env.db;

  // 1. Terminated before the commit record: rolled back, 451 "not queued", no row.
  db.conn().exec("CREATE FUNCTION hold_commit() RETURNS trigger LANGUAGE plpgsql AS "
                 "$$BEGIN PERFORM pg_advisory_xact_lock_shared(4711); RETURN NULL; END$$");
  db.conn().exec("CREATE CONSTRAINT TRIGGER hold_commit AFTER INSERT ON outbox DEFERRABLE INITIALLY DEFERRED "
                 "FOR EACH ROW EXECUTE FUNCTION hold_commit()");
  db.conn().exec("SELECT pg_advisory_lock(4711)");
  auto first = std::async(std::launch::async, [&] { return d.send(args, "Subject: one\r\n\r\nfirst\r\n"); });
  int pid = 0;
  Daemon::wait_for([&] { return (pid = door_backend_waiting(db, "advisory")) != 0; }, 30, "the door's COMMIT held");
  BOOST_TEST(db.conn().exec("SELECT pg_terminate_backend($1)", {std::to_string(pid)}).get(0, 0) == "t");
  const auto r1 = first.get();
  db.conn().exec("SELECT pg_advisory_unlock(4711)");
  db.conn().exec("DROP TRIGGER hold_commit ON outbox");
  BOOST_TEST(r1.out.starts_with("REFUSED data 451 4.3.0 Error: message not queued"), r1.out + r1.err);
  BOOST_TEST(d.rows() == 0);

  // 2. Terminated after committing locally (waiting for a standby that does not exist): 250.
  struct ResetStandby {
    TestDb& db;
    ~ResetStandby() {
      try {
        db.conn().exec("ALTER SYSTEM RESET synchronous_standby_names");
        db.conn().exec("SELECT pg_reload_conf()");
      } catch (...) {
      }
    }
  } reset{db};
  db.conn().exec("ALTER SYSTEM SET synchronous_standby_names = 'sitemail_no_such_standby'");
  db.conn().exec("SELECT pg_reload_conf()");
  // A new backend sees the setting only after the postmaster has passed it to every backend.
  Daemon::wait_for(
      [&] {
        PgConn fresh(db.conninfo());
        return fresh.exec("SHOW synchronous_standby_names").get(0, 0) == "sitemail_no_such_standby";
      },
      30, "the standby setting loaded");
  auto second = std::async(std::launch::async, [&] { return d.send(args, "Subject: two\r\n\r\nsecond\r\n"); });
  Daemon::wait_for([&] { return (pid = door_backend_waiting(db, "SyncRep")) != 0; }, 30, "the door's COMMIT waiting");
  BOOST_TEST(db.conn().exec("SELECT pg_terminate_backend($1)", {std::to_string(pid)}).get(0, 0) == "t");
  const auto r2 = second.get();
  BOOST_REQUIRE_MESSAGE(r2.out.starts_with("SENT 250 2.0.0 Ok: queued as "), r2.out + r2.err);
  const auto id = queued_id(r2.out);
  BOOST_TEST(d.rows() == 1);
  BOOST_TEST(d.rows("id = " + std::to_string(id)) == 1);
  const auto log = d.daemon->log();
  BOOST_TEST(log.find("outcome=\"not committed: answered 451\"") != std::string::npos, log);
  BOOST_TEST(log.find("outcome=\"committed: answered 250\"") != std::string::npos, log);
  BOOST_TEST(log.find("event=submission user=app1 site=ACME id=" + std::to_string(id)) != std::string::npos);
}
