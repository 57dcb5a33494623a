// test_site_file_bounds.cpp — hostile site files (issue 9 finding 2, issue 11 item 4):
// size, depth and element-count limits enforced before Property_Tree parses, encodings
// named, malformed XML reported at the line where it goes wrong; and printable()/JSON
// escaping (finding 8).
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>

#include "mail_settings_file.hpp"
#include "site_file_scan.hpp"
#include "text_util.hpp"

using namespace sitemail;
namespace fs = std::filesystem;

namespace {

std::string all(const RawLayer& l) {
  std::string s;
  for (const auto& d : l.diagnostics) s += d.to_line() + "\n";
  return s;
}

long max_rss_kib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

std::string nested(int levels) {
  std::string s = "<MailSettings>";
  for (int i = 0; i < levels; ++i) s += "<a>";
  for (int i = 0; i < levels; ++i) s += "</a>";
  return s + "</MailSettings>\n";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(site_file_bounds)

BOOST_AUTO_TEST_CASE(hundred_thousand_nested_levels_are_refused_before_parsing) {
  auto l = parse_mail_settings(nested(100000), "DEEP.config");
  BOOST_TEST(l.entries.empty());
  BOOST_TEST(all(l) ==
             "DEEP.config:1: -: error: malformed XML: elements nested 17 levels deep: exceeds the limit of 16 levels\n");
  // 15 levels under the root are fine (the element is not a setting: a warning only).
  auto ok = parse_mail_settings(nested(15), "OK.config");
  BOOST_TEST(all(ok).find("error") == std::string::npos, all(ok));
}

BOOST_AUTO_TEST_CASE(too_many_elements_are_refused) {
  std::string s = "<MailSettings>\n";
  for (int i = 0; i < 2500; ++i) s += "<x/>\n";
  auto l = parse_mail_settings(s + "</MailSettings>\n", "MANY.config");
  BOOST_TEST(all(l) == "MANY.config:2001: -: error: malformed XML: more than 2000 elements: exceeds the limit of 2000\n");
}

BOOST_AUTO_TEST_CASE(a_huge_file_is_refused_by_its_size_without_being_read) {
  const fs::path p = fs::temp_directory_path() / ("sitemail_huge_" + std::to_string(getpid()) + ".config");
  {
    std::ofstream f(p);
    f << "<MailSettings>";
  }
  fs::resize_file(p, 100ull * 1024 * 1024);  // sparse: 100 MB that costs no disk
  const long before = max_rss_kib();
  auto l = read_mail_settings_file(p.string(), "HUGE.config");
  const long after = max_rss_kib();
  fs::remove(p);
  BOOST_TEST(all(l) == "HUGE.config: -: error: file size 104857600 bytes exceeds the limit of 1048576 bytes (1 MiB)\n");
  BOOST_TEST(after - before < 20 * 1024, "peak RSS grew by " << (after - before) << " KiB");
  // Just over the limit in memory (parse_mail_settings): the scan refuses it too.
  auto big = parse_mail_settings(std::string(kMaxSiteFileBytes + 1, ' '), "BIG.config");
  BOOST_TEST(all(big).find("exceeds the limit of 1048576 bytes") != std::string::npos, all(big));
}

// The file is read in one call of fstat's size + 1; a file longer than fstat said (it grew
// meanwhile; a /proc file always reports size 0) is read on to its end, never cut short.
BOOST_AUTO_TEST_CASE(a_file_longer_than_fstat_said_is_read_whole) {
  auto l = read_mail_settings_file("/proc/self/status", "status.config");
  BOOST_TEST(l.present);
  BOOST_REQUIRE(!l.diagnostics.empty());
  // Cut at fstat's size (0 bytes) it would be an empty file; read whole, it is text
  // without any element: the scan names its first line.
  BOOST_TEST(all(l).find("status.config:1") != std::string::npos, all(l));
}

BOOST_AUTO_TEST_CASE(a_fifo_is_not_read) {
  const fs::path p = fs::temp_directory_path() / ("sitemail_fifo_" + std::to_string(getpid()) + ".config");
  BOOST_REQUIRE(mkfifo(p.c_str(), 0600) == 0);
  auto l = read_mail_settings_file(p.string(), "FIFO.config");
  fs::remove(p);
  BOOST_TEST(all(l).find("FIFO.config: -: error: cannot read ") == 0u, all(l));
  BOOST_TEST(all(l).find("not a regular file") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(malformed_xml_is_reported_at_the_line_where_it_goes_wrong) {
  struct Case {
    std::string text, expect;
  };
  const Case cases[] = {
      {"<?xml version=\"1.0\"?>\n<MailSettings>\n<Host>a.example</Host>\n<Timeout=30>\n</MailSettings>\n",
       "X.config:4: -: error: malformed XML: '<Timeout=30>' is not a valid tag: an element name cannot contain '='"},
      {"<MailSettings>\n<Host>a.example</Host>\n<Timeout>30\n</MailSettings>\n",
       "X.config:4: -: error: malformed XML: </MailSettings> does not close <Timeout> (opened on line 3)"},
      {"<MailSettings>\n<Host>a.example</Host>\n<Timeout>30</Timeout>\n",
       "X.config:1: -: error: malformed XML: <MailSettings> (opened here) is never closed"},
      {"<MailSettings>\n<!-- a comment\n<Host>a</Host>\n</MailSettings>\n",
       "X.config:2: -: error: malformed XML: the comment that starts here is never closed"},
      {"<MailSettings>\n<Host>a</Host\n</MailSettings>\n",
       "X.config:2: -: error: malformed XML: the tag <Host is not closed with '>'"},
      {"<MailSettings>\n< Host>a</Host>\n</MailSettings>\n",
       "X.config:2: -: error: malformed XML: '<' not followed by an element name"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.text) {
      auto l = parse_mail_settings(c.text, "X.config");
      BOOST_TEST(all(l) == c.expect + "\n");
    }
  }
}

BOOST_AUTO_TEST_CASE(encodings_other_than_utf8_are_named) {
  const std::string ascii = "<MailSettings><Host>a.example</Host></MailSettings>";
  auto utf16 = [&](bool le, bool bom) {
    std::string out = bom ? (le ? std::string("\xFF\xFE") : std::string("\xFE\xFF")) : std::string();
    for (char c : ascii) {
      if (le) out += c, out += '\0';
      else out += '\0', out += c;
    }
    return out;
  };
  struct Case {
    std::string text, expect;
  };
  const Case cases[] = {
      {utf16(true, true),
       "X.config: -: error: the file is encoded in UTF-16LE (with a byte-order mark); sitemail reads UTF-8 only: save it as UTF-8"},
      {utf16(true, false),
       "X.config: -: error: the file is encoded in UTF-16LE (without a byte-order mark); sitemail reads UTF-8 only: save it as UTF-8"},
      {utf16(false, true),
       "X.config: -: error: the file is encoded in UTF-16BE (with a byte-order mark); sitemail reads UTF-8 only: save it as UTF-8"},
      {utf16(false, false),
       "X.config: -: error: the file is encoded in UTF-16BE (without a byte-order mark); sitemail reads UTF-8 only: save it as UTF-8"},
      {"<?xml version=\"1.0\" encoding=\"windows-1252\"?>\n<MailSettings>\n<EMailFromName>Biblioth\xE8que</EMailFromName>\n</MailSettings>\n",
       "X.config:1: -: error: malformed XML: the file declares encoding=\"windows-1252\"; sitemail reads UTF-8 only: save it as UTF-8 and declare encoding=\"utf-8\""},
      {"<MailSettings>\n<Host>a.example</Host>\n<EMailFromName>Biblioth\xE8que</EMailFromName>\n</MailSettings>\n",
       "X.config:3: -: error: malformed XML: not valid UTF-8 (byte 0xE8); the file looks like Latin-1 or Windows-1252: save it as UTF-8"},
  };
  for (const auto& c : cases) {
    auto l = parse_mail_settings(c.text, "X.config");
    BOOST_TEST(all(l) == c.expect + "\n");
  }
  // A UTF-8 byte-order mark and a declared ASCII-compatible encoding on ASCII text load.
  auto bom = parse_mail_settings("\xEF\xBB\xBF" + ascii, "X.config");
  BOOST_TEST(all(bom).empty(), all(bom));
  BOOST_REQUIRE(bom.find(Setting::EMailSMTPServer));
  auto latin_ascii = parse_mail_settings("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n" + ascii, "X.config");
  BOOST_TEST(
      all(latin_ascii) ==
      "X.config:1: -: warning: the file declares encoding=\"ISO-8859-1\" but is read as UTF-8 (it holds only ASCII, so nothing changes)\n");
  auto utf8 = parse_mail_settings("<MailSettings><EMailFromName>Biblioth\xC3\xA8que</EMailFromName></MailSettings>", "X.config");
  BOOST_TEST(all(utf8).empty(), all(utf8));
}

BOOST_AUTO_TEST_CASE(printable_escapes_everything_that_could_forge_a_line) {
  BOOST_TEST(printable("ACME") == "ACME");
  BOOST_TEST(printable("EVIL\nILL valid db") == "EVIL\\nILL valid db");
  BOOST_TEST(printable("a\rb\tc\x1b[31md\x7f") == "a\\rb\\tc\\x1b[31md\\x7f");
  BOOST_TEST(printable("caf\xC3\xA9") == "caf\xC3\xA9");                        // UTF-8 kept
  BOOST_TEST(printable("bad\xE9") == "bad\\xe9");                               // invalid UTF-8 shown as bytes
  BOOST_TEST(printable("x\xC2\x85y") == "x\\u0085y");                           // C1 NEL
  BOOST_TEST(printable("x\xE2\x80\xA8y\xE2\x80\xAEz") == "x\\u2028y\\u202ez");  // line separator, bidi override
  BOOST_TEST(printable("C:\\sitemail\\x") == "C:\\sitemail\\x");                // backslashes kept
}

BOOST_AUTO_TEST_CASE(json_escape_always_gives_valid_utf8_and_says_when_it_replaced) {
  bool replaced = false;
  BOOST_TEST(json_escape("a\"b\\c\nd\x01", &replaced) == "a\\\"b\\\\c\\nd\\u0001");
  BOOST_TEST(!replaced);
  BOOST_TEST(json_escape("caf\xC3\xA9", &replaced) == "caf\xC3\xA9");
  BOOST_TEST(!replaced);
  BOOST_TEST(json_escape("bad\xE9\xFF!", &replaced) == "bad\xEF\xBF\xBD\xEF\xBF\xBD!");
  BOOST_TEST(replaced);
  BOOST_TEST(valid_utf8(json_escape("\xC0\xAF\xED\xA0\x80\xF4\x90\x80\x80")));  // overlong, surrogate, > U+10FFFF
  BOOST_TEST(!valid_utf8("\xC0\xAF"));
}

BOOST_AUTO_TEST_CASE(diagnostic_lines_cannot_be_forged) {
  Diagnostic d{"db:EVIL\nILL", "Key\r", Severity::warning, "value 'x\ny'"};
  BOOST_TEST(d.to_line() == "db:EVIL\\nILL: Key\\r: warning: value 'x\\ny'");
  BOOST_TEST(d.to_line().find('\n') == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
