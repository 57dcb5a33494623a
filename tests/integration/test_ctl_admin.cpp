// test_ctl_admin.cpp — the admin's everyday commands tell the whole truth (issue 11),
// against a real PostgreSQL and a real sitemaild: keys set reports the effective value and
// who overrides it, queue lists with a header, summary, held rows and escaped text,
// queue show/purge, the daemon's retention and held marks, reload acknowledgements.
#include <boost/test/unit_test.hpp>

#include "daemon_fixture.hpp"
#include "support.hpp"

using namespace sitemail;
using namespace sitemail::test;

namespace {

const std::string kExamples = SITEMAIL_SOURCE_DIR "/deploy/examples/config";
const std::string kGolden = SITEMAIL_SOURCE_DIR "/tests/fixtures/queue_golden/";

struct Admin {
  TestDb db;
  std::string config_dir;
  explicit Admin(const std::string& name, std::string dir = kExamples) : db(name), config_dir(std::move(dir)) {
    auto r = run(cmd("db migrate"));
    BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
    for (const char* kv : {"EMailSMTPServer 127.0.0.1", "EMailFromAddress ill@library.example"})
      BOOST_REQUIRE(run(cmd(std::string("keys set ") + kv)).code == 0);
  }
  std::string cmd(const std::string& args) const {
    return ctl() + " --database " + db.quoted() + " --config-dir " + shell_quote(config_dir) + " " + args;
  }
  RunResult operator()(const std::string& args) const { return run(cmd(args)); }
  std::string value(const std::string& site, const std::string& key) {
    auto r = db.conn().exec("SELECT value FROM customization WHERE nvtgc = $1 AND custkey = $2", {site, key});
    return r.rows() ? r.get(0, 0) : "(none)";
  }
};

bool valid_json(const std::string& text) {
  TempDir d("json");
  d.write("x.json", text);
  return run("/usr/bin/python3 -c 'import json,sys; json.load(open(sys.argv[1]))' " + d.path() + "/x.json").code == 0;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(admin_keys)

BOOST_AUTO_TEST_CASE(keys_set_prints_the_effective_value_and_names_the_layer_that_overrides_it) {
  Admin a("keys_effective");
  // ACME.config:5 sets EMailSMTPPort 2525-nossl, above db:ACME.
  auto r = a("keys set EMailSMTPPort 41639 --site ACME");
  BOOST_TEST(r.code == 0, r.err);
  BOOST_TEST(r.out == "db:ACME EMailSMTPPort = 41639\neffective for ACME: EMailSMTPPort = 2525-nossl (ACME.config:5)\n");
  BOOST_TEST(r.err == "sitemailctl: warning: EMailSMTPPort of site ACME comes from ACME.config:5, which overrides db:ACME\n");
  // Nothing overrides it for BETA: no warning, the new value is the effective one.
  auto beta = a("keys set EMailSMTPPort 2626 --site BETA");
  BOOST_TEST(beta.out == "db:BETA EMailSMTPPort = 2626\neffective for BETA: EMailSMTPPort = 2626 (db:BETA)\n");
  BOOST_TEST(beta.err.empty(), beta.err);
}

BOOST_AUTO_TEST_CASE(keys_set_for_an_unknown_site_creates_it_but_says_so) {
  Admin a("keys_unknown_site");
  BOOST_REQUIRE(a("keys set Timeout 5 --site UNIV").code == 0);
  auto typo = a("keys set Timeout 9 --site UNVI");
  BOOST_TEST(typo.code == 0);
  BOOST_TEST(typo.err.find("site UNVI is not known yet") != std::string::npos, typo.err);
  BOOST_TEST(typo.err.find("did you mean UNIV?") != std::string::npos, typo.err);
  BOOST_TEST(a.value("UNVI", "Timeout") == "9");  // still created: that is how a DB-only site is born
  auto far = a("keys set Timeout 9 --site ZZTOP");
  BOOST_TEST(far.err.find("site ZZTOP is not known yet") != std::string::npos, far.err);
  BOOST_TEST(far.err.find("did you mean") == std::string::npos, far.err);
  auto known = a("keys set Timeout 7 --site UNIV");
  BOOST_TEST(known.err.find("not known") == std::string::npos, known.err);
}

BOOST_AUTO_TEST_CASE(keys_set_stores_canonical_spellings_and_names_removed_variants) {
  Admin a("keys_canonical");
  a.db.conn().exec("INSERT INTO customization (custkey, value, nvtgc) VALUES ('EmailSecure', 'Yes', 'ILL')");
  auto r = a("keys set emailsecure no");
  BOOST_TEST(r.code == 0, r.err);
  BOOST_TEST(r.err.find("sitemailctl: removed db:ILL EmailSecure (another spelling of EMailSecure)") != std::string::npos, r.err);
  BOOST_TEST(a.value("ILL", "EMailSecure") == "No");
  BOOST_TEST(a.value("ILL", "EmailSecure") == "(none)");
  BOOST_REQUIRE(a("keys set SslStartMode 2 --site ACME").code == 0);
  BOOST_TEST(a.value("ACME", "SslStartMode") == "sslExplicit");
  BOOST_REQUIRE(a("keys set AuthMethod amsaslplain --site ACME").code == 0);
  BOOST_TEST(a.value("ACME", "AuthMethod") == "LoginPlainMethod");
  a.db.conn().exec("INSERT INTO customization (custkey, value, nvtgc) VALUES ('MailPort', '26', 'BETA')");
  auto unset = a("keys unset EMailSMTPPort --site BETA");
  BOOST_TEST(unset.err.find("removed db:BETA MailPort (another spelling of EMailSMTPPort)") != std::string::npos, unset.err);
}

BOOST_AUTO_TEST_CASE(keys_set_dash_reads_the_secret_from_standard_input) {
  Admin a("keys_stdin");
  auto r = run("printf 'hunter2 with spaces\\n' | " + a.cmd("keys set SMTPPassword - --site ACME"));
  BOOST_TEST(r.code == 0, r.err);
  BOOST_TEST(a.value("ACME", "SMTPPassword") == "hunter2 with spaces");
  BOOST_TEST(r.out.find("hunter2") == std::string::npos, r.out);
  BOOST_TEST(r.out.find("SMTPPassword = (set)") != std::string::npos, r.out);
  auto empty = run(a.cmd("keys set SMTPPassword - --site ACME") + " < /dev/null");
  BOOST_TEST(empty.code == 2);
  BOOST_TEST(empty.err.find("no line on standard input") != std::string::npos, empty.err);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(admin_queue)

BOOST_AUTO_TEST_CASE(queue_lists_with_a_header_a_summary_and_escaped_text) {
  TempDir dir("queue_list");
  dir.write("BAD.config", "<MailSettings>\n<EMailSMTPPort>smtp</EMailSMTPPort>\n</MailSettings>\n");
  Admin a("queue_list", dir.path());
  BOOST_REQUIRE(a("enqueue --site ACME --to a@x.example --subject hello").code == 0);
  auto held = a("enqueue --site BAD --to b@x.example --subject held");
  BOOST_TEST(held.code == 0);
  BOOST_TEST(held.err.find("is held: site configuration invalid: BAD.config:2: EMailSMTPPort: error:") != std::string::npos,
             held.err);
  a.db.conn().exec(
      "INSERT INTO outbox (nvtgc, to_addrs, subject, status) VALUES "
      "('ACME', 'c@x.example', E'line one\\nFAKE 99 ACME sent', 'sent'), ('EV\nIL', 'd@x.example', 's', 'cancelled')");
  auto r = a("queue");
  BOOST_TEST(r.code == 0, r.err);
  std::istringstream lines(r.out);
  std::vector<std::string> l;
  for (std::string s; std::getline(lines, s);) l.push_back(s);
  BOOST_REQUIRE_EQUAL(l.size(), 6u);
  BOOST_TEST(l[0] == "ID SITE STATUS attempts=N next=UTC to=ADDRESSES subject=\"...\" [error=\"...\"]");
  BOOST_TEST(l[1].find(" EV\\nIL cancelled ") != std::string::npos, l[1]);
  BOOST_TEST(l[2].find(" ACME sent ") != std::string::npos, l[2]);
  BOOST_TEST(l[2].find("subject=\"line one\\nFAKE 99 ACME sent\"") != std::string::npos, l[2]);
  BOOST_TEST(l[3].find(" BAD held ") != std::string::npos, l[3]);
  BOOST_TEST(l[3].find("error=\"held: site configuration invalid: BAD.config:2:") != std::string::npos, l[3]);
  BOOST_TEST(l[4].find(" ACME queued ") != std::string::npos, l[4]);
  BOOST_TEST(l[5] == "-- 4 messages: 2 queued (1 held), 1 sent, 1 cancelled");
  auto by_site = a("queue --by-site --limit 1");
  BOOST_TEST(by_site.out.find("-- 4 messages: 2 queued (1 held), 1 sent, 1 cancelled (1 shown)\n"
                              "-- ACME: 2 messages: 1 queued, 1 sent\n-- BAD: 1 message: 1 queued (1 held)\n"
                              "-- EV\\nIL: 1 message: 1 cancelled\n") != std::string::npos,
             by_site.out);
  auto only_held = a("queue --status held");
  BOOST_TEST(only_held.out.find("-- 1 message: 1 queued (1 held)\n") != std::string::npos, only_held.out);
  auto json = a("queue --json --by-site");
  BOOST_TEST(valid_json(json.out), json.out);
  BOOST_TEST(json.out.find("\"held\":true") != std::string::npos);
  BOOST_TEST(a("queue --status bogus").code == 2);
}

// Golden files: the listings as an admin sees them, rows with fixed times.
BOOST_AUTO_TEST_CASE(queue_listing_and_show_match_the_golden_files) {
  Admin a("queue_golden");
  a.db.conn().exec(
      "INSERT INTO outbox (id, nvtgc, to_addrs, cc_addrs, from_addr, subject, headers, status, attempts, last_error, smtp_reply,"
      " message_id, done_rcpts, body_text, created_at, next_attempt_at, sent_at) VALUES "
      "(1, 'ACME', 'a@x.example', NULL, NULL, 'hello', NULL, 'queued', 0, NULL, NULL, NULL, NULL, 'hi',"
      " '2026-01-02 03:04:05Z', '2026-01-02 03:04:05Z', NULL),"
      "(2, 'ACME', 'Ann <b@x.example>, c@x.example', 'd@x.example', 'ill@acme.example', E'Overdue\nBcc: everyone@x.example',"
      " E'X-Ref: 7\nX-Tab:\tvalue', 'sent', 1, 'refused for good: c@x.example (550 5.1.1 no such user)', '250 2.0.0 Ok: queued as 7',"
      " '<sitemail.2.acme@acme.example>', 'b@x.example,d@x.example', 'body', '2026-01-02 03:05:00Z', '2026-01-02 03:05:00Z',"
      " '2026-01-02 03:05:02Z'),"
      "(3, 'BAD', 'e@x.example', NULL, NULL, 'held one', NULL, 'queued', 0,"
      " 'held: site configuration invalid: BAD.config:2: EMailSMTPPort: error: ''smtp'' is not a port number', NULL, NULL, NULL,"
      " NULL, '2026-01-02 03:06:00Z', '2026-01-02 03:06:00Z', NULL),"
      "(4, E'EV\nIL', 'f@x.example', NULL, NULL, 's', NULL, 'cancelled', 0, NULL, NULL, NULL, NULL, NULL,"
      " '2026-01-02 03:07:00Z', '2026-01-02 03:07:00Z', NULL),"
      "(5, 'ACME', 'g@x.example', NULL, NULL, 'gone', NULL, 'failed', 5, 'rcpt: 550 5.1.1 no such user', '550 5.1.1 no such user',"
      " NULL, NULL, NULL, '2026-01-02 03:08:00Z', '2026-01-02 04:08:00Z', NULL)");
  auto list = a("queue --by-site");
  BOOST_TEST(list.code == 0, list.err);
  BOOST_TEST(list.out == slurp(kGolden + "queue_by_site.txt"), list.out);
  auto show = a("queue show 2");
  BOOST_TEST(show.code == 0, show.err);
  BOOST_TEST(show.out == slurp(kGolden + "queue_show_2.txt"), show.out);
  BOOST_TEST(valid_json(a("queue show 2 --json").out));
  BOOST_TEST(valid_json(a("queue --json --by-site").out));
}

BOOST_AUTO_TEST_CASE(queue_show_prints_one_message_with_its_recipients) {
  Admin a("queue_show");
  a.db.conn().exec(
      "INSERT INTO outbox (id, nvtgc, to_addrs, cc_addrs, bcc_addrs, from_addr, subject, headers, status, attempts, "
      "last_error, done_rcpts, body_text) VALUES (42, 'ACME', 'Ann <a@x.example>, b@x.example', 'c@x.example', 'd@x.example', "
      "'ill@acme.example', E'Sub\\rject', E'X-Ref: 7\\nX-Evil: a\\u0007b', 'queued', 2, "
      "'deferred recipients: b@x.example (451 later); refused for good: c@x.example (550 no)', 'a@x.example', 'hello')");
  auto r = a("queue show 42");
  BOOST_TEST(r.code == 0, r.err);
  for (const char* want : {"id: 42\n", "site: ACME\n", "status: queued\n", "attempts: 2\n", "from: ill@acme.example\n",
                           "to: Ann <a@x.example>, b@x.example\n", "subject: Sub\\rject\n", "body: 5 bytes text, 0 bytes html\n",
                           "headers:\n  X-Ref: 7\n  X-Evil: a\\x07b\n", "last_error: deferred recipients:",
                           "recipients:\n  to a@x.example accepted\n  to b@x.example pending\n  cc c@x.example refused\n"
                           "  bcc d@x.example pending\n"})
    BOOST_TEST(r.out.find(want) != std::string::npos, want << " in\n" << r.out);
  auto json = a("queue show 42 --json");
  BOOST_TEST(valid_json(json.out), json.out);
  BOOST_TEST(json.out.find("{\"kind\":\"cc\",\"address\":\"c@x.example\",\"state\":\"refused\"}") != std::string::npos, json.out);
  auto missing = a("queue show 4242");
  BOOST_TEST(missing.code == 1);
  BOOST_TEST(missing.err == "sitemailctl: no message 4242\n");
  BOOST_TEST(a("queue show abc").code == 2);
}

BOOST_AUTO_TEST_CASE(queue_purge_deletes_only_old_finished_mail) {
  Admin a("queue_purge");
  a.db.conn().exec("INSERT INTO outbox (nvtgc, to_addrs, status, created_at) VALUES "
                   "('ACME', 'a@x.example', 'sent', now() - interval '40 days'),"
                   "('ACME', 'b@x.example', 'cancelled', now() - interval '40 days'),"
                   "('ACME', 'c@x.example', 'failed', now() - interval '40 days'),"
                   "('ACME', 'd@x.example', 'queued', now() - interval '40 days'),"
                   "('ACME', 'e@x.example', 'sent', now() - interval '2 days')");
  auto r = a("queue purge --older-than 30d");
  BOOST_TEST(r.code == 0, r.err);
  BOOST_TEST(r.out == "purged 2\n");
  BOOST_TEST(count(a.db, "true") == 3);
  BOOST_TEST(a("queue purge --older-than 30d --status failed").out == "purged 1\n");
  BOOST_TEST(count(a.db, "status = 'queued'") == 1);  // queued mail is never purged
  BOOST_TEST(a("queue purge --older-than 1d").out == "purged 1\n");
  auto queued = a("queue purge --older-than 1d --status queued");
  BOOST_TEST(queued.code == 2);
  BOOST_TEST(queued.err.find("'queued' is not one of sent, failed, cancelled") != std::string::npos, queued.err);
  BOOST_TEST(a("queue purge --older-than 30x").code == 2);
  BOOST_TEST(a("queue purge").code == 2);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(admin_daemon)

BOOST_AUTO_TEST_CASE(daemon_marks_new_mail_of_an_invalid_site_held_and_purges_old_mail) {
  TempDir dir("held_daemon");
  dir.write("BAD.config", "<MailSettings>\n<EMailSMTPPort>smtp</EMailSMTPPort>\n</MailSettings>\n");
  Admin a("held_daemon", dir.path());
  a.db.conn().exec("INSERT INTO outbox (nvtgc, to_addrs, status, created_at) VALUES "
                   "('ACME', 'a@x.example', 'sent', now() - interval '3 days'),"
                   "('ACME', 'b@x.example', 'sent', now() - interval '1 hour')");
  const int closed_port = free_port();  // nothing listens: the connection is refused
  dir.write("DOWN.config", "<MailSettings><EMailSMTPPort>" + std::to_string(closed_port) + "</EMailSMTPPort></MailSettings>");
  a.db.conn().exec("INSERT INTO outbox (nvtgc, to_addrs, subject) VALUES ('DOWN', 'z@y.example', 'unreachable')");
  Daemon d(a.db, dir.path(), "[queue]\nretention_days = 2\n", "held");
  // The delivery log names the relay it tried even though it never connected.
  Daemon::wait_for([&] { return d.log().find("event=delivery site=DOWN") != std::string::npos; }, 30, "DOWN attempt");
  BOOST_TEST(d.log().find("relay=127.0.0.1:" + std::to_string(closed_port) + " result=deferred") != std::string::npos, d.log());
  // Inserted by an application after the daemon loaded its configuration.
  a.db.conn().exec("INSERT INTO outbox (nvtgc, to_addrs, subject) VALUES ('BAD', 'x@y.example', 'after start')");
  Daemon::wait_for(
      [&] { return count(a.db, "nvtgc = 'BAD' AND last_error LIKE 'held: site configuration invalid: BAD.config:2:%'") == 1; },
      30, "held mark");
  BOOST_TEST(count(a.db, "nvtgc = 'BAD' AND status = 'queued' AND attempts = 0") == 1);
  Daemon::wait_for([&] { return count(a.db, "status = 'sent'") == 1; }, 30, "retention purge");
  BOOST_TEST(d.log().find("event=purged rows=1 older_than_days=2") != std::string::npos, d.log());
}

BOOST_AUTO_TEST_CASE(reload_counts_acknowledgements_and_fails_when_no_daemon_answers) {
  Admin a("reload_ack");
  auto none = a("reload --wait 1");
  BOOST_TEST(none.code == 1);
  BOOST_TEST(none.out == "reload acknowledged by 0 daemons\n");
  BOOST_TEST(none.err.find("no running sitemaild acknowledged within 1 s") != std::string::npos, none.err);
  Daemon d(a.db, kExamples, "", "reload");
  auto one = a("reload --wait 30");
  BOOST_TEST(one.code == 0, one.out << one.err);
  BOOST_TEST(one.out.find("reload acknowledged by 1 daemon\n  ") == 0u, one.out);
  BOOST_TEST(one.out.find(" ok sites=") != std::string::npos, one.out);
  BOOST_TEST(d.log().find("event=reload reason=notify request=") != std::string::npos, d.log());
  BOOST_TEST(a.db.conn().exec("SELECT count(*) FROM reload_ack WHERE result = 'ok'").get_int(0, 0) == 1);
  Daemon second(a.db, kExamples, "", "reload2");
  auto two = a("reload --wait 30");
  BOOST_TEST(two.code == 0, two.out << two.err);
  BOOST_TEST(two.out.find("reload acknowledged by 2 daemons\n") == 0u, two.out);
  BOOST_TEST(second.log().find("event=reload reason=notify") != std::string::npos, second.log());
  d.hup();
  Daemon::wait_for([&] { return d.log().find("event=reload reason=SIGHUP") != std::string::npos; }, 20, "SIGHUP reload");
  BOOST_TEST(a("reload --wait x").code == 2);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(every_command_help_lists_its_own_options_and_allowed_values) {
  auto purge = run(ctl() + " queue purge --help");
  BOOST_TEST(purge.code == 0);
  BOOST_TEST(purge.out.find("usage: sitemailctl queue purge --older-than DURATION") == 0u, purge.out);
  BOOST_TEST(purge.out.find("  --older-than DURATION   required: age since queued") != std::string::npos, purge.out);
  BOOST_TEST(purge.out.find("sent, failed, cancelled") != std::string::npos, purge.out);
  BOOST_TEST(purge.out.find("--send-to") == std::string::npos, purge.out);       // another command's option
  BOOST_TEST(purge.out.find("--database arg") != std::string::npos, purge.out);  // the common options too
  auto queue = run(ctl() + " queue --help");
  BOOST_TEST(queue.out.find("queued, held") != std::string::npos, queue.out);
  BOOST_TEST(queue.out.find("sent, failed, cancelled") != std::string::npos, queue.out);
  BOOST_TEST(queue.out.find("--older-than") == std::string::npos, queue.out);
  auto test = run(ctl() + " test --help");
  BOOST_TEST(test.out.find("  --timeout SECONDS       seconds per network operation") != std::string::npos, test.out);
  BOOST_TEST(test.out.find("--transcript") != std::string::npos, test.out);
  auto top = run(ctl() + " --help");
  BOOST_TEST(top.out.find("queue show ID") != std::string::npos, top.out);
  BOOST_TEST(top.out.find("reload [--wait SECONDS]") != std::string::npos, top.out);
}
