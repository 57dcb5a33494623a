// test_hostile_config.cpp — hostile configuration against the real programs (issue 9):
// a delegated tenant file that names another tenant's secret or certificate sends no byte
// of it to the tenant's relay (asserted on what a real AUTH relay received, with a control
// run that shows the leak without delegation); a 100,000-level site file crashes neither
// `check`, `sites`, `sitemaild --once` nor a running daemon on SIGHUP; and `check` on the
// mistakes admins make (issue 11 item 4) from the command line.
#define BOOST_TEST_MODULE sitemail_integration_hostile_config
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>

#include "daemon_fixture.hpp"

using namespace sitemail::test;
namespace fs = std::filesystem;

namespace {

const std::string kFileSecret = "VICTIM-FILE-SECRET-7c41";
const std::string kEnvSecret = "VICTIM-ENV-SECRET-9d02";

struct HostileEnv {
  TestDb db;
  TempDir cfg;
  TempDir etc;
  explicit HostileEnv(const std::string& name) : db(name), cfg("cfg_" + name), etc("etc_" + name) {
    auto r = run(ctl() + " db migrate --database " + db.quoted());
    BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
    db.conn().exec("INSERT INTO customization (custkey, value, nvtgc) VALUES ('EMailSMTPServer','127.0.0.1','ILL'),"
                   "('EMailFromAddress','ill@lib.example','ILL'),('Helo','client.example','ILL'),('Timeout','5','ILL')");
    conf(false);
  }
  // sitemaild.conf for both programs; delegate = [sites] delegate_site_files.
  void conf(bool delegate) const {
    etc.write("sitemaild.conf", "[database]\nurl = " + db.conninfo() + "\n[sites]\nconfig_dir = " + cfg.path() +
                                    "\ndelegate_site_files = " + (delegate ? "yes" : "no") +
                                    "\nsite_env_allow = EVIL_OWN\n[metrics]\nlisten =\n[retry]\ninitial = 1\nmax = 2\n");
  }
  void site(const std::string& code, const std::string& xml) const {
    cfg.write(code + ".config", "<MailSettings>\n" + xml + "</MailSettings>\n");
  }
  std::string env_prefix() const { return "env -u SITEMAIL_DATABASE -u SITEMAIL_CONFIG_DIR VICTIM_SECRET=" + kEnvSecret + " "; }
  RunResult ctl_cmd(const std::string& args) const {
    return run(env_prefix() + ctl() + " --config " + etc.path() + "/sitemaild.conf " + args);
  }
  RunResult once() const { return run(env_prefix() + daemon() + " --once --config " + etc.path() + "/sitemaild.conf"); }
};

std::string port_line(int p) { return "<EMailSMTPPort>" + std::to_string(p) + "</EMailSMTPPort>\n"; }

bool leaked(const std::string& text) {
  return text.find(kFileSecret) != std::string::npos || text.find(kEnvSecret) != std::string::npos ||
         text.find("root:") != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hostile_config)

BOOST_AUTO_TEST_CASE(no_byte_of_another_tenants_secret_reaches_the_tenants_relay) {
  HostileEnv e("confine");
  PyRelay victim_relay("--user victim:" + kFileSecret + " --mechs PLAIN");
  PyRelay evil_relay("--user evil:evil-pw --mechs PLAIN --log-credentials");
  // The victim's secret is the server admin's: a DB key naming a file in the config dir.
  e.cfg.write("ILL-smtp.secret", kFileSecret + "\n");
  chmod((e.cfg.path() + "/ILL-smtp.secret").c_str(), 0600);
  e.db.conn().exec("INSERT INTO customization (custkey, value, nvtgc) VALUES ('EMailSMTPPort', $1, 'VICTIM'), "
                   "('SMTPUserID', 'victim', 'VICTIM'), ('SMTPPassword', 'file:ILL-smtp.secret', 'VICTIM'), "
                   "('AuthMethod', 'PLAIN', 'VICTIM')",
                   {std::to_string(victim_relay.port())});
  const std::string evil_head =
      "<Host>127.0.0.1</Host>\n" + port_line(evil_relay.port()) + "<User>evil</User>\n<AuthMethod>PLAIN</AuthMethod>\n";
  // Control: without delegation the server admin's freedom holds, and the leak is visible
  // in what the relay received (this is what the assertions below would catch).
  e.site("EVIL", evil_head + "<SMTPPassword>file:ILL-smtp.secret</SMTPPassword>\n");
  auto control = e.ctl_cmd("test --site EVIL");
  BOOST_TEST(control.out.find("AUTH_FAILED") == 0u, control.out << control.err);
  BOOST_TEST(leaked(evil_relay.auth_log()), evil_relay.auth_log());
  fs::remove(evil_relay.dir() + "/out/auth.log");

  e.conf(true);
  const std::string hostile[] = {"file:../ILL-smtp.secret", "file:../../../../etc/passwd", "file:ILL-smtp.secret",
                                 "file:" + e.cfg.path() + "/ILL-smtp.secret", "env:VICTIM_SECRET"};
  for (const auto& value : hostile) {
    BOOST_TEST_CONTEXT(value) {
      e.site("EVIL", evil_head + "<SMTPPassword>" + value + "</SMTPPassword>\n");
      auto t = e.ctl_cmd("test --site EVIL");
      BOOST_TEST(t.code == 1);
      BOOST_TEST(t.out.find("CONFIG_INVALID EVIL.config:6: SMTPPassword: error: ") == 0u, t.out << t.err);
      BOOST_TEST(!leaked(t.out + t.err));
      auto check = e.ctl_cmd("check");
      BOOST_TEST(check.code == 1);
      BOOST_TEST(check.out.find("EVIL.config:6: SMTPPassword: error: ") != std::string::npos, check.out);
    }
  }
  // The daemon: EVIL's mail is held, VICTIM's is delivered, EVIL's relay gets nothing.
  e.site("EVIL", evil_head + "<SMTPPassword>file:../ILL-smtp.secret</SMTPPassword>\n");
  enqueue(e.db, "EVIL", 2);
  enqueue(e.db, "VICTIM", 2);
  auto once = e.once();
  BOOST_TEST(once.code < 128, once.err);
  BOOST_TEST(count(e.db, "nvtgc = 'VICTIM' AND status = 'sent'") == 2);
  BOOST_TEST(count(e.db, "nvtgc = 'EVIL' AND status = 'queued' AND attempts = 0 AND last_error LIKE "
                         "'held: %EVIL.config:6: SMTPPassword: error: %'") == 2,
             e.db.conn().exec("SELECT coalesce(last_error,'') FROM outbox WHERE nvtgc = 'EVIL' LIMIT 1").get(0, 0));
  BOOST_TEST(victim_relay.received().size() == 2u);
  BOOST_TEST(evil_relay.received().empty());
  BOOST_TEST(!leaked(evil_relay.auth_log()), evil_relay.auth_log());
}

BOOST_AUTO_TEST_CASE(another_tenants_client_certificate_is_not_presented) {
  HostileEnv e("confine_cert");
  PyRelay relay("--tls starttls --cert " + certs_dir() + "/relay.pem --key " + certs_dir() + "/relay.key --client-ca " +
                certs_dir() + "/ca.pem");
  e.cfg.write("ILL-private/client.pem", slurp(certs_dir() + "/client.pem"));
  e.cfg.write("EVIL/ca.pem", slurp(certs_dir() + "/ca.pem"));
  e.cfg.write("ca.pem", slurp(certs_dir() + "/ca.pem"));
  const std::string head = "<Host>127.0.0.1</Host>\n" + port_line(relay.port()) + "<From>evil@evil.example</From>\n" +
                           "<EMailSecure>Yes</EMailSecure>\n<SslStartMode>sslExplicit</SslStartMode>\n";
  // Control without delegation: the other tenant's certificate is presented.
  e.site("EVIL", head + "<SslCaFile>ca.pem</SslCaFile>\n<SslCertStore>ILL-private/client.pem</SslCertStore>\n");
  auto control = e.ctl_cmd("test --site EVIL --send-to x@dest.example");
  BOOST_TEST(control.code == 0, control.out << control.err);
  BOOST_REQUIRE_EQUAL(relay.received().size(), 1u);
  BOOST_TEST(relay.received()[0].client_subject.find("sitemail client") != std::string::npos);

  e.conf(true);
  e.site("EVIL", head + "<SslCaFile>ca.pem</SslCaFile>\n<SslCertStore>../ILL-private/client.pem</SslCertStore>\n");
  auto t = e.ctl_cmd("test --site EVIL --send-to x@dest.example");
  BOOST_TEST(t.code == 1);
  BOOST_TEST(
      t.out.find("CONFIG_INVALID EVIL.config:8: SslCertStore: error: '../ILL-private/client.pem' is a path with '..'") == 0u,
      t.out << t.err);
  BOOST_TEST(relay.received().size() == 1u);  // nothing more reached the relay
}

BOOST_AUTO_TEST_CASE(a_hundred_thousand_levels_crash_nothing) {
  HostileEnv e("deep");
  SmtpSink sink;
  e.site("GOOD", "<Host>127.0.0.1</Host>\n" + port_line(sink.port()));
  std::string deep = "<MailSettings>";
  for (int i = 0; i < 100000; ++i) deep += "<a>";
  for (int i = 0; i < 100000; ++i) deep += "</a>";
  e.cfg.write("DEEP.config", deep + "</MailSettings>\n");
  const std::string expect =
      "DEEP.config:1: -: error: malformed XML: elements nested 17 levels deep: exceeds the limit of 16 levels";
  auto check = e.ctl_cmd("check");
  BOOST_TEST(check.code == 1, check.err);
  BOOST_TEST(check.out == expect + "\n");
  auto sites = e.ctl_cmd("sites");
  BOOST_TEST(sites.code == 1, sites.err);
  BOOST_TEST(sites.out.find("DEEP invalid DEEP.config " + expect + "\n") != std::string::npos, sites.out);
  BOOST_TEST(sites.out.find("GOOD valid GOOD.config\n") != std::string::npos, sites.out);
  auto check_config =
      run("env -u SITEMAIL_DATABASE " + daemon() + " --check-config --config " + e.etc.path() + "/sitemaild.conf");
  BOOST_TEST(check_config.code == 1, check_config.err);
  enqueue(e.db, "GOOD", 3);
  enqueue(e.db, "DEEP", 1);
  auto once = e.once();
  BOOST_TEST(once.code < 128, once.err);
  BOOST_TEST(count(e.db, "nvtgc = 'GOOD' AND status = 'sent'") == 3);
  BOOST_TEST(count(e.db, "nvtgc = 'DEEP' AND status = 'queued' AND last_error LIKE 'held: %exceeds the limit of 16 levels'") ==
             1);

  // A running daemon reloads on SIGHUP: the deep file and a 100 MB file are refused, the
  // daemon keeps running and delivering.
  fs::remove(e.cfg.path() + "/DEEP.config");
  Daemon d(e.db, e.cfg.path(), "", "deep");
  e.cfg.write("DEEP.config", deep + "</MailSettings>\n");
  e.cfg.write("HUGE.config", "<MailSettings>");
  fs::resize_file(e.cfg.path() + "/HUGE.config", 100ull * 1024 * 1024);
  d.hup();
  Daemon::wait_for([&] { return d.log().find("exceeds the limit of 1048576 bytes") != std::string::npos; }, 60, "reload");
  enqueue(e.db, "GOOD", 2);
  Daemon::wait_for([&] { return count(e.db, "nvtgc = 'GOOD' AND status = 'sent'") == 5; }, 60, "delivery after reload");
  BOOST_TEST(d.log().find("exceeds the limit of 16 levels") != std::string::npos);
  BOOST_TEST(d.signal_and_wait(SIGTERM) == 0);  // still alive, stops cleanly
}

BOOST_AUTO_TEST_CASE(check_catches_what_admins_get_wrong) {
  HostileEnv e("mistakes");
  e.db.conn().exec("INSERT INTO customization (custkey, value, nvtgc) VALUES ('EMailSMTPServr', 'typo.example', 'UNIV'), "
                   "('ILLiadWebURL', 'http://x.example', 'UNIV'), ('EMailSMTPPort', '41639', 'ACME')");
  e.site("ACME", "<EMailSMTPPort>2525</EMailSMTPPort>\n");
  e.site("BROKEN", "<Host>a.example</Host>\n<Timeout>5</Timeout>\n<Timeout=30>\n");
  e.cfg.write("Copy of BETA.config", "<MailSettings><Timeout>5</Timeout></MailSettings>\n");
  std::string wide = "\xFF\xFE";
  for (char c : std::string("<MailSettings><Timeout>5</Timeout></MailSettings>")) wide += c, wide += '\0';
  e.cfg.write("WIDE.config", wide);
  e.cfg.write("B\xE8ta.config", "<MailSettings/>\n");
  auto check = e.ctl_cmd("check");
  BOOST_TEST(check.code == 1);
  const std::string expected =  // sorted by file name (bytes), then line
      "BROKEN.config:4: -: error: malformed XML: '<Timeout=30>' is not a valid tag: an element name cannot contain '='\n"
      "B\\xe8ta.config: -: warning: 'B\\xe8ta' is not a site code (1-32 letters, digits, '-' or '_', starting with a "
      "letter or digit); the file is ignored\n"
      "Copy of BETA.config: -: warning: 'Copy of BETA' is not a site code (1-32 letters, digits, '-' or '_', starting "
      "with a letter or digit); the file is ignored\n"
      "WIDE.config: -: error: the file is encoded in UTF-16LE (with a byte-order mark); sitemail reads UTF-8 only: save "
      "it as UTF-8\n"
      "db:UNIV: EMailSMTPServr: warning: not a sitemail setting, ignored; did you mean EMailSMTPServer? (keys of other "
      "applications are not reported)\n";
  BOOST_TEST(check.out == expected);
  auto strict = e.ctl_cmd("check --strict");
  BOOST_TEST(strict.code == 1);
  BOOST_TEST(strict.out.find("db:ACME: EMailSMTPPort: warning: has no effect: ACME.config:2 overrides it for site ACME\n") !=
                 std::string::npos,
             strict.out);
  auto json = e.ctl_cmd("check --json");
  TempDir j("json");
  j.write("c.json", json.out);
  auto parsed = run("/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
                    "print(sum(1 for x in d if x.get(\"note\")==\"invalid UTF-8 replaced with U+FFFD\"))' " +
                    j.path() + "/c.json");
  BOOST_TEST(parsed.code == 0, json.out);
  BOOST_TEST(parsed.out == "1\n");
  // A site code with CR/LF from the outbox cannot forge a line in `sites`.
  e.db.conn().exec("INSERT INTO outbox (nvtgc, to_addrs, subject) VALUES (E'FAKE\\r\\nGOOD valid db', 'a@b.example', 's')");
  auto sites = e.ctl_cmd("sites");
  BOOST_TEST(sites.out.find("FAKE\\r\\nGOOD valid db valid outbox\n") != std::string::npos, sites.out);
  BOOST_TEST(sites.out.find("\nGOOD valid db") == std::string::npos);
  auto show = e.ctl_cmd(std::string("show --site ") + shell_quote("FAKE\r\nGOOD valid db") + " --explain");
  BOOST_TEST(show.out.find("# site FAKE\\r\\nGOOD valid db: valid;") == 0u, show.out);
}

BOOST_AUTO_TEST_SUITE_END()
