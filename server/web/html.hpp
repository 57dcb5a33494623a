// html.hpp — HTML is output like any other (DESIGN.md): ONE escaping function for text and
// attribute values, used by every page; times as "3 min ago" with the UTC time on hover.
#pragma once
#include <ctime>
#include <string>
#include <string_view>

namespace sitemail::web {

// & < > " ' escaped, so the result is safe as element text and inside a quoted attribute;
// control characters other than tab and newline become U+FFFD.
[[nodiscard]] std::string esc(std::string_view text);

// "just now", "3 min ago", "2 h ago", "5 days ago", "in 4 min" for `utc` (ISO 8601
// "YYYY-MM-DDTHH:MM:SSZ") seen at `now`; "" when `utc` does not parse.
[[nodiscard]] std::string relative_time(const std::string& utc, std::time_t now);
// <time datetime="UTC" title="UTC">3 min ago</time>, or "—" for an empty time.
[[nodiscard]] std::string time_html(const std::string& utc, std::time_t now);

}  // namespace sitemail::web
