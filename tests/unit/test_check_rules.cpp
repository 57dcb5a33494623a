// test_check_rules.cpp — what `check` catches that admins get wrong (issue 11 item 4):
// DB key typos, DB keys hidden by a file (--strict), combinations that never deliver,
// clear-text passwords, file names that are not site codes, SMTP.config spellings, a
// warning located at the layer its value came from, problems sorted by file and line,
// the effective FirewallPort, and site codes with control characters in every listing.
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>

#include "report_format.hpp"
#include "site_table.hpp"
#include "text_util.hpp"

using namespace sitemail;
namespace fs = std::filesystem;

namespace {

struct Case {
  fs::path root;
  DbSnapshot db;
  explicit Case(const std::string& tag) {
    root = fs::temp_directory_path() / ("sitemail_check_" + tag + "_" + std::to_string(getpid()));
    fs::remove_all(root);
    fs::create_directories(root);
    db.keys_by_site["ILL"] = {{"EMailSMTPServer", "relay.example.org"}, {"EMailFromAddress", "ill@example.org"}};
  }
  ~Case() { fs::remove_all(root); }
  void write(const std::string& name, const std::string& body) const {
    std::ofstream(root / name, std::ios::binary) << "<MailSettings>\n" << body << "</MailSettings>\n";
  }
  std::shared_ptr<const SiteTable> load() const {
    ResolveEnv env;
    env.config_dir = root.string();
    env.host_fqdn = "host.example.org";
    return load_site_table(db, env);
  }
  std::string check(bool strict = false, const std::string& site = "") const {
    return format_check(collect_problems(*load(), site, strict));
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(check_rules)

BOOST_AUTO_TEST_CASE(db_key_typos_are_warned_with_did_you_mean_other_keys_are_not) {
  Case c("typo");
  c.db.keys_by_site["ACME"] = {
      {"EMailSMTPServr", "x.example"}, {"ILLiadWebURL", "http://x"}, {"Timout", "5"}, {"NVTGCName", "Acme"}, {"Hots", "y"}};
  BOOST_TEST(c.check() ==
             "db:ACME: EMailSMTPServr: warning: not a sitemail setting, ignored; did you mean EMailSMTPServer? (keys of "
             "other applications are not reported)\n"
             "db:ACME: Timout: warning: not a sitemail setting, ignored; did you mean Timeout? (keys of other "
             "applications are not reported)\n");
  BOOST_TEST(db_key_near_miss("EMailSMTPServr") == "EMailSMTPServer");
  BOOST_TEST(db_key_near_miss("EMailSecur") == "EMailSecure");
  BOOST_TEST(db_key_near_miss("Hots").empty());          // too short to tell
  BOOST_TEST(db_key_near_miss("ILLiadWebURL").empty());  // another application's key
  BOOST_TEST(db_key_near_miss("EMailSecure").empty());   // a setting itself
}

BOOST_AUTO_TEST_CASE(db_key_hidden_by_a_file_is_reported_by_strict_only) {
  Case c("hidden");
  c.db.keys_by_site["ACME"] = {{"EMailSMTPPort", "41639"}};
  c.write("ACME.config", "<EMailSMTPPort>2525</EMailSMTPPort>\n");
  BOOST_TEST(c.check(false).empty());
  BOOST_TEST(c.check(true) == "db:ACME: EMailSMTPPort: warning: has no effect: ACME.config:2 overrides it for site ACME\n");
  // The default site's key overridden per site is ordinary layering, not reported...
  c.db.keys_by_site["ACME"].clear();
  BOOST_TEST(c.check(true).empty(), c.check(true));
  // ...but overridden by SMTP.config (every site, layer mode) it is dead everywhere.
  c.write("SMTP.config", "<From>shared@example.org</From>\n");
  BOOST_TEST(c.check(true) == "db:ILL: EMailFromAddress: warning: has no effect: SMTP.config:2 overrides it for every site\n");
}

BOOST_AUTO_TEST_CASE(combinations_that_never_deliver_are_errors) {
  Case c("combo");
  struct Row {
    std::string body, expect;
  };
  const Row rows[] = {
      {"<AllowExtensions>false</AllowExtensions>\n<EMailSecure>Yes</EMailSecure>\n<SslStartMode>sslExplicit</SslStartMode>\n",
       "ACME.config:2: AllowExtensions: error: false (HELO only) can never deliver for this site: STARTTLS is required and needs EHLO\n"},
      {"<AllowExtensions>false</AllowExtensions>\n<EMailSMTPPort>587-starttls</EMailSMTPPort>\n",
       "ACME.config:2: AllowExtensions: error: false (HELO only) can never deliver for this site: STARTTLS is required and needs EHLO\n"},
      {"<AllowExtensions>false</AllowExtensions>\n<User>u</User>\n<AuthMethod>CramMD5Method</AuthMethod>\n",
       "ACME.config:2: AllowExtensions: error: false (HELO only) can never deliver for this site: SMTP AUTH needs EHLO, but SMTPUserID is set\n"},
      {"<SslStartMode>sslImplicit</SslStartMode>\n",
       "ACME.config:2: SslStartMode: warning: sslImplicit is ignored because EMailSecure is No: mail goes out without TLS (set EMailSecure = Yes)\n"},
      {"<User>u</User>\n<AuthMethod>LoginPlainMethod</AuthMethod>\n",
       "ACME.config:3: AuthMethod: warning: LoginPlainMethod sends the password in clear: TLS is off (set EMailSecure = Yes with sslExplicit or sslImplicit)\n"},
      {"<User>u</User>\n<AuthMethod>AuthLoginMethod</AuthMethod>\n<EMailSecure>Yes</EMailSecure>\n<SslStartMode>sslOpportunistic</SslStartMode>\n",
       "ACME.config:3: AuthMethod: warning: AuthLoginMethod sends the password in clear when the relay does not offer STARTTLS (set EMailSecure = Yes with sslExplicit or sslImplicit)\n"},
      // Implicit TLS with HELO only is fine; so is sslAutomatic with EMailSecure No (the default spelled out).
      {"<AllowExtensions>false</AllowExtensions>\n<EMailSMTPPort>465-ssl</EMailSMTPPort>\n<SslStartMode>sslAutomatic</SslStartMode>\n",
       ""},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.body) {
      c.write("ACME.config", r.body);
      BOOST_TEST(c.check() == r.expect);
      BOOST_TEST(c.load()->find("ACME")->valid == (r.expect.find(": error: ") == std::string::npos));
    }
  }
}

BOOST_AUTO_TEST_CASE(a_warning_is_located_at_the_layer_its_value_came_from) {
  Case c("where");
  c.db.keys_by_site["UNIV"] = {{"Timeout", "30"}};
  c.write("UNIV.config", "<Helo>mail.univ.example</Helo>\n\n\n\n\n\n<User>univ</User>\n");
  // AuthMethod is the default (Auto); the cause is SMTPUserID from UNIV.config:8.
  BOOST_TEST(c.check() ==
             "UNIV.config:8: AuthMethod: warning: TLS is off, so Auto will only use CRAM-MD5 or NTLM and never send the "
             "password in clear; set EMailSecure = Yes or name a clear mechanism explicitly\n");
  // A defaulted setting's problem goes to the site's own file, not db:<site>.
  c.db.keys_by_site["ILL"] = {{"EMailSMTPServer", "relay.example.org"}};
  BOOST_TEST(c.check(false, "UNIV").find("UNIV.config: EMailFromAddress: warning: empty") != std::string::npos, c.check());
}

BOOST_AUTO_TEST_CASE(problems_are_sorted_by_file_and_line) {
  Case c("sorted");
  c.write("ACME.config", "<Timeout>x</Timeout>\n<Bogus>1</Bogus>\n<SslStartMode>sslFoo</SslStartMode>\n"
                         "\n\n\n\n\n\n\n<MaxSubjectLength>y</MaxSubjectLength>\n");
  c.write("BETA.config", "<Timout>5</Timout>\n");
  c.db.keys_by_site["ACME"] = {{"EMailSecure", "perhaps"}};
  auto out = c.check();
  auto pos = [&](const std::string& s) { return out.find(s); };
  BOOST_TEST(pos("ACME.config:2:") < pos("ACME.config:3:"));
  BOOST_TEST(pos("ACME.config:3:") < pos("ACME.config:4:"));
  BOOST_TEST(pos("ACME.config:4:") < pos("ACME.config:12:"), out);  // numerically, not as text
  BOOST_TEST(pos("ACME.config:12:") < pos("BETA.config:2:"));
  BOOST_TEST(pos("BETA.config:2:") < pos("db:ACME:"));
}

BOOST_AUTO_TEST_CASE(file_names_that_are_not_site_codes_are_warned_and_ignored) {
  Case c("names");
  c.write("Copy of BETA.config", "<Timeout>5</Timeout>\n");
  c.write(".ACME.config", "<Timeout>5</Timeout>\n");
  c.write("smtp.config", "<Timeout>7</Timeout>\n");
  c.write("SMTP.config", "<Timeout>8</Timeout>\n");
  c.write("acme.config", "<Timeout>9</Timeout>\n");
  c.db.keys_by_site["ACME"] = {{"Timeout", "4"}};
  auto t = c.load();
  BOOST_TEST(!t->find("Copy of BETA"));
  BOOST_TEST(t->find("ILL")->settings->number(Setting::Timeout) == 8);  // SMTP.config is the one read
  const auto out = format_check(collect_problems(*t, ""));
  BOOST_TEST(out.find("Copy of BETA.config: -: warning: 'Copy of BETA' is not a site code (1-32 letters, digits, '-' or "
                      "'_', starting with a letter or digit); the file is ignored\n") != std::string::npos,
             out);
  BOOST_TEST(out.find(".ACME.config: -: warning: '.ACME' is not a site code") != std::string::npos, out);
  BOOST_TEST(out.find("smtp.config: -: warning: ignored: SMTP.config is read (one SMTP.config only)\n") != std::string::npos);
  BOOST_TEST(out.find("acme.config: -: warning: defines a separate site 'acme', not site 'ACME' (site codes are "
                      "case-sensitive); did you mean ACME.config?\n") != std::string::npos,
             out);
  // Warnings do not make `sites` fail.
  BOOST_TEST(!has_errors(t->global));
  // A lowercase smtp.config alone is read (case-insensitive, as on ILLiad's Windows servers).
  fs::remove(c.root / "SMTP.config");
  auto lower = c.load();
  BOOST_TEST(lower->find("ILL")->settings->number(Setting::Timeout) == 7);
  BOOST_TEST(lower->find("ILL")->settings->where(Setting::Timeout) == "smtp.config:2");
}

BOOST_AUTO_TEST_CASE(discovery_merges_every_source_in_code_order_and_reads_only_regular_files) {
  Case c("discover");
  // "A-B.config" sorts before "A.config" by file name, but code "A" before "A-B": the table
  // is in code order, each site with its own file.
  c.write("A-B.config", "<Timeout>11</Timeout>\n");
  c.write("A.config", "<Timeout>12</Timeout>\n");
  c.write("real.config", "<Timeout>13</Timeout>\n");
  fs::create_symlink(c.root / "real.config", c.root / "LINKED.config");  // a link to a file is read
  fs::create_directory(c.root / "DIR.config");                           // a folder is not a site file
  BOOST_REQUIRE(mkfifo((c.root / "PIPE.config").c_str(), 0600) == 0);    // nor is a FIFO (never opened)
  c.db.keys_by_site["A"] = {{"Timeout", "4"}};
  c.db.keys_by_site["ZED"] = {{"Timeout", "5"}};
  c.db.outbox_sites = {"A-B", "OUT"};
  auto t = c.load();
  std::vector<std::string> codes;
  for (const auto& [code, site] : t->sites) codes.push_back(code);
  BOOST_TEST(codes == (std::vector<std::string>{"A", "A-B", "ILL", "LINKED", "OUT", "ZED", "real"}),
             boost::test_tools::per_element());
  BOOST_TEST(t->find("A")->defined_in == (std::vector<std::string>{"db", "A.config"}), boost::test_tools::per_element());
  BOOST_TEST(t->find("A-B")->defined_in == (std::vector<std::string>{"outbox", "A-B.config"}), boost::test_tools::per_element());
  BOOST_TEST(t->find("A")->settings->number(Setting::Timeout) == 12);
  BOOST_TEST(t->find("A-B")->settings->number(Setting::Timeout) == 11);
  BOOST_TEST(t->find("LINKED")->settings->number(Setting::Timeout) == 13);
  BOOST_TEST(t->find("LINKED")->settings->where(Setting::Timeout) == "LINKED.config:2");
  BOOST_TEST(!t->find("DIR"));
  BOOST_TEST(!t->find("PIPE"));
  BOOST_TEST(t->find("OUT")->defined_in == (std::vector<std::string>{"outbox"}), boost::test_tools::per_element());
  // A config dir given with a trailing slash names its files with one slash.
  ResolveEnv env;
  env.config_dir = c.root.string() + "/";
  env.host_fqdn = "host.example.org";
  fs::permissions(c.root / "A.config", fs::perms::none);
  if (::access((c.root / "A.config").c_str(), R_OK) != 0) {  // (root reads every file)
    auto bad = load_site_table(c.db, env);
    const auto out = format_check(collect_problems(*bad, "A"));
    BOOST_TEST(out.find("cannot read " + c.root.string() + "/A.config:") != std::string::npos, out);
  }
  // An unreadable config dir is one global error; the DB sites are still resolved.
  env.config_dir = (c.root / "missing").string();
  auto none = load_site_table(c.db, env);
  BOOST_REQUIRE(none->global.size() == 1U);
  BOOST_TEST(none->global[0].message == "cannot read config dir: No such file or directory");
  BOOST_TEST(none->find("ZED")->settings->number(Setting::Timeout) == 5);
}

BOOST_AUTO_TEST_CASE(show_prints_the_firewall_port_actually_used) {
  Case c("fwport");
  c.write("ACME.config", "<FirewallType>fwTunnel</FirewallType>\n<FirewallHost>proxy.example</FirewallHost>\n");
  c.write("BETA.config", "<FirewallType>fwSOCKS4</FirewallType>\n<FirewallHost>proxy.example</FirewallHost>\n");
  auto t = c.load();
  BOOST_TEST(format_show(*t->find("ACME"), false).find("\nFirewallPort = 80\n") != std::string::npos);
  auto beta = format_show(*t->find("BETA"), true);
  BOOST_TEST(
      beta.find("\nFirewallPort = 1080  [built-in default]\n    0 means automatic: 1080 for fwSOCKS4\n") != std::string::npos,
      beta);
}

BOOST_AUTO_TEST_CASE(site_codes_with_control_characters_cannot_forge_lines) {
  Case c("crlf");
  c.db.keys_by_site["EVIL\r\nACME valid db"] = {{"EMailSMTPPort", "x"}};
  c.db.outbox_sites.insert("OUT\nBOX\x1b[2J");
  c.db.keys_by_site["LATIN"] = {{"EMailFromName", "Biblioth\xE8que"}};
  auto t = c.load();
  const auto sites = format_sites(*t);
  BOOST_TEST(sites.find("EVIL\\r\\nACME valid db invalid db db:EVIL\\r\\nACME valid db: EMailSMTPPort: error: 'x' is not "
                        "a port number\n") != std::string::npos,
             sites);
  BOOST_TEST(sites.find("OUT\\nBOX\\x1b[2J valid outbox\n") != std::string::npos, sites);
  int lines = 0;
  for (char ch : sites) lines += ch == '\n';
  BOOST_TEST(lines == static_cast<int>(t->sites.size()));
  const auto check = format_check(collect_problems(*t, ""));
  BOOST_TEST(check == "db:EVIL\\r\\nACME valid db: EMailSMTPPort: error: 'x' is not a port number\n");
  BOOST_TEST(format_show(*t->find("LATIN"), false).find("EMailFromName = Biblioth\\xe8que\n") != std::string::npos);
  // JSON stays valid UTF-8 and says where it replaced bytes.
  const auto json = format_show_json(*t->find("LATIN"));
  BOOST_TEST(valid_utf8(json));
  BOOST_TEST(json.find("\"value\":\"Biblioth\xEF\xBF\xBDque\"") != std::string::npos);
  BOOST_TEST(json.find(",\"note\":\"invalid UTF-8 replaced with U+FFFD\"}") != std::string::npos);
  const auto sites_json = format_sites_json(*t);
  BOOST_TEST(sites_json.find("\"site\":\"EVIL\\r\\nACME valid db\"") != std::string::npos, sites_json);
}

BOOST_AUTO_TEST_SUITE_END()
