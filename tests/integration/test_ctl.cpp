// test_ctl.cpp — sitemailctl and sitemaild --check-config against a real PostgreSQL 15,
// checked from outside as an admin uses them: exit codes, output lines, table rows.
#define BOOST_TEST_MODULE sitemail_integration_ctl
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <filesystem>

#include "migrations.hpp"
#include "support.hpp"

using namespace sitemail;
using namespace sitemail::test;

namespace {

const std::string kExamples = SITEMAIL_SOURCE_DIR "/deploy/examples/config";
const std::string kGolden = SITEMAIL_SOURCE_DIR "/tests/fixtures/golden/examples/expected";

struct Ctl {
  TestDb db;
  std::string config_dir;
  explicit Ctl(const std::string& name, std::string dir = kExamples) : db(name), config_dir(std::move(dir)) {
    auto r = run(cmd("db migrate"));
    BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  }
  std::string cmd(const std::string& args) const {
    return ctl() + " --database " + db.quoted() + " --config-dir " + shell_quote(config_dir) + " " + args;
  }
  RunResult operator()(const std::string& args) const { return run(cmd(args)); }
  void load_example_keys() {
    std::istringstream in(slurp(SITEMAIL_SOURCE_DIR "/deploy/examples/keys.txt"));
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream ls(line);
      std::string site, key, value;
      ls >> site >> key;
      std::getline(ls, value);
      value.erase(0, value.find_first_not_of(' '));
      auto r = (*this)("keys set " + key + " " + shell_quote(value) + " --site " + site);
      BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
    }
  }
  int rows(const std::string& where) {
    return static_cast<int>(db.conn().exec("SELECT count(*) FROM customization WHERE " + where).get_int(0, 0));
  }
};

bool valid_json(const std::string& text) {
  TempDir d("json");
  d.write("x.json", text);
  return run("/usr/bin/python3 -c 'import json,sys; json.load(open(sys.argv[1]))' " + d.path() + "/x.json").code == 0;
}

}  // namespace

BOOST_AUTO_TEST_CASE(migrate_is_idempotent_and_records_the_version) {
  Ctl c("migrate");
  // Expected: every sql/NNN_name.sql, in order (so adding a migration needs no edit here).
  std::vector<std::string> names;
  for (const auto& f : std::filesystem::directory_iterator(std::string(SITEMAIL_SOURCE_DIR) + "/sql"))
    if (f.path().extension() == ".sql") names.push_back(f.path().stem().string());
  std::sort(names.begin(), names.end());
  BOOST_REQUIRE(!names.empty());
  std::string joined;
  for (const auto& n : names) joined += (joined.empty() ? "" : ",") + n;
  auto again = c("db migrate");
  BOOST_TEST(again.code == 0);
  BOOST_TEST(again.out == "schema version " + std::to_string(std::stoi(names.back().substr(0, 3))) + " (already up to date)\n");
  auto v = c.db.conn().exec("SELECT array_to_string(array_agg(name ORDER BY version), ',') FROM sitemail_schema_version");
  BOOST_TEST(v.get(0, 0) == joined);
  BOOST_TEST(joined.starts_with("001_customization,002_outbox,003_outbox_notify,004_queue_indexes,005_instances"));
}

BOOST_AUTO_TEST_CASE(insert_into_outbox_sends_a_notify) {
  Ctl c("notify");
  PgConn listener(c.db.conninfo());
  listener.exec("LISTEN sitemail_outbox");
  c.db.conn().exec(
      "INSERT INTO outbox (nvtgc, to_addrs, subject) VALUES ('ACME', 'a@b.example', 's'), ('ACME', 'c@d.example', 't')");
  int notes = 0;
  for (int i = 0; i < 50 && notes == 0; ++i) {
    PQconsumeInput(listener.raw());
    while (PGnotify* n = PQnotifies(listener.raw())) {
      ++notes;
      PQfreemem(n);
    }
    if (!notes) usleep(20000);
  }
  BOOST_TEST(notes == 1);  // one per statement, not per row
  auto row = c.db.conn().exec("SELECT status, attempts, next_attempt_at <= now() FROM outbox LIMIT 1");
  BOOST_TEST(row.get(0, 0) == "queued");
  BOOST_TEST(row.get(0, 1) == "0");
  BOOST_TEST(row.get(0, 2) == "t");
}

BOOST_AUTO_TEST_CASE(keys_set_validates_before_writing) {
  Ctl c("keys_validate");
  auto bad = c("keys set SslStartMode sslFoo --site ACME");
  BOOST_TEST(bad.code == 1);
  BOOST_TEST(bad.err.find("db:ACME: SslStartMode: error: 'sslFoo' is not one of sslAutomatic(0)") == 0u, bad.err);
  BOOST_TEST(c.rows("true") == 0);
  auto port = c("keys set EMailSMTPPort 587-foo");
  BOOST_TEST(port.code == 1);
  BOOST_TEST(port.err.find("db:ILL: EMailSMTPPort: error: unknown port suffix 'foo'") == 0u, port.err);
  auto unknown = c("keys set EMailSecur Yes");
  BOOST_TEST(unknown.code == 1);
  BOOST_TEST(unknown.err == "sitemailctl: unknown setting 'EMailSecur'; did you mean EMailSecure?\n");
  BOOST_TEST(c.rows("true") == 0);
}

