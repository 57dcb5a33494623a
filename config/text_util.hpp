// text_util.hpp — small string helpers shared by the config parsers: case-insensitive
// comparison, trimming, edit distance for "did you mean" suggestions, JSON escaping.
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
[[nodiscard]] std::string json_escape(std::string_view s);
// true when s holds a byte < 0x20 other than those listed in `allowed`, or DEL.
[[nodiscard]] bool has_control_chars(std::string_view s, std::string_view allowed = {});
[[nodiscard]] std::vector<std::string> split(std::string_view s, char sep);
// s safe to print on one line of a text listing: control characters and DEL spelled out as
// \n, \r, \t or \xHH, so a value holding a newline cannot print a fake line.
[[nodiscard]] std::string printable(std::string_view s);

}  // namespace sitemail
