// report_format.hpp — the text and JSON that `sitemailctl sites`, `check` and `show`
// print (CONTRACT §1 output formats). Pure functions of resolved sites, so golden tests
// can check them byte for byte.
#pragma once
#include <string>

#include "site_table.hpp"

namespace sitemail {

// Every JSON object holding a string with invalid UTF-8 (replaced with U+FFFD, so the
// output stays valid JSON) carries "note": kJsonReplacedNote. Text output is escaped with
// printable(), so no value can forge a line.
inline constexpr const char* kJsonReplacedNote = "invalid UTF-8 replaced with U+FFFD";

// `show`: one `Name = value` line per setting; with explain, `  [layer]` on that line and
// indented lines for overridden values and notes.
[[nodiscard]] std::string format_show(const ResolvedSite& site, bool explain);
[[nodiscard]] std::string format_show_json(const ResolvedSite& site);

// `sites`: `SITE valid|invalid WHERE[,WHERE...] [first problem]`
[[nodiscard]] std::string format_sites(const SiteTable& table);
[[nodiscard]] std::string format_sites_json(const SiteTable& table);

// `check`: `WHERE: SETTING: error|warning: problem`, each problem once even when
// several sites share the layer that has it.
// Sorted by file and line; values hidden by a higher layer only with `strict`.
[[nodiscard]] Diagnostics collect_problems(const SiteTable& table, const std::string& only_site, bool strict = false);
[[nodiscard]] std::string format_check(const Diagnostics& problems);
[[nodiscard]] std::string format_check_json(const Diagnostics& problems);

}  // namespace sitemail
