// test_layering.cpp — the five layers in `layer` and `replace` mode, provenance of every
// value, the derived rules (TLS mode, proxy port, EHLO name), validity verdicts, and
// isolation between sites (one broken file never touches another site).
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>

#include "mail_settings_file.hpp"
#include "report_format.hpp"
#include "resolver.hpp"
#include "site_table.hpp"

using namespace sitemail;
namespace fs = std::filesystem;

namespace {

ResolveEnv test_env(SiteFilesMode mode = SiteFilesMode::layer) {
  ResolveEnv e;
  e.config_dir = "/nonexistent";
  e.mode = mode;
  e.host_fqdn = "host.example.org";
  e.getenv = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  return e;
}

RawLayer file(const std::string& label, const std::string& body) {
  return parse_mail_settings("<MailSettings>\n" + body + "</MailSettings>\n", label);
}

struct Sources {
  RawLayer db_default = layer_from_db_rows("db:ILL", {{"EMailSMTPServer", "relay.ill.example"}});
  RawLayer db_site, smtp, site;
  ResolvedSite resolve(const std::string& code = "ACME", SiteFilesMode mode = SiteFilesMode::layer) {
    SiteLayers l{&db_default, &db_site, &smtp, &site};
    return resolve_site(code, l, test_env(mode));
  }
};

bool has_note(const SettingResolution& r, const std::string& needle) {
  for (const auto& n : r.notes)
    if (n.find(needle) != std::string::npos) return true;
  return false;
}

std::string diags(const ResolvedSite& s) {
  std::string out;
  for (const auto& d : s.diagnostics) out += d.to_line() + "\n";
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(layering)

BOOST_AUTO_TEST_CASE(each_layer_overrides_the_one_below_with_provenance) {
  struct Row {
    const char* name;
    bool db_site, smtp, site;
    const char* value;
    const char* where;
  };
  const Row rows[] = {
      {"only default DB", false, false, false, "100", "db:ILL"},
      {"site DB over default DB", true, false, false, "200", "db:ACME"},
      {"SMTP.config over DB", true, true, false, "300", "SMTP.config:2"},
      {"site file over all", true, true, true, "400", "ACME.config:2"},
      {"site file over DB without SMTP.config", true, false, true, "400", "ACME.config:2"},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      Sources s;
      s.db_default = layer_from_db_rows("db:ILL", {{"EMailSMTPServer", "relay"}, {"Timeout", "100"}});
      if (r.db_site) s.db_site = layer_from_db_rows("db:ACME", {{"Timeout", "200"}});
      if (r.smtp) s.smtp = file("SMTP.config", "<Timeout>300</Timeout>\n");
      if (r.site) s.site = file("ACME.config", "<Timeout>400</Timeout>\n");
      auto res = s.resolve();
      BOOST_TEST(res.valid, diags(res));
      BOOST_TEST(format_value(def(Setting::Timeout), res.settings->get(Setting::Timeout)) == r.value);
      BOOST_TEST(res.settings->source(Setting::Timeout) == r.where);
    }
  }
}

BOOST_AUTO_TEST_CASE(overridden_values_are_listed_nearest_first) {
  Sources s;
  s.db_default = layer_from_db_rows("db:ILL", {{"EMailSMTPServer", "relay"}, {"Timeout", "100"}});
  s.smtp = file("SMTP.config", "<Timeout>300</Timeout>\n");
  s.site = file("ACME.config", "\n<Timeout>400</Timeout>\n");
  auto res = s.resolve();
  const auto& o = res.settings->at(Setting::Timeout).overridden;
  BOOST_REQUIRE_EQUAL(o.size(), 2u);  // the built-in default is implied after these
  BOOST_TEST(res.settings->where(o[0].from) == "SMTP.config:2");
  BOOST_TEST(o[0].shown == "300");
  BOOST_TEST(res.settings->where(o[1].from) == "db:ILL");
  BOOST_TEST(builtin_shown(def(Setting::Timeout)) == "60");
  auto text = format_show(res, true);
  BOOST_TEST(text.find("Timeout = 400  [ACME.config:3]\n    overrides 300  [SMTP.config:2]\n    overrides 100  [db:ILL]\n"
                       "    overrides 60  [built-in default]\n") != std::string::npos,
             text);
  BOOST_TEST(res.settings->where(Setting::Timeout) == "ACME.config:3");
}

BOOST_AUTO_TEST_CASE(replace_mode_skips_smtp_config_when_a_site_file_exists) {
  Sources s;
  s.smtp = file("SMTP.config", "<Timeout>300</Timeout>\n<EMailFromName>Shared</EMailFromName>\n");
  s.site = file("ACME.config", "<EMailSMTPPort>2525</EMailSMTPPort>\n");
  auto layered = s.resolve("ACME", SiteFilesMode::layer);
  BOOST_TEST(layered.settings->text(Setting::EMailFromName) == "Shared");
  auto replaced = s.resolve("ACME", SiteFilesMode::replace);
  BOOST_TEST(replaced.settings->text(Setting::EMailFromName) == "");
  BOOST_TEST(replaced.settings->number(Setting::Timeout) == 60);
  BOOST_TEST(replaced.settings->number(Setting::EMailSMTPPort) == 2525);
  BOOST_REQUIRE_EQUAL(replaced.settings->notes.size(), 1u);
  BOOST_TEST(replaced.settings->notes[0] == "SMTP.config not read because sites.site_files = replace and ACME.config exists");
}

BOOST_AUTO_TEST_CASE(replace_mode_without_site_file_still_reads_smtp_config) {
  Sources s;
  s.smtp = file("SMTP.config", "<Timeout>300</Timeout>\n");
  auto res = s.resolve("ACME", SiteFilesMode::replace);
  BOOST_TEST(res.settings->number(Setting::Timeout) == 300);
}

BOOST_AUTO_TEST_CASE(default_site_does_not_read_its_db_layer_twice) {
  Sources s;
  auto res = s.resolve("ILL");
  BOOST_TEST(res.settings->layers.size() == 2u);  // built-in default, db:ILL
}

struct TlsCase {
  const char* name;
  const char* secure;
  const char* mode;  // empty = not set
  const char* port;
  TlsMode expect;
  const char* note_on;  // setting with an "ignored because" note, or empty
  const char* note;
};

BOOST_AUTO_TEST_CASE(tls_mode_from_secure_start_mode_and_port_suffix) {
  const TlsCase cases[] = {
      {"off by default", "No", "", "25", TlsMode::none, "", ""},
      {"start mode ignored when not secure", "No", "sslImplicit", "465", TlsMode::none, "SslStartMode",
       "ignored because EMailSecure is No"},
      {"automatic 25 -> STARTTLS", "Yes", "", "25", TlsMode::starttls_required, "", ""},
      {"automatic 587 -> STARTTLS", "Yes", "sslAutomatic", "587", TlsMode::starttls_required, "", ""},
      {"automatic 2525 -> STARTTLS", "Yes", "0", "2525", TlsMode::starttls_required, "", ""},
      {"automatic 465 -> implicit", "Yes", "", "465", TlsMode::implicit, "", ""},
      {"implicit", "Yes", "sslImplicit", "25", TlsMode::implicit, "", ""},
      {"explicit", "Yes", "sslExplicit", "465", TlsMode::starttls_required, "", ""},
      {"none", "Yes", "sslNone", "25", TlsMode::none, "", ""},
      {"opportunistic", "Yes", "sslOpportunistic", "25", TlsMode::opportunistic, "", ""},
      {"suffix ssl wins over No", "No", "", "465-ssl", TlsMode::implicit, "", ""},
      {"suffix starttls wins", "No", "", "2525-starttls", TlsMode::starttls_required, "", ""},
      {"suffix nossl wins over Yes", "Yes", "sslImplicit", "465-nossl", TlsMode::none, "SslStartMode",
       "ignored because the port suffix in EMailSMTPPort = 465-nossl sets the TLS mode"},
      {"suffix notes EMailSecure", "Yes", "", "25-nossl", TlsMode::none, "EMailSecure", "ignored because the port suffix"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      Sources s;
      std::string body =
          std::string("<EMailSecure>") + c.secure + "</EMailSecure>\n<EMailSMTPPort>" + c.port + "</EMailSMTPPort>\n";
      if (*c.mode) body += std::string("<SslStartMode>") + c.mode + "</SslStartMode>\n";
      s.site = file("ACME.config", body);
      auto res = s.resolve();
      BOOST_TEST(res.valid, diags(res));
      BOOST_TEST(tls_mode_name(res.settings->tls) == tls_mode_name(c.expect));
      if (*c.note_on) BOOST_TEST(has_note(res.settings->at(*find_setting(c.note_on)), c.note));
    }
  }
}

BOOST_AUTO_TEST_CASE(firewall_port_is_automatic_when_zero) {
  const std::pair<const char*, int> cases[] = {{"fwTunnel", 80}, {"fwSOCKS4", 1080}, {"fwSOCKS5", 1080}, {"fwSOCKS4A", 1080}};
  for (auto [type, port] : cases) {
    BOOST_TEST_CONTEXT(type) {
      Sources s;
      s.site =
          file("ACME.config", std::string("<FirewallType>") + type + "</FirewallType>\n<FirewallHost>proxy</FirewallHost>\n");
      auto res = s.resolve();
      BOOST_TEST(res.valid, diags(res));
      BOOST_TEST(res.settings->firewall_port == port);
      BOOST_TEST(has_note(res.settings->at(Setting::FirewallPort), "0 means automatic: " + std::to_string(port)));
    }
  }
  Sources s;
  s.site =
      file("ACME.config", "<FirewallType>3</FirewallType>\n<FirewallHost>p</FirewallHost>\n<FirewallPort>9050</FirewallPort>\n");
  BOOST_TEST(s.resolve().settings->firewall_port == 9050);
}

BOOST_AUTO_TEST_CASE(firewall_without_host_is_invalid_and_host_without_type_is_ignored) {
  Sources s;
  s.site = file("ACME.config", "<FirewallType>fwSOCKS5</FirewallType>\n");
  auto res = s.resolve();
  BOOST_TEST(!res.valid);
  BOOST_TEST(res.first_error()->to_line() == "ACME.config:2: FirewallType: error: fwSOCKS5 needs a FirewallHost");
  Sources t;
  t.site = file("ACME.config", "<FirewallHost>127.0.0.1</FirewallHost>\n");
  auto r2 = t.resolve();
  BOOST_TEST(r2.valid);
  BOOST_TEST(has_note(r2.settings->at(Setting::FirewallHost), "ignored because FirewallType is fwNone"));
}

BOOST_AUTO_TEST_CASE(ehlo_defaults_to_host_fqdn_and_an_explicit_name_wins) {
  Sources s;
  auto res = s.resolve();
  BOOST_TEST(res.settings->helo == "host.example.org");
  BOOST_TEST(has_note(res.settings->at(Setting::FullyQualifiedDomainName), "the host's FQDN"));
  s.site = file("ACME.config", "<Helo>mail.acme.example</Helo>\n");
  BOOST_TEST(s.resolve().settings->helo == "mail.acme.example");
  BOOST_TEST(host_fqdn().find("localhost") == std::string::npos);
  BOOST_TEST(!host_fqdn().empty());
}

BOOST_AUTO_TEST_CASE(bad_values_make_the_site_invalid_naming_file_line_setting) {
  struct Bad {
    const char* body;
    const char* expect;
  };
  const Bad cases[] = {
      {"<SslStartMode>sslFoo</SslStartMode>\n", "ACME.config:2: SslStartMode: error: 'sslFoo' is not one of"},
      {"<EMailSMTPPort>0</EMailSMTPPort>\n", "ACME.config:2: EMailSMTPPort: error: port 0 is out of range 1-65535"},
      {"<EMailSMTPPort>70000</EMailSMTPPort>\n", "ACME.config:2: EMailSMTPPort: error: port 70000 is out of range"},
      {"<EMailSMTPPort>587-foo</EMailSMTPPort>\n", "ACME.config:2: EMailSMTPPort: error: unknown port suffix 'foo'"},
      {"<EMailSMTPServer></EMailSMTPServer>\n", "ACME.config:2: EMailSMTPServer: error: no relay: EMailSMTPServer is empty"},
      {"<SslCertStoreType>sstPFXFile</SslCertStoreType>\n<SslCertStore>/nonexistent/client.pfx</SslCertStore>\n",
       "ACME.config:3: SslCertStore: error: cannot read certificate file /nonexistent/client.pfx"},
      {"<SMTPPassword>env:SITEMAIL_UNSET_VAR</SMTPPassword>\n",
       "ACME.config:2: SMTPPassword: error: environment variable SITEMAIL_UNSET_VAR is not set"},
      {"<AuthMethod>XOAUTH2</AuthMethod>\n<User>u</User>\n", "ACME.config:2: AuthMethod: error: XOAUTH2 needs an OAuthToken"},
      {"<SslCaFile>missing-ca.pem</SslCaFile>\n", "SslCaFile: error: cannot read CA file /nonexistent/missing-ca.pem"},
      {"<SslCertStoreType>sstMachine</SslCertStoreType>\n<SslCertStore>MY</SslCertStore>\n<SslCertSubject>*</SslCertSubject>\n",
       "SslCertStore: error: certificate folder /nonexistent/certs/MY does not exist"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.body) {
      Sources s;
      s.site = file("ACME.config", c.body);
      auto res = s.resolve();
      BOOST_TEST(!res.valid);
      BOOST_TEST(diags(res).find(c.expect) != std::string::npos, diags(res));
    }
  }
}

BOOST_AUTO_TEST_CASE(illiad_machine_store_without_selection_is_not_opened) {
  Sources s;
  s.smtp = read_mail_settings_file(SITEMAIL_FIXTURES "/illiad_sample.config", "SMTP.config");
  auto res = s.resolve();
  BOOST_TEST(res.valid, diags(res));
  BOOST_TEST(res.settings->helo == "mydomain.com");
  BOOST_TEST(res.settings->number(Setting::Timeout) == 120);
}

BOOST_AUTO_TEST_CASE(bad_db_row_makes_only_that_site_invalid_and_overridden_bad_values_warn) {
  Sources s;
  s.db_site = layer_from_db_rows("db:ACME", {{"EMailSecure", "perhaps"}});
  auto res = s.resolve();
  BOOST_TEST(!res.valid);
  BOOST_TEST(res.first_error()->to_line() ==
             "db:ACME: EMailSecure: error: 'perhaps' is not a boolean (use Yes/No, true/false or 1/0)");
  s.site = file("ACME.config", "<EMailSecure>Yes</EMailSecure>\n");
  auto fixed = s.resolve();
  BOOST_TEST(fixed.valid, diags(fixed));
  BOOST_TEST(diags(fixed).find("db:ACME: EMailSecure: warning: 'perhaps' is not a boolean") != std::string::npos);
  BOOST_TEST(diags(fixed).find("(overridden by ACME.config:2)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(clear_password_warning_when_tls_off_and_auto) {
  Sources s;
  s.site = file("ACME.config", "<User>u</User>\n<Password>p</Password>\n");
  auto res = s.resolve();
  BOOST_TEST(res.valid);
  BOOST_TEST(diags(res).find("AuthMethod: warning: TLS is off") != std::string::npos, diags(res));
}

BOOST_AUTO_TEST_CASE(site_table_isolates_a_broken_site_file) {
  // Per process: the unit tests of two builds may run at once.
  auto dir = fs::temp_directory_path() / ("sitemail_unit_isolation_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "SMTP.config") << "<MailSettings><Timeout>30</Timeout></MailSettings>";
  std::ofstream(dir / "GOOD.config") << "<MailSettings><EMailSMTPPort>2525</EMailSMTPPort></MailSettings>";
  std::ofstream(dir / "BAD.config") << "<MailSettings>\n<EMailSMTPPort>2525\n</MailSettings>";
  DbSnapshot db;
  db.keys_by_site["ILL"] = {{"EMailSMTPServer", "relay.example"}, {"EMailFromAddress", "ill@example.org"}};
  db.outbox_sites = {"OUTONLY"};
  auto env = test_env();
  env.config_dir = dir.string();
  auto table = load_site_table(db, env);
  fs::remove_all(dir);
  BOOST_REQUIRE_EQUAL(table->sites.size(), 4u);  // BAD, GOOD, ILL, OUTONLY
  BOOST_TEST(!table->find("BAD")->valid);
  BOOST_TEST(table->find("BAD")->first_error()->where == "BAD.config:3");
  BOOST_TEST(table->find("GOOD")->valid);
  BOOST_TEST(table->find("GOOD")->settings->number(Setting::Timeout) == 30);
  BOOST_TEST(table->find("ILL")->valid);
  BOOST_TEST(table->find("OUTONLY")->valid);
  BOOST_TEST(table->find("OUTONLY")->defined_in == std::vector<std::string>{"outbox"});
  auto late = table->find_or_resolve("NEWSITE");
  BOOST_TEST(late->valid);
  BOOST_TEST(late->settings->text(Setting::EMailSMTPServer) == "relay.example");
  auto sites = format_sites(*table);
  BOOST_TEST(sites.find("BAD invalid BAD.config BAD.config:3: -: error: malformed XML") == 0u, sites);
  BOOST_TEST(sites.find("GOOD valid GOOD.config\n") != std::string::npos, sites);
}

BOOST_AUTO_TEST_SUITE_END()
