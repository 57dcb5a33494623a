// man_sections.hpp — the parts of the documentation that are generated from the code, so
// they cannot drift from it: the settings list of sitemail-settings(5) and docs/configuration.md (from
// the catalogue, config/catalogue.cpp) and the sitemaild.conf keys of sitemaild(8) (from
// config/daemon_conf.cpp). Each lives between two marker lines in a committed file;
// sitemail-gendocs rewrites them, and a unit test fails when a committed copy is stale.
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace sitemail::docs {

struct GeneratedSection {
  std::string file;   // relative to the source dir, e.g. "docs/man/sitemail-settings.5"
  std::string begin;  // marker line (without its newline)
  std::string end;
  std::string content;  // what belongs between the markers (each line ends with \n)
};

[[nodiscard]] std::vector<GeneratedSection> generated_sections();

// roff (man(7)) text for one line of prose: escapes backslashes and hyphens, turns `code`
// spans into bold, and protects a leading '.' or '\''.
[[nodiscard]] std::string roff_escape(const std::string& text);

[[nodiscard]] std::string settings_roff();      // one .TP entry per catalogue setting
[[nodiscard]] std::string daemon_conf_roff();   // one .TP entry per sitemaild.conf key
[[nodiscard]] std::string settings_markdown();  // docs/configuration.md's settings table

// The text between `begin` and `end` in `text`, or nullopt when a marker is missing.
[[nodiscard]] std::optional<std::string> between_markers(const std::string& text, const GeneratedSection& s);
// `text` with the part between the markers replaced by s.content (markers must exist).
[[nodiscard]] std::optional<std::string> with_section(const std::string& text, const GeneratedSection& s);

}  // namespace sitemail::docs
