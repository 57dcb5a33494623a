// test_explain_golden.cpp — golden files for `show --explain` (and `sites`): each case in
// fixtures/golden/<case>/ has db.txt (SITE KEY VALUE lines), config/ (the config dir),
// optional mode (layer|replace) and expected/<SITE>.txt, sites.txt and check-strict.txt
// (`check --strict`: every problem, sorted by file and line). SITEMAIL_UPDATE_GOLDEN=1 rewrites
// the expected files (review the diff before committing).
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "report_format.hpp"
#include "text_util.hpp"

using namespace sitemail;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

DbSnapshot read_db_txt(const fs::path& p) {
  DbSnapshot db;
  std::ifstream in(p);
  std::string line;
  while (std::getline(in, line)) {
    auto t = std::string(trim(line));
    if (t.empty() || t[0] == '#') continue;
    std::istringstream ls(t);
    std::string site, key, value;
    ls >> site >> key;
    std::getline(ls, value);
    if (site == "outbox") {
      db.outbox_sites.insert(key);
      continue;
    }
    db.keys_by_site[site].push_back({key, std::string(trim(value))});
  }
  return db;
}

std::shared_ptr<const SiteTable> load_case(const fs::path& dir, bool explain = true,
                                           const std::set<std::string>* only = nullptr) {
  ResolveEnv env;
  env.explain = explain;
  env.config_dir = (dir / "config").string();
  env.host_fqdn = "host.example.org";
  env.getenv = [](const std::string& n) -> std::optional<std::string> {
    if (n == "GOLDEN_PW") return std::string("pw");
    return std::nullopt;
  };
  if (fs::exists(dir / "mode") && trim(slurp(dir / "mode")) == "replace") env.mode = SiteFilesMode::replace;
  return load_site_table(read_db_txt(dir / "db.txt"), env, only);
}

void compare(const fs::path& expected_file, const std::string& actual) {
  if (std::getenv("SITEMAIL_UPDATE_GOLDEN")) {
    fs::create_directories(expected_file.parent_path());
    std::ofstream(expected_file, std::ios::binary) << actual;
    return;
  }
  BOOST_TEST_CONTEXT(expected_file.string()) {
    BOOST_REQUIRE(fs::exists(expected_file));
    BOOST_TEST(slurp(expected_file) == actual);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(golden)

BOOST_AUTO_TEST_CASE(show_explain_and_sites_match_the_golden_files) {
  const fs::path root = SITEMAIL_FIXTURES "/golden";
  int cases = 0;
  for (const auto& c : fs::directory_iterator(root)) {
    if (!c.is_directory()) continue;
    ++cases;
    auto table = load_case(c.path());
    compare(c.path() / "expected" / "sites.txt", format_sites(*table));
    compare(c.path() / "expected" / "check-strict.txt", format_check(collect_problems(*table, "", /*strict=*/true)));
    for (const auto& [code, site] : table->sites) compare(c.path() / "expected" / (code + ".txt"), format_show(*site, true));
  }
  BOOST_TEST(cases >= 4);
}

// The daemon and --check-config resolve without explanations (ResolveEnv::explain = false):
// every value, source, verdict, problem and route must be what `show --explain` is built on.
BOOST_AUTO_TEST_CASE(resolving_without_explanations_changes_nothing_but_the_explanations) {
  const fs::path root = SITEMAIL_FIXTURES "/golden";
  int sites = 0, notes = 0, overridden = 0;
  for (const auto& c : fs::directory_iterator(root)) {
    if (!c.is_directory()) continue;
    auto full = load_case(c.path(), true);
    auto lean = load_case(c.path(), false);
    BOOST_TEST_CONTEXT(c.path().filename().string()) {
      BOOST_TEST(format_sites(*lean) == format_sites(*full));
      BOOST_TEST(format_check(collect_problems(*lean, "", true)) == format_check(collect_problems(*full, "", true)));
      BOOST_REQUIRE(lean->sites.size() == full->sites.size());
      for (const auto& [code, f] : full->sites) {
        const auto& l = *lean->find(code);
        ++sites;
        BOOST_TEST_CONTEXT(code) {
          BOOST_TEST(l.valid == f->valid);
          // (the route starts with the load's generation, which counts up per load)
          BOOST_TEST(l.route.substr(l.route.find('/')) == f->route.substr(f->route.find('/')));
          BOOST_TEST(format_show(l, false) == format_show(*f, false));  // every value
          BOOST_TEST(format_check(l.diagnostics) == format_check(f->diagnostics));
          BOOST_TEST(l.settings->helo == f->settings->helo);
          BOOST_TEST((l.settings->tls == f->settings->tls && l.settings->port == f->settings->port &&
                      l.settings->firewall_port == f->settings->firewall_port));
          for (std::size_t i = 0; i < kSettingCount; ++i) {
            const auto s = static_cast<Setting>(i);
            BOOST_TEST(l.settings->source(s) == f->settings->source(s));
            BOOST_TEST(l.settings->at(s).notes.empty());
            BOOST_TEST(l.settings->at(s).overridden.empty());
            notes += static_cast<int>(f->settings->at(s).notes.size());
            overridden += static_cast<int>(f->settings->at(s).overridden.size());
          }
        }
      }
    }
  }
  BOOST_TEST(sites >= 10);
  BOOST_TEST(notes > 0);  // the fixtures do have explanations to leave out
  BOOST_TEST(overridden > 0);
}

// `show`, `check --site`, `keys set` and the web console's site pages resolve only the site
// they are about (load_site_table's `only`): what they print must be what the whole table gives.
BOOST_AUTO_TEST_CASE(a_table_of_one_site_shows_and_checks_that_site_exactly_as_the_whole_table) {
  const fs::path root = SITEMAIL_FIXTURES "/golden";
  int sites = 0;
  for (const auto& c : fs::directory_iterator(root)) {
    if (!c.is_directory()) continue;
    auto full = load_case(c.path());
    std::set<std::string> codes;
    for (const auto& [code, site] : full->sites) codes.insert(code);
    codes.insert("NO-SUCH-SITE");  // resolved with the default layers, known to neither table
    for (const auto& code : codes) {
      const std::set<std::string> only{code};
      auto one = load_case(c.path(), true, &only);
      BOOST_TEST_CONTEXT(c.path().filename().string() << " " << code) {
        BOOST_TEST(one->sites.size() == (full->find(code) ? 1u : 0u));  // nothing else resolved
        BOOST_TEST((one->find(code) != nullptr) == (full->find(code) != nullptr));
        BOOST_TEST(format_show(*one->find_or_resolve(code), true) == format_show(*full->find_or_resolve(code), true));
        BOOST_TEST(format_check(collect_problems(*one, code, true)) == format_check(collect_problems(*full, code, true)));
        BOOST_TEST(format_check(one->global) == format_check(full->global));
        ++sites;
      }
    }
  }
  BOOST_TEST(sites >= 10);
}

BOOST_AUTO_TEST_SUITE_END()
