// text_util.hpp — small string helpers shared by the config parsers: case-insensitive
// comparison, trimming, edit distance for "did you mean" suggestions, JSON escaping, and
// printable(): the one escaping of control characters for every text listing.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace sitemail {

[[nodiscard]] bool iequals(std::string_view a, std::string_view b);
[[nodiscard]] std::string to_lower(std::string_view s);
[[nodiscard]] std::string_view trim(std::string_view s);
[[nodiscard]] std::size_t edit_distance(std::string_view a, std::string_view b);
// The candidate nearest to `word` (case-insensitive), or empty when none is close enough.
[[nodiscard]] std::string nearest(std::string_view word, const std::vector<std::string_view>& candidates);
// JSON string contents (without quotes). Invalid UTF-8 is replaced with U+FFFD so the
// output is always valid JSON; `replaced` (when given) is set when that happened.
[[nodiscard]] std::string json_escape(std::string_view s, bool* replaced = nullptr);
// Text for a listing line: control characters (C0, DEL, C1), invalid UTF-8 bytes and the
// Unicode line/paragraph separators and bidi overrides are written as escapes (\n, \r,
// \t, \x1b, \u2028), so a value can never start a new line or hide text. Backslashes
// are kept as they are (Windows paths stay readable).
[[nodiscard]] std::string printable(std::string_view s);
// true when s is valid UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
[[nodiscard]] bool valid_utf8(std::string_view s);
// Length of the valid UTF-8 sequence starting at s[i], or 0 when the bytes there are not one.
[[nodiscard]] std::size_t utf8_sequence_length(std::string_view s, std::size_t i);
// true when s holds a byte < 0x20 other than those listed in `allowed`, or DEL.
[[nodiscard]] bool has_control_chars(std::string_view s, std::string_view allowed = {});
[[nodiscard]] std::vector<std::string> split(std::string_view s, char sep);

}  // namespace sitemail