BOOST_AUTO_TEST_CASE(keys_set_get_list_unset_and_secrets_never_print) {
  Ctl c("keys_roundtrip");
  BOOST_TEST(c("keys set SMTPPassword hunter2-secret --site ACME").code == 0);
  BOOST_TEST(c("keys set Host relay.acme.example --site ACME").code == 0);
  auto get = c("keys get SMTPPassword --site ACME");
  BOOST_TEST(get.code == 0);
  BOOST_TEST(get.out == "(set)\n");
  auto list = c("keys list --site ACME");
  BOOST_TEST(list.out == "ACME EMailSMTPServer = relay.acme.example\nACME SMTPPassword = (set)\n");
  auto json = c("keys list --json");
  BOOST_TEST(valid_json(json.out), json.out);
  for (const auto& r : {get, list, json}) BOOST_TEST(r.out.find("hunter2") == std::string::npos);
  auto show = c("show --site ACME --explain");
  BOOST_TEST(show.out.find("hunter2") == std::string::npos);
  BOOST_TEST(show.out.find("SMTPPassword = (set)  [db:ACME]") != std::string::npos, show.out);
  BOOST_TEST(c("keys unset SMTPPassword --site ACME").code == 0);
  BOOST_TEST(c("keys get SMTPPassword --site ACME").code == 1);
  BOOST_TEST(c.rows("nvtgc = 'ACME'") == 1);
}

