// test_catalogue_docs.cpp — the documentation cannot drift from the code: docs/configuration.md's
// settings table is exactly the catalogue, and deploy/sitemaild.conf.example documents
// every sitemaild.conf key with its default.
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <sstream>

#include "catalogue.hpp"
#include "daemon_conf.hpp"

using namespace sitemail;

namespace {

std::string slurp(const std::string& p) {
  std::ifstream in(p);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string expected_table() {
  std::string t = "| setting | aliases | type | default | secret | meaning |\n|---|---|---|---|---|---|\n";
  for (const auto& d : catalogue()) {
    std::string aliases;
    for (auto a : d.aliases) aliases += (aliases.empty() ? "" : ", ") + std::string(a);
    std::string type(type_name(d.type));
    if (d.type == ValueType::enumeration) {
      type = "";
      for (const auto& c : d.choices)
        type += (type.empty() ? "" : ", ") + std::string(c.name) + "(" + std::to_string(c.number) + ")";
    }
    std::string dflt = d.required ? "required" : d.default_text.empty() ? "empty" : std::string(d.default_text);
    if (d.id == Setting::FullyQualifiedDomainName) dflt = "host FQDN";
    t += "| " + std::string(d.name) + " | " + aliases + " | " + type + " | " + dflt + " | " + (d.secret ? "S" : "") + " | " +
         std::string(d.doc) + " |\n";
  }
  return t;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(docs)

BOOST_AUTO_TEST_CASE(configuration_guide_settings_table_is_the_catalogue) {
  auto readme = slurp(SITEMAIL_SOURCE_DIR "/docs/configuration.md");
  const std::string begin = "<!-- settings-table:begin -->\n", end = "<!-- settings-table:end -->";
  auto b = readme.find(begin), e = readme.find(end);
  BOOST_REQUIRE(b != std::string::npos);
  BOOST_REQUIRE(e != std::string::npos);
  std::string actual = readme.substr(b + begin.size(), e - b - begin.size());
  BOOST_TEST(actual == expected_table(), "docs/configuration.md settings table must be:\n" << expected_table());
}

BOOST_AUTO_TEST_CASE(conf_example_documents_every_key_with_its_default) {
  auto example = slurp(SITEMAIL_SOURCE_DIR "/deploy/sitemaild.conf.example");
  BOOST_REQUIRE(!example.empty());
  for (const auto& k : daemon_conf_keys()) {
    auto dot = k.name.find('.');
    std::string section = "[" + k.name.substr(0, dot) + "]";
    std::string line = "# " + k.name.substr(dot + 1) + " = " + k.default_text + "\n";
    BOOST_TEST_CONTEXT(k.name) {
      auto s = example.find(section);
      BOOST_TEST(s != std::string::npos);
      BOOST_TEST(example.find(line, s) != std::string::npos, "expected '" << line << "' after " << section);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
