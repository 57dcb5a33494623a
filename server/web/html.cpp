// html.cpp — see html.hpp.
#include "html.hpp"

#include <cstdio>

namespace sitemail::web {

std::string esc(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') || c == 0x7f) out += "\xEF\xBF\xBD";
        else out += c;
    }
  }
  return out;
}

std::string relative_time(const std::string& utc, std::time_t now) {
  std::tm tm{};
  int y, mo, d, h, mi, s;
  if (utc.size() != 20 || std::sscanf(utc.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ", &y, &mo, &d, &h, &mi, &s) != 6) return {};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  const std::time_t t = timegm(&tm);
  long long diff = static_cast<long long>(now) - static_cast<long long>(t);
  const bool future = diff < 0;
  if (future) diff = -diff;
  std::string amount;
  if (diff < 45) return future ? "in a moment" : "just now";
  if (diff < 3600) amount = std::to_string((diff + 30) / 60) + " min";
  else if (diff < 86400) amount = std::to_string((diff + 1800) / 3600) + " h";
  else {
    const long long days = (diff + 43200) / 86400;
    amount = std::to_string(days) + (days == 1 ? " day" : " days");
  }
  return future ? "in " + amount : amount + " ago";
}

std::string time_html(const std::string& utc, std::time_t now) {
  if (utc.empty()) return "&mdash;";
  std::string rel = relative_time(utc, now);
  if (rel.empty()) return esc(utc);
  const std::string shown = utc.substr(0, 10) + " " + utc.substr(11, 8) + " UTC";
  return "<time datetime=\"" + esc(utc) + "\" title=\"" + esc(shown) + "\">" + esc(rel) + "</time>";
}

}  // namespace sitemail::web