BOOST_AUTO_TEST_CASE(keys_set_replaces_alias_and_case_variants_with_the_canonical_row) {
  Ctl c("keys_alias");
  c.db.conn().exec(
      "INSERT INTO customization (custkey, value, nvtgc) VALUES ('EmailSecure', 'Yes', 'ILL'), ('ILLiadWebURL', 'x', 'ILL')");
  BOOST_TEST(c("keys set EMailSecure No").code == 0);
  auto r = c.db.conn().exec("SELECT custkey, value, admintype FROM customization WHERE custkey ILIKE 'emailsecure'");
  BOOST_REQUIRE(r.rows() == 1);
  BOOST_TEST(r.get(0, 0) == "EMailSecure");
  BOOST_TEST(r.get(0, 1) == "No");
  BOOST_TEST(r.get(0, 2) == "YesNo");
  BOOST_TEST(c.rows("custkey = 'ILLiadWebURL'") == 1);  // another application's key is left alone
  BOOST_TEST(c("keys list").out.find("ILLiadWebURL") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(show_explain_matches_the_golden_files_for_the_examples) {
  Ctl c("golden");
  c.load_example_keys();
  auto sites = c("sites");
  BOOST_TEST(sites.code == 0, sites.err);
  BOOST_TEST(sites.out == slurp(kGolden + "/sites.txt"));
  for (const char* site : {"ACME", "BETA", "ILL"}) {
    auto r = c(std::string("show --explain --site ") + site);
    BOOST_TEST(r.code == 0);
    BOOST_TEST(r.out == slurp(kGolden + "/" + site + ".txt"), site);
    auto plain = c(std::string("show --site ") + site);
    BOOST_TEST(plain.out.find("EMailSMTPServer = 127.0.0.1\n") == 0u, plain.out);
    BOOST_TEST(valid_json(c(std::string("show --json --site ") + site).out));
  }
  BOOST_TEST(valid_json(c("sites --json").out));
  BOOST_TEST(valid_json(c("check --json").out));
}

BOOST_AUTO_TEST_CASE(a_bad_db_row_makes_only_that_site_invalid) {
  Ctl c("bad_row");
  c.load_example_keys();
  c.db.conn().exec("INSERT INTO customization (custkey, value, nvtgc) VALUES ('EMailSMTPPort', 'smtp', 'BETA')");
  auto sites = c("sites");
  BOOST_TEST(sites.code == 1);
  BOOST_TEST(sites.out.find("BETA invalid db,BETA.config db:BETA: EMailSMTPPort: error: 'smtp' is not a port number\n") !=
                 std::string::npos,
             sites.out);
  BOOST_TEST(sites.out.find("ACME valid") != std::string::npos);
  BOOST_TEST(sites.out.find("ILL valid") != std::string::npos);
  auto check = c("check");
  BOOST_TEST(check.code == 1);
  // Sorted by file and line; the example BETA.config also shows the SslStartMode warning.
  BOOST_TEST(check.out == "BETA.config:6: SslStartMode: warning: sslExplicit is ignored because EMailSecure is No: mail goes out "
                          "without TLS (set EMailSecure = Yes)\n"
                          "db:BETA: EMailSMTPPort: error: 'smtp' is not a port number\n");
  BOOST_TEST(c("check --site ACME").code == 0);
  auto show = c("show --site BETA");
  BOOST_TEST(show.code == 1);
  BOOST_TEST(show.out.find("EMailSMTPPort = (invalid)\n") != std::string::npos);
  auto daemon_check = run(daemon() + " --check-config --database " + c.db.quoted() + " --config-dir " + kExamples);
  BOOST_TEST(daemon_check.code == 1);
  BOOST_TEST(daemon_check.out.find("\ndb:BETA: EMailSMTPPort: error:") != std::string::npos, daemon_check.out);
}

BOOST_AUTO_TEST_CASE(check_strict_fails_on_warnings) {
  TempDir dir("strict");
  dir.write("SMTP.config", "<MailSettings>\n<Timout>5</Timout>\n</MailSettings>\n");
  Ctl c("strict", dir.path());
  c.load_example_keys();
  auto lax = c("check");
  BOOST_TEST(lax.code == 0);
  BOOST_TEST(lax.out == "SMTP.config:2: Timout: warning: unknown element <Timout>, ignored; did you mean Timeout?\n");
  BOOST_TEST(c("check --strict").code == 1);
}

BOOST_AUTO_TEST_CASE(broken_site_file_is_reported_and_isolated) {
  TempDir dir("broken");
  dir.write("ACME.config",
            "<MailSettings>\n<EMailSMTPPort>2525</EMailSMTPPort>\n<SslStartMode>sslFoo</SslStartMode>\n</MailSettings>\n");
  dir.write("BETA.config", "<MailSettings>\n<Timeout>5</Timeout>\n</MailSettings>\n");
  Ctl c("broken_file", dir.path());
  c.load_example_keys();
  auto check = c("check");
  BOOST_TEST(check.code == 1);
  BOOST_TEST(check.out.find("ACME.config:3: SslStartMode: error: 'sslFoo' is not one of") == 0u, check.out);
  BOOST_TEST(c("check --site BETA").code == 0);
  BOOST_TEST(c("check --site NOPE").code == 1);
}

BOOST_AUTO_TEST_CASE(exit_codes_for_usage_and_environment_errors) {
  Ctl c("exits");
  BOOST_TEST(run(ctl() + " --help").code == 0);
  auto v = run(ctl() + " --version");
  BOOST_TEST(v.code == 0);
  BOOST_TEST(v.out.find("sitemailctl ") == 0u);
  BOOST_TEST(run(ctl() + " frobnicate").code == 2);
  BOOST_TEST(run(ctl() + " sites --bogus").code == 2);
  BOOST_TEST(run(ctl() + " sites --strict --database " + c.db.quoted()).code == 2);
  BOOST_TEST(run(ctl()).code == 2);
  auto down = run(ctl() + " sites --database 'host=/nonexistent dbname=x connect_timeout=2'");
  BOOST_TEST(down.code == 2);
  BOOST_TEST(down.err.find("cannot connect to the database") != std::string::npos, down.err);
  auto nodb = run("env -u SITEMAIL_DATABASE " + ctl() + " sites --config /dev/null");
  BOOST_TEST(nodb.code == 2);
  BOOST_TEST(nodb.err.find("no database") != std::string::npos);
  TempDir dir("conf");
  dir.write("sitemaild.conf", "[database]\nurl = " + c.db.conninfo() + "\n[sites]\nconfg_dir = /x\n");
  auto badconf = run(ctl() + " sites --config " + dir.path() + "/sitemaild.conf");
  BOOST_TEST(badconf.code == 2);
  BOOST_TEST(badconf.err.find("sitemaild.conf:4: sites.confg_dir: error: unknown key") != std::string::npos, badconf.err);
  dir.write("good.conf", "[database]\nurl = " + c.db.conninfo() + "\n[sites]\nconfig_dir = " + kExamples + "\n");
  auto viaconf = run("env -u SITEMAIL_DATABASE " + ctl() + " sites --config " + dir.path() + "/good.conf");
  BOOST_TEST(viaconf.code == 1, viaconf.err);  // BETA has no relay without the DB keys
  BOOST_TEST(viaconf.out.find("ACME valid ACME.config\nBETA invalid") == 0u, viaconf.out << viaconf.err);
  BOOST_TEST(run(ctl() + " show --database " + c.db.quoted()).code == 2);  // needs --site
  BOOST_TEST(run(daemon() + " --help").code == 0);
  BOOST_TEST(run(daemon() + " --bogus").code == 2);
  TestDb empty("unmigrated");
  auto unmigrated = run(ctl() + " sites --database " + empty.quoted());
  BOOST_TEST(unmigrated.code == 2);
  BOOST_TEST(unmigrated.err.find("sitemailctl db migrate") != std::string::npos);
}
