// test_trust_model.cpp — [sites] delegate_site_files (CONTRACT §6, docs/trust-model.md):
// a delegated <site>.config names files only inside <config_dir>/<site>/ and env: names
// only from site_env_allow; each violation is an error at file:line naming the setting,
// only that site is held, and DB keys / SMTP.config / the default mode stay unconfined.
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>

#include "confined_file.hpp"
#include "report_format.hpp"
#include "site_table.hpp"

using namespace sitemail;
namespace fs = std::filesystem;

namespace {

struct ConfigDir {
  fs::path root;
  explicit ConfigDir(const std::string& tag) {
    root = fs::temp_directory_path() / ("sitemail_trust_" + tag + "_" + std::to_string(getpid()));
    fs::remove_all(root);
    fs::create_directories(root);
  }
  ~ConfigDir() { fs::remove_all(root); }
  void write(const std::string& rel, const std::string& content, unsigned mode = 0600) const {
    fs::create_directories((root / rel).parent_path());
    std::ofstream(root / rel, std::ios::binary) << content;
    chmod((root / rel).c_str(), mode);
  }
  void site(const std::string& code, const std::string& body) const {
    write(code + ".config", "<MailSettings>\n<Host>relay." + code + ".example</Host>\n<From>ill@" + code + ".example</From>\n" +
                                body + "</MailSettings>\n");
  }
  std::shared_ptr<const SiteTable> load(bool delegate, std::vector<std::string> allow = {}) const {
    ResolveEnv env;
    env.config_dir = root.string();
    env.host_fqdn = "host.example.org";
    env.delegate_site_files = delegate;
    env.site_env_allow = std::move(allow);
    env.getenv = [](const std::string& n) -> std::optional<std::string> {
      if (n == "VICTIM_SECRET") return std::string("victim-env-secret");
      if (n == "EVIL_OWN") return std::string("evil-own-secret");
      return std::nullopt;
    };
    return load_site_table(DbSnapshot{}, env);
  }
};

std::string problems(const SiteTable& t, const std::string& site) { return format_check(collect_problems(t, site)); }

}  // namespace

BOOST_AUTO_TEST_SUITE(trust_model)

