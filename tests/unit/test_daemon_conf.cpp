// test_daemon_conf.cpp — sitemaild.conf (INI): fixed keys, defaults, bad values and unknown
// keys reported with file and line.
#include <boost/test/unit_test.hpp>

#include "daemon_conf.hpp"

using namespace sitemail;

BOOST_AUTO_TEST_SUITE(daemon_conf)

BOOST_AUTO_TEST_CASE(defaults_without_a_file) {
  DaemonConf c;
  BOOST_TEST(c.config_dir == "/etc/sitemail");
  BOOST_TEST(c.default_site == "ILL");
  BOOST_TEST((c.site_files == SiteFilesMode::layer));
  BOOST_TEST(c.metrics_listen == "127.0.0.1:9465");
  BOOST_TEST(c.retry_initial == 60);
  BOOST_TEST(c.retry_max == 3600);
  BOOST_TEST(c.retry_give_up == 172800);
}

BOOST_AUTO_TEST_CASE(fixed_keys_are_read) {
  DaemonConf c;
  auto d = parse_daemon_conf(
      "[database]\nurl = host=/tmp dbname=x\n[sites]\nconfig_dir = /srv/sm\ndefault_site = MAIN\nsite_files = replace\n"
      "[metrics]\nlisten =\n[retry]\ninitial = 30\n",
      "sitemaild.conf", c);
  BOOST_TEST(d.empty());
  BOOST_TEST(c.database_url == "host=/tmp dbname=x");
  BOOST_TEST(c.config_dir == "/srv/sm");
  BOOST_TEST(c.default_site == "MAIN");
  BOOST_TEST((c.site_files == SiteFilesMode::replace));
  BOOST_TEST(c.metrics_listen == "");
  BOOST_TEST(c.retry_initial == 30);
}

BOOST_AUTO_TEST_CASE(unknown_key_is_an_error_naming_file_and_line) {
  DaemonConf c;
  auto d = parse_daemon_conf("[sites]\nconfig_dir = /x\nconfg_dir = /y\n", "sitemaild.conf", c);
  BOOST_REQUIRE_EQUAL(d.size(), 1u);
  BOOST_TEST(d[0].to_line() ==
             "sitemaild.conf:3: sites.confg_dir: error: unknown key 'sites.confg_dir'; did you mean sites.config_dir?");
}

BOOST_AUTO_TEST_CASE(bad_values_are_errors) {
  DaemonConf c;
  auto d = parse_daemon_conf("[sites]\nsite_files = merge\n[retry]\nmax = soon\n", "s.conf", c);
  BOOST_REQUIRE_EQUAL(d.size(), 2u);
  BOOST_TEST(d[0].to_line() == "s.conf:2: sites.site_files: error: 'merge' is not one of layer, replace");
  BOOST_TEST(d[1].to_line() == "s.conf:4: retry.max: error: 'soon' is not a whole number");
}

BOOST_AUTO_TEST_CASE(every_key_has_a_doc_line) {
  for (const auto& k : daemon_conf_keys()) BOOST_TEST(!k.doc.empty(), k.name);
}

BOOST_AUTO_TEST_SUITE_END()
