// test_mail_settings_file.cpp — MailSettings XML files: the ILLiad sample as written,
// element lines, case-insensitive names and aliases, and every kind of bad file.
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "mail_settings_file.hpp"

using namespace sitemail;

namespace {

const Diagnostic* find_diag(const RawLayer& l, const std::string& needle) {
  for (const auto& d : l.diagnostics)
    if (d.to_line().find(needle) != std::string::npos) return &d;
  return nullptr;
}

std::string all(const RawLayer& l) {
  std::string s;
  for (const auto& d : l.diagnostics) s += d.to_line() + "\n";
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mail_settings_file)

BOOST_AUTO_TEST_CASE(illiad_sample_loads_exactly_as_written) {
  auto l = read_mail_settings_file(SITEMAIL_FIXTURES "/illiad_sample.config", "SMTP.config");
  BOOST_TEST(l.present);
  BOOST_TEST(l.diagnostics.empty(), all(l));
  BOOST_TEST(l.entries.size() == 15u);
  const RawEntry* fqdn = l.find(Setting::FullyQualifiedDomainName);
  BOOST_REQUIRE(fqdn);
  BOOST_TEST(fqdn->raw == "mydomain.com");
  BOOST_TEST(fqdn->line == 17);
  BOOST_TEST(l.where(*fqdn) == "SMTP.config:17");
  BOOST_TEST(l.find(Setting::AllowExtensions)->line == 3);
  BOOST_TEST(l.find(Setting::SslCertStore)->raw == "MY");
  BOOST_TEST(l.find(Setting::OtherHeaders)->raw == "");
}

BOOST_AUTO_TEST_CASE(missing_file_is_not_present_and_not_an_error) {
  auto l = read_mail_settings_file("/nonexistent/ACME.config", "ACME.config");
  BOOST_TEST(!l.present);
  BOOST_TEST(l.diagnostics.empty());
}

BOOST_AUTO_TEST_CASE(malformed_xml_names_the_line) {
  auto l = parse_mail_settings("<?xml version=\"1.0\"?>\n<MailSettings>\n<Timeout>5</Timeout>\n<Host>x</Hots>\n</MailSettings>\n",
                               "ACME.config");
  BOOST_REQUIRE_EQUAL(l.diagnostics.size(), 1u);
  BOOST_TEST(l.diagnostics[0].is_error());
  BOOST_TEST(l.diagnostics[0].where == "ACME.config:4");
  BOOST_TEST(l.diagnostics[0].message.find("malformed XML") == 0u);
  BOOST_TEST(l.entries.empty());
}

BOOST_AUTO_TEST_CASE(wrong_root_element_is_an_error) {
  auto l = parse_mail_settings("<Settings><Timeout>5</Timeout></Settings>", "X.config");
  BOOST_TEST(find_diag(l, "X.config: -: error: the root element must be one <MailSettings>, found <Settings>"), all(l));
}

BOOST_AUTO_TEST_CASE(unknown_element_warns_with_a_suggestion_and_line) {
  auto l = parse_mail_settings("<MailSettings>\n  <Timout>5</Timout>\n  <Frobnicate>1</Frobnicate>\n</MailSettings>", "A.config");
  BOOST_TEST(find_diag(l, "A.config:2: Timout: warning: unknown element <Timout>, ignored; did you mean Timeout?"), all(l));
  BOOST_TEST(find_diag(l, "A.config:3: Frobnicate: warning: unknown element <Frobnicate>, ignored"), all(l));
  BOOST_TEST(!find_diag(l, "Frobnicate>, ignored; did you mean"));
  BOOST_TEST(l.entries.empty());
}

BOOST_AUTO_TEST_CASE(names_and_aliases_match_case_insensitively) {
  auto l = parse_mail_settings(
      "<mailsettings><HOST>relay</HOST><mailport>2525</mailport><emailsecure>yes</emailsecure></mailsettings>", "A.config");
  BOOST_TEST(l.diagnostics.empty(), all(l));
  BOOST_TEST(l.find(Setting::EMailSMTPServer)->raw == "relay");
  BOOST_TEST(l.find(Setting::EMailSMTPPort)->written_as == "mailport");
  BOOST_TEST(l.find(Setting::EMailSecure)->raw == "yes");
}

BOOST_AUTO_TEST_CASE(same_setting_twice_is_an_error_naming_both_lines) {
  auto l = parse_mail_settings("<MailSettings>\n<Timeout>5</Timeout>\n<Host>a</Host>\n<timeout>9</timeout>\n</MailSettings>",
                               "A.config");
  BOOST_TEST(find_diag(l, "A.config:4: Timeout: error: set twice in one file (first at line 2)"), all(l));
  BOOST_TEST(l.find(Setting::Timeout)->raw == "5");
}

BOOST_AUTO_TEST_CASE(alias_and_name_twice_is_also_a_duplicate) {
  auto l =
      parse_mail_settings("<MailSettings>\n<Host>a</Host>\n<EMailSMTPServer>b</EMailSMTPServer>\n</MailSettings>", "A.config");
  BOOST_TEST(find_diag(l, "A.config:3: EMailSMTPServer: error: set twice in one file (first at line 2)"), all(l));
}

BOOST_AUTO_TEST_CASE(nested_elements_are_an_error) {
  auto l = parse_mail_settings("<MailSettings>\n<Timeout><x>1</x></Timeout>\n</MailSettings>", "A.config");
  BOOST_TEST(find_diag(l, "A.config:2: Timeout: error: <Timeout> must hold text, not elements"), all(l));
}

BOOST_AUTO_TEST_CASE(comments_cdata_and_entities) {
  auto l = parse_mail_settings(
      "<?xml version=\"1.0\"?>\n<!-- a <Timeout> in a comment -->\n<MailSettings>\n<!-- <Host>x</Host> -->\n"
      "<EMailFromName>Smith &amp; Co</EMailFromName>\n<OtherHeaders><![CDATA[X-A: <1>]]></OtherHeaders>\n</MailSettings>",
      "A.config");
  BOOST_TEST(l.diagnostics.empty(), all(l));
  BOOST_TEST(l.find(Setting::EMailFromName)->raw == "Smith & Co");
  BOOST_TEST(l.find(Setting::EMailFromName)->line == 5);
  BOOST_TEST(l.find(Setting::OtherHeaders)->raw == "X-A: <1>");
  BOOST_TEST(l.find(Setting::OtherHeaders)->line == 6);
  BOOST_TEST(!l.find(Setting::EMailSMTPServer));
}

// The one-pass reader of plain files and Property_Tree must give the same layer, byte for
// byte: every fixture and example file, and inputs at the edges of the fast path.
std::string dump(const RawLayer& l) {
  std::string s = l.label + (l.present ? " present\n" : " absent\n");
  for (const auto& e : l.entries)
    s += std::to_string(static_cast<int>(e.setting)) + " [" + e.raw + "] as " + e.written_as + " line " + std::to_string(e.line) +
         "\n";
  for (const auto& d : l.diagnostics) s += d.to_line() + (d.strict_only ? " (strict)\n" : "\n");
  return s;
}

BOOST_AUTO_TEST_CASE(fast_path_and_property_tree_agree) {
  std::vector<std::pair<std::string, std::string>> inputs = {
      {"plain", "<?xml version=\"1.0\"?>\n<MailSettings xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n"
                "<EMailSMTPServer>relay.example.org</EMailSMTPServer>\n<EMailSMTPPort>465-ssl</EMailSMTPPort>\n"
                "<Timeout>30</Timeout>\n</MailSettings>\n"},
      {"bom", "\xEF\xBB\xBF<MailSettings><Host>h</Host></MailSettings>"},
      {"spaces", "<MailSettings>\n  <Host>  spaced  </Host>\n<From>   </From><User></User>\r\n</MailSettings>\r\n"},
      {"comments", "<!-- a --><MailSettings><!-- b --><Host>h</Host><!-- c --></MailSettings><!-- d -->\n"},
      {"comment_in_setting", "<MailSettings><Host>h<!-- x --></Host></MailSettings>"},
      {"entities", "<MailSettings><EMailFromName>A &amp; B &lt;x&gt; &#65;</EMailFromName></MailSettings>"},
      {"cdata", "<MailSettings><OtherHeaders><![CDATA[X-A: <b>]]></OtherHeaders></MailSettings>"},
      {"self_closing", "<MailSettings><OtherHeaders/><Host>h</Host></MailSettings>"},
      {"attr_on_setting", "<MailSettings><Host a=\"1\">h</Host></MailSettings>"},
      {"single_quoted_root_attr", "<MailSettings a='1' b = \"2\"><Host>h</Host></MailSettings>"},
      {"root_attr_entity", "<MailSettings a=\"&amp;\"><Host>h</Host></MailSettings>"},
      {"root_case", "<mailsettings><host>h</host></mailsettings>"},
      {"wrong_root", "<Settings><Host>h</Host></Settings>"},
      {"two_roots", "<MailSettings></MailSettings><MailSettings></MailSettings>"},
      {"empty_root", "<MailSettings/>"},
      {"text_in_root", "<MailSettings>text<Host>h</Host></MailSettings>"},
      {"text_after_root", "<MailSettings><Host>h</Host></MailSettings>tail"},
      {"nested", "<MailSettings><Host><Inner>x</Inner></Host></MailSettings>"},
      {"unknown_and_twice", "<MailSettings>\n<Hots>h</Hots>\n<Host>a</Host>\n<MailServer>b</MailServer>\n</MailSettings>"},
      {"gt_in_text", "<MailSettings><OtherHeaders>X-A: a > b</OtherHeaders></MailSettings>"},
      {"end_tag_space", "<MailSettings><Host>h</Host ></MailSettings >"},
      {"pi_inside", "<MailSettings><?pi x?><Host>h</Host></MailSettings>"},
      {"utf8_text", "<MailSettings><EMailFromName>Bibliothèque</EMailFromName></MailSettings>"},
      {"doctype", "<!DOCTYPE x><MailSettings><Host>h</Host></MailSettings>"},
      {"nothing", ""},
  };
  namespace fs = std::filesystem;
  for (const char* dir : {SITEMAIL_FIXTURES, SITEMAIL_SOURCE_DIR "/deploy/examples"}) {
    if (!fs::exists(dir)) continue;
    for (const auto& e : fs::recursive_directory_iterator(dir))
      if (e.is_regular_file() && e.path().extension() == ".config") {
        std::ifstream in(e.path(), std::ios::binary);
        std::ostringstream ss;
        ss << in.rdbuf();
        inputs.emplace_back(e.path().string(), ss.str());
      }
  }
  BOOST_TEST(inputs.size() > 30u);
  for (const auto& [name, text] : inputs) {
    BOOST_TEST_CONTEXT(name) {
      BOOST_TEST(dump(parse_mail_settings_via(text, "X.config", true)) == dump(parse_mail_settings_via(text, "X.config", false)));
    }
  }
}

BOOST_AUTO_TEST_CASE(db_rows_ignore_foreign_keys_and_reject_duplicates) {
  auto l = layer_from_db_rows("db:ILL", {{"EMailSecure", "Yes"}, {"EmailSecure", "No"}, {"ILLiadWebURL", "x"}});
  BOOST_TEST(l.entries.size() == 1u);
  BOOST_REQUIRE_EQUAL(l.diagnostics.size(), 1u);
  BOOST_TEST(l.diagnostics[0].to_line() ==
             "db:ILL: EMailSecure: error: set twice, as keys 'EMailSecure' and 'EmailSecure'; unset one of them");
}

BOOST_AUTO_TEST_SUITE_END()
