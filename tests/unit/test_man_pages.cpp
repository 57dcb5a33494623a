// test_man_pages.cpp — the generated parts of the committed documentation are exactly what
// sitemail-gendocs would write today: the settings list of docs/man/sitemail-settings.5
// (the catalogue), the sitemaild.conf keys of docs/man/sitemaild.8, the settings table of docs/configuration.md.
// Fix a failure with: build/docs/sitemail-gendocs --update .
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <sstream>

#include "catalogue.hpp"
#include "daemon_conf.hpp"
#include "man_sections.hpp"

using namespace sitemail;

namespace {

std::string slurp(const std::string& p) {
  std::ifstream in(p);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(man_pages)

BOOST_AUTO_TEST_CASE(generated_sections_match_the_code) {
  for (const auto& s : docs::generated_sections()) {
    BOOST_TEST_CONTEXT(s.file) {
      auto text = slurp(SITEMAIL_SOURCE_DIR "/" + s.file);
      BOOST_REQUIRE(!text.empty());
      auto current = docs::between_markers(text, s);
      BOOST_REQUIRE_MESSAGE(current, "markers missing in " << s.file);
      BOOST_TEST(*current == s.content, s.file << " is stale; run: build/docs/sitemail-gendocs --update .");
    }
  }
}

BOOST_AUTO_TEST_CASE(every_setting_and_conf_key_is_in_the_pages) {
  auto settings = slurp(SITEMAIL_SOURCE_DIR "/docs/man/sitemail-settings.5");
  for (const auto& d : catalogue()) BOOST_TEST(settings.find(".B " + std::string(d.name) + "\n") != std::string::npos, d.name);
  auto daemon = slurp(SITEMAIL_SOURCE_DIR "/docs/man/sitemaild.8");
  for (const auto& k : daemon_conf_keys()) {
    auto key = k.name.substr(k.name.find('.') + 1);
    BOOST_TEST(daemon.find(".BR " + docs::roff_escape(key) + " \"") != std::string::npos, k.name);
  }
}

BOOST_AUTO_TEST_CASE(roff_escaping) {
  BOOST_TEST(docs::roff_escape("a-b \\ `x`") == "a\\-b \\e \\fBx\\fR");
  BOOST_TEST(docs::roff_escape(".dot") == "\\&.dot");
  BOOST_TEST(docs::roff_escape("'q") == "\\&'q");
}

BOOST_AUTO_TEST_CASE(a_stale_copy_is_detected_and_rewritten) {
  docs::GeneratedSection s{"x", "<!-- b -->", "<!-- e -->", "new\n"};
  std::string text = "head\n<!-- b -->\nold\n<!-- e -->\ntail\n";
  BOOST_TEST(*docs::between_markers(text, s) == "old\n");
  auto fixed = docs::with_section(text, s);
  BOOST_REQUIRE(fixed);
  BOOST_TEST(*fixed == "head\n<!-- b -->\nnew\n<!-- e -->\ntail\n");
  BOOST_TEST(!docs::between_markers("no markers", s));
}

BOOST_AUTO_TEST_SUITE_END()
