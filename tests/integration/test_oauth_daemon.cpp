// test_oauth_daemon.cpp — sitemaild with OAuth 2.0: refresh-token rotation kept in the
// database across two `--once` runs (the old token becomes invalid_grant at the endpoint),
// one token request for many messages, a token revoked mid-run (one fresh token, then
// delivery), a short expires_in renewed, and endpoint errors deferring the site's mail.
#include <boost/test/unit_test.hpp>
#include <thread>

#include "oauth_env.hpp"

using namespace sitemail::test;

namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string stored_refresh_token(OAuthEnv& e) {
  auto r = e.db.conn().exec("SELECT refresh_token FROM oauth_refresh_tokens");
  return r.rows() == 1 ? r.get(0, 0) : "(" + std::to_string(r.rows()) + " rows)";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(oauth_daemon)

BOOST_AUTO_TEST_CASE(rotation_is_kept_in_the_database_across_two_daemon_runs) {
  OAuthEnv e("rotation");
  e.start_endpoint("--rotate --refresh-token RT-configured-0001");
  e.start_relay();
  e.site("<OAuthRefreshToken>RT-configured-0001</OAuthRefreshToken>\n");
  enqueue(e.db, "ACME", 5);
  auto first = e.once();
  BOOST_TEST(first.code == 0, first.out << first.err);
  BOOST_TEST(count(e.db, "status = 'sent'") == 5);
  BOOST_TEST(has(first.err, "event=oauth_token site=ACME result=obtained detail=\"grant=refresh_token expires_in="), first.err);
  BOOST_TEST(has(first.err, " refresh_token=rotated\""), first.err);
  auto reqs = e.requests();
  BOOST_REQUIRE_EQUAL(reqs.size(), 1u);  // one token for five messages
  BOOST_TEST(reqs[0].form.at("grant_type") == "refresh_token");
  BOOST_TEST(reqs[0].form.at("refresh_token") == "RT-configured-0001");
  const auto rotated = e.valid_refresh_tokens();
  BOOST_REQUIRE_EQUAL(rotated.size(), 1u);  // the configured one is now invalid_grant
  BOOST_TEST(stored_refresh_token(e) == rotated[0]);
  BOOST_TEST(e.db.conn().exec("SELECT nvtgc FROM oauth_refresh_tokens").get(0, 0) == "ACME");

  enqueue(e.db, "ACME", 2);
  auto second = e.once();
  BOOST_TEST(second.code == 0, second.out << second.err);
  BOOST_TEST(count(e.db, "status = 'sent'") == 7);
  reqs = e.requests();
  BOOST_REQUIRE_EQUAL(reqs.size(), 2u);
  BOOST_TEST(reqs[1].form.at("refresh_token") == rotated[0]);  // the stored one, not the configured one
  BOOST_TEST(stored_refresh_token(e) == e.valid_refresh_tokens().at(0));
  BOOST_TEST(stored_refresh_token(e) != rotated[0]);
  auto relay_log = e.relay_auth_log();
  BOOST_TEST(!has(relay_log, "fail"), relay_log);
  for (const auto* out : {&first.out, &first.err, &second.out, &second.err}) BOOST_TEST(e.leaked_in(*out) == "", *out);
  auto errors = e.db.conn().exec("SELECT coalesce(string_agg(coalesce(last_error,'') || smtp_reply, ' '), '') FROM outbox");
  BOOST_TEST(e.leaked_in(errors.get(0, 0)) == "");

  // The admin changes the configured value: it is used again (a new grant chain).
  const std::string current = e.valid_refresh_tokens().at(0);
  e.site("<OAuthRefreshToken>" + current + "</OAuthRefreshToken>\n");
  enqueue(e.db, "ACME", 1);
  auto third = e.once();
  BOOST_TEST(third.code == 0, third.out << third.err);
  BOOST_TEST(e.requests().back().form.at("refresh_token") == current);
  BOOST_TEST(e.db.conn().exec("SELECT 1 FROM oauth_refresh_tokens").rows() == 2);
}

BOOST_AUTO_TEST_CASE(endpoint_errors_defer_the_sites_mail_and_name_the_error) {
  OAuthEnv e("defer");
  e.start_endpoint("--refresh-token RT-valid-1");
  e.start_relay();
  e.site("<OAuthRefreshToken>RT-revoked-9</OAuthRefreshToken>\n");
  enqueue(e.db, "ACME", 2);
  auto r = e.once();
  BOOST_TEST(r.code == 1);
  BOOST_TEST(count(e.db, "status = 'queued'") == 2);  // deferred, never failed
  BOOST_TEST(count(e.db, "status = 'failed'") == 0);
  BOOST_TEST(count(e.db, "last_error LIKE '%token endpoint: invalid_grant: AADSTS70008%'") >= 1,
             e.db.conn().exec("SELECT coalesce(string_agg(last_error, ' | '), '') FROM outbox").get(0, 0));
  BOOST_TEST(has(r.err, "event=oauth_token site=ACME result=failed error=\"token endpoint: invalid_grant: AADSTS70008"), r.err);
  BOOST_TEST(!has(r.err, "RT-revoked-9"), r.err);
  BOOST_TEST(e.leaked_in(r.out + r.err) == "");
  BOOST_TEST(e.requests().size() == 1u);  // the site backs off: no request per message
  BOOST_TEST(e.relay_auth_log().empty());
}

BOOST_AUTO_TEST_CASE(a_revoked_token_gets_one_fresh_token_and_short_tokens_are_renewed) {
  OAuthEnv e("revoke");
  e.start_endpoint("--expires-in 3600");
  e.start_relay();
  e.site("<MaxConnections>3</MaxConnections>\n");
  Daemon d(e.db, e.cfg.path(), "", "oauth_revoke");
  enqueue(e.db, "ACME", 6);
  Daemon::wait_for([&] { return count(e.db, "status = 'sent'") == 6; }, 60, "6 sent");
  BOOST_TEST(e.requests().size() == 1u);  // three connections, one token (no stampede)
  const auto first = e.issued_tokens().at(0);
  // Revoke it at the relay; wait until the idle connections have said QUIT.
  e.revoke_all_tokens();
  std::this_thread::sleep_for(std::chrono::seconds(3));
  enqueue(e.db, "ACME", 1);
  Daemon::wait_for([&] { return count(e.db, "status = 'sent'") == 7; }, 60, "7th sent");
  BOOST_TEST(e.requests().size() == 2u);  // exactly one fresh token
  const auto log = e.relay_auth_log();
  BOOST_TEST(has(log, "XOAUTH2 fail token=" + first), log);
  const auto fresh = e.issued_tokens();  // the revoked one was removed from the file
  BOOST_REQUIRE_EQUAL(fresh.size(), 1u);
  BOOST_TEST(has(log, "XOAUTH2 ok token=" + fresh[0]), log);
  BOOST_TEST(count(e.db, "attempts > 1") == 0);  // the refusal did not count as a failed attempt
  BOOST_TEST(e.leaked_in(d.log()) == "", d.log());
  BOOST_TEST(!has(d.log(), first));
}

BOOST_AUTO_TEST_CASE(short_lived_tokens_are_renewed_before_use) {
  OAuthEnv e("short");
  e.start_endpoint("--expires-in 1");
  e.start_relay();
  e.site("");
  enqueue(e.db, "ACME", 1);
  BOOST_TEST(e.once().code == 0);
  Daemon d(e.db, e.cfg.path(), "", "oauth_short");
  enqueue(e.db, "ACME", 1);
  Daemon::wait_for([&] { return count(e.db, "status = 'sent'") == 2; }, 60, "2 sent");
  std::this_thread::sleep_for(std::chrono::seconds(3));  // the token (1 s) and the idle connection (2 s) are gone
  enqueue(e.db, "ACME", 1);
  Daemon::wait_for([&] { return count(e.db, "status = 'sent'") == 3; }, 60, "3 sent");
  BOOST_TEST(e.requests().size() == 3u);  // one per run/lifetime, renewed without a refusal
  BOOST_TEST(!has(e.relay_auth_log(), "fail"), e.relay_auth_log());
  BOOST_TEST(e.leaked_in(d.log()) == "");
}

BOOST_AUTO_TEST_SUITE_END()