BOOST_AUTO_TEST_CASE(delegated_site_file_cannot_reach_outside_its_folder) {
  ConfigDir d("escape");
  d.write("ILL-smtp.secret", "victim-file-secret\n");
  d.write("ILL-private/client.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  d.write("ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", 0644);
  d.write("ILL/certs/MY/client.pem", "x");
  d.write("EVIL/own.secret", "evil-own-file-secret\n");
  fs::create_directories(d.root / "EVIL" / "certs");
  fs::create_symlink("../../ILL/certs/MY", d.root / "EVIL" / "certs" / "MY");  // escaping store folder
  fs::create_symlink("../ILL-smtp.secret", d.root / "EVIL" / "link.secret");   // escaping file link
  d.site("GOOD", "<Password>file:pw.secret</Password><User>good</User>\n");
  d.write("GOOD/pw.secret", "good\n");
  struct Case {
    std::string body, expect;
  };
  const Case cases[] = {
      {"<SMTPPassword>file:../../../../etc/passwd</SMTPPassword>\n",
       "EVIL.config:4: SMTPPassword: error: 'file:../../../../etc/passwd' is a path with '..'; a delegated site file may only name files inside its own folder"},
      {"<SMTPPassword>file:/etc/passwd</SMTPPassword>\n",
       "EVIL.config:4: SMTPPassword: error: 'file:/etc/passwd' is an absolute path; a delegated site file may only name files inside its own folder"},
      {"<SMTPPassword>file:ILL-smtp.secret</SMTPPassword>\n", "EVIL.config:4: SMTPPassword: error: cannot read secret file " +
                                                                  (d.root / "EVIL" / "ILL-smtp.secret").string() +
                                                                  ": No such file or directory"},
      {"<SMTPPassword>file:link.secret</SMTPPassword>\n", "EVIL.config:4: SMTPPassword: error: cannot read secret file " +
                                                              (d.root / "EVIL" / "link.secret").string() +
                                                              ": it leads outside the site's folder"},
      {"<SMTPPassword>env:VICTIM_SECRET</SMTPPassword>\n",
       "EVIL.config:4: SMTPPassword: error: env:VICTIM_SECRET is not allowed in a delegated site file ([sites] site_env_allow: EVIL_OWN)"},
      {"<SslCertStore>../ILL-private/client.pem</SslCertStore>\n",
       "EVIL.config:4: SslCertStore: error: '../ILL-private/client.pem' is a path with '..'; a delegated site file may only name files inside its own folder"},
      {"<SslCertStoreType>sstPFXFile</SslCertStoreType>\n<SslCertStore>/etc/ssl/private/x.pfx</SslCertStore>\n",
       "EVIL.config:5: SslCertStore: error: '/etc/ssl/private/x.pfx' is an absolute path"},
      {"<SslCertStoreType>sstMachine</SslCertStoreType>\n<SslCertStore>MY</SslCertStore>\n<SslCertSubject>*</SslCertSubject>\n",
       "EVIL.config:5: SslCertStore: error: certificate folder " + (d.root / "EVIL" / "certs" / "MY").string() +
           " cannot be opened: it leads outside the site's folder"},
      {"<EMailSecure>Yes</EMailSecure>\n<SslCaFile>../ca.pem</SslCaFile>\n",
       "EVIL.config:5: SslCaFile: error: '../ca.pem' is a path with '..'"},
      {"<EMailSecure>Yes</EMailSecure>\n<SslCaFile>/etc/ssl/certs/ca-certificates.crt</SslCaFile>\n",
       "EVIL.config:5: SslCaFile: error: '/etc/ssl/certs/ca-certificates.crt' is an absolute path"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.body) {
      d.site("EVIL", c.body);
      auto t = d.load(true, {"EVIL_OWN"});
      auto evil = t->find("EVIL");
      BOOST_REQUIRE(evil);
      BOOST_TEST(!evil->valid);
      BOOST_TEST(problems(*t, "EVIL").find(c.expect) != std::string::npos, problems(*t, "EVIL"));
      BOOST_TEST(t->find("GOOD")->valid, problems(*t, "GOOD"));  // the other site is untouched
      // No value of another tenant was read into EVIL's settings.
      const auto& s = *evil->settings;
      BOOST_TEST(s.text(Setting::SMTPPassword).find("victim") == std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(without_openat2_no_symbolic_link_is_followed_at_all) {
  ConfigDir d("walk");
  d.write("ILL-smtp.secret", "victim-file-secret\n");
  d.write("EVIL/own.secret", "evil-own\n");
  d.write("EVIL/sub/deeper.secret", "deeper\n");
  fs::create_symlink("../ILL-smtp.secret", d.root / "EVIL" / "link.secret");
  fs::create_symlink("own.secret", d.root / "EVIL" / "inside.secret");
  const FileRoot root{(d.root / "EVIL").string(), true};
  use_openat2_for_tests(false);
  auto escaped = read_config_file(root, "link.secret", 100);
  auto inside = read_config_file(root, "inside.secret", 100);
  auto nested = read_config_file(root, "sub/deeper.secret", 100);
  use_openat2_for_tests(true);
  BOOST_TEST(!escaped.data);
  BOOST_TEST(escaped.error.find("symbolic link") != std::string::npos, escaped.error);
  BOOST_TEST(!inside.data);  // stricter than openat2: no link at all
  BOOST_REQUIRE(nested.data);
  BOOST_TEST(*nested.data == "deeper\n");
  // With openat2 a link that stays inside is followed, one that leaves is refused.
  BOOST_TEST(*read_config_file(root, "inside.secret", 100).data == "evil-own\n");
  BOOST_TEST(read_config_file(root, "link.secret", 100).error.find("leads outside") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_link_inside_a_machine_store_folder_cannot_lead_out) {
  ConfigDir d("folder");
  d.write("ILL-private/client.pem", "-----BEGIN CERTIFICATE-----\n");
  fs::create_directories(d.root / "EVIL" / "certs" / "MY");
  fs::create_symlink("../../../ILL-private/client.pem", d.root / "EVIL" / "certs" / "MY" / "client.pem");
  d.site("EVIL", "<SslCertStoreType>sstMachine</SslCertStoreType>\n<SslCertStore>MY</SslCertStore>\n"
                 "<SslCertSubject>*</SslCertSubject>\n");
  auto t = d.load(true);
  BOOST_TEST(!t->find("EVIL")->valid);
  BOOST_TEST(problems(*t, "EVIL")
                     .find("EVIL.config:5: SslCertStore: error: cannot read " +
                           (d.root / "EVIL" / "certs" / "MY" / "client.pem").string() + ": it leads outside the site's folder") !=
                 std::string::npos,
             problems(*t, "EVIL"));
  auto folder = read_config_folder(FileRoot{(d.root / "EVIL").string(), true}, "certs/MY", 1000);
  BOOST_REQUIRE_EQUAL(folder.files.size(), 1u);
  BOOST_TEST(!folder.files[0].data);
}

BOOST_AUTO_TEST_CASE(delegated_site_file_may_use_its_own_folder_and_allowed_env) {
  ConfigDir d("own");
  d.write("EVIL/own.secret", "evil-own-file-secret\n");
  d.write("EVIL/store/client.pem", "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n");
  d.site("EVIL",
         "<User>u</User>\n<SMTPPassword>file:own.secret</SMTPPassword>\n<FirewallPassword>env:EVIL_OWN</FirewallPassword>\n");
  auto t = d.load(true, {"EVIL_OWN"});
  auto evil = t->find("EVIL");
  BOOST_TEST(evil->valid, problems(*t, "EVIL"));
  BOOST_TEST(evil->settings->text(Setting::SMTPPassword) == "evil-own-file-secret");
  BOOST_TEST(evil->settings->text(Setting::FirewallPassword) == "evil-own-secret");
  BOOST_TEST(evil->settings->at(Setting::SMTPPassword).confine_to == (d.root / "EVIL").string());
  // The engine opens store files through the same root.
  auto root = evil->settings->file_root(Setting::SMTPPassword, d.root.string());
  BOOST_TEST(root.confined);
  BOOST_TEST(!read_config_file(root, "../EVIL/own.secret", 100).data);
  BOOST_TEST(*read_config_file(root, "own.secret", 100).data == "evil-own-file-secret\n");
}

BOOST_AUTO_TEST_CASE(default_mode_and_server_layers_keep_todays_freedom) {
  ConfigDir d("free");
  d.write("ILL-smtp.secret", "shared-secret\n");
  d.write("SMTP.config", "<MailSettings>\n<FirewallPassword>file:ILL-smtp.secret</FirewallPassword>\n</MailSettings>\n");
  d.site("ACME", "<User>u</User>\n<SMTPPassword>file:ILL-smtp.secret</SMTPPassword>\n");
  auto free_table = d.load(false);
  BOOST_TEST(free_table->find("ACME")->valid, problems(*free_table, "ACME"));
  BOOST_TEST(free_table->find("ACME")->settings->text(Setting::SMTPPassword) == "shared-secret");
  // Delegated: the site file is confined, SMTP.config (the server admin's) is not.
  auto delegated = d.load(true);
  auto acme = delegated->find("ACME");
  BOOST_TEST(!acme->valid);
  BOOST_TEST(acme->settings->text(Setting::FirewallPassword) == "shared-secret");
  BOOST_TEST(acme->settings->at(Setting::FirewallPassword).confine_to.empty());
}

BOOST_AUTO_TEST_CASE(secret_files_open_to_others_are_warned_about) {
  ConfigDir d("modes");
  d.write("pw.secret", "x\n", 0644);
  d.write("client.pem", "-----BEGIN CERTIFICATE-----\n", 0640);
  d.site("ACME", "<User>u</User>\n<SMTPPassword>file:pw.secret</SMTPPassword>\n<SslCertStore>client.pem</SslCertStore>\n");
  auto t = d.load(false);
  const auto p = problems(*t, "ACME");
  BOOST_TEST(p.find("ACME.config:5: SMTPPassword: warning: " + (d.root / "pw.secret").string() +
                    " can be read or written by group or others (mode 0644); chmod 600 it") != std::string::npos,
             p);
  BOOST_TEST(p.find("ACME.config:6: SslCertStore: warning: " + (d.root / "client.pem").string() +
                    " can be read or written by group or others (mode 0640); chmod 600 it") != std::string::npos,
             p);
  BOOST_TEST(t->find("ACME")->valid);
  chmod((d.root / "pw.secret").c_str(), 0600);
  chmod((d.root / "client.pem").c_str(), 0600);
  auto again = d.load(false);
  BOOST_TEST(problems(*again, "ACME").find("chmod") == std::string::npos, problems(*again, "ACME"));
}

BOOST_AUTO_TEST_SUITE_END()
