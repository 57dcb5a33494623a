// site_file_scan.cpp — see site_file_scan.hpp.
#include "site_file_scan.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "text_util.hpp"

namespace sitemail {

namespace {

std::string hex_byte(unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", c);
  return buf;
}

// UTF-16/UTF-32, with or without a byte-order mark; "" when the bytes look like UTF-8.
std::string wide_encoding(const std::string& t) {
  auto at = [&](std::size_t i) { return i < t.size() ? static_cast<unsigned char>(t[i]) : 0x100u; };
  if (at(0) == 0xFF && at(1) == 0xFE && at(2) == 0 && at(3) == 0) return "UTF-32LE (with a byte-order mark)";
  if (at(0) == 0 && at(1) == 0 && at(2) == 0xFE && at(3) == 0xFF) return "UTF-32BE (with a byte-order mark)";
  if (at(0) == 0xFF && at(1) == 0xFE) return "UTF-16LE (with a byte-order mark)";
  if (at(0) == 0xFE && at(1) == 0xFF) return "UTF-16BE (with a byte-order mark)";
  if (t.size() >= 4 && at(0) == '<' && at(1) == 0 && at(2) == 0 && at(3) == 0) return "UTF-32LE (without a byte-order mark)";
  if (t.size() >= 4 && at(0) == 0 && at(1) == 0 && at(2) == 0 && at(3) == '<') return "UTF-32BE (without a byte-order mark)";
  // UTF-16 without a mark: ASCII characters leave a NUL beside every byte.
  std::size_t even = 0, odd = 0, n = std::min<std::size_t>(t.size(), 512);
  if (std::string_view(t).substr(0, n).find('\0') == std::string_view::npos) return {};  // no NUL at all: not UTF-16
  for (std::size_t i = 0; i < n; ++i)
    if (t[i] == '\0') ++(i % 2 ? odd : even);
  if (n >= 4 && odd * 3 > n) return "UTF-16LE (without a byte-order mark)";
  if (n >= 4 && even * 3 > n) return "UTF-16BE (without a byte-order mark)";
  return {};
}

// The encoding="..." of an XML declaration at the start, or "".
std::string declared_encoding(const std::string& t, std::size_t start) {
  if (t.compare(start, 5, "<?xml") != 0) return {};
  auto end = t.find("?>", start);
  if (end == std::string::npos) return {};
  std::string decl = t.substr(start, end - start);
  auto p = decl.find("encoding");
  if (p == std::string::npos) return {};
  p = decl.find_first_of("\"'", p);
  if (p == std::string::npos) return {};
  auto q = decl.find(decl[p], p + 1);
  return q == std::string::npos ? std::string() : decl.substr(p + 1, q - p - 1);
}

// ASCII classes as std::isalpha/std::isdigit in the "C" locale, without the call.
bool ascii_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
bool name_start(unsigned char c) { return ascii_alpha(c) || c == '_' || c == ':' || c >= 0x80; }
bool name_char(unsigned char c) { return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.'; }
bool space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

struct Open {
  std::string_view name;  // into the scanned text
  int line;
};

}  // namespace

SiteFileScan scan_site_file(const std::string& t) {
  SiteFileScan out;
  auto fail = [&](int line, std::string msg) {
    out.error_line = line;
    out.error = std::move(msg);
    out.children.clear();
    return out;
  };
  if (t.size() > kMaxSiteFileBytes)
    return fail(0, "file size " + std::to_string(t.size()) + " bytes exceeds the limit of " + std::to_string(kMaxSiteFileBytes) +
                       " bytes (1 MiB)");
  if (auto wide = wide_encoding(t); !wide.empty())
    return fail(0, "the file is encoded in " + wide + "; sitemail reads UTF-8 only: save it as UTF-8");
  const std::size_t start = t.starts_with("\xEF\xBB\xBF") ? 3 : 0;
  const std::string declared = declared_encoding(t, start);
  if (!declared.empty() && !iequals(declared, "utf-8") && !iequals(declared, "utf8")) {
    unsigned char any = 0;
    for (char c : t) any |= static_cast<unsigned char>(c);
    const bool ascii = (any & 0x80) == 0;
    if (!ascii && !iequals(declared, "us-ascii") && !iequals(declared, "ascii"))
      return fail(1, "the file declares encoding=\"" + declared +
                         "\"; sitemail reads UTF-8 only: save it as UTF-8 and declare encoding=\"utf-8\"");
    out.warning_line = 1;
    out.warning =
        "the file declares encoding=\"" + declared + "\" but is read as UTF-8 (it holds only ASCII, so nothing changes)";
  }
  int line = 1;
  for (std::size_t i = start; i < t.size();) {
    const auto c = static_cast<unsigned char>(t[i]);
    if (c >= 0x20 && c < 0x80) {  // the common case, without the call
      ++i;
      continue;
    }
    auto n = utf8_sequence_length(t, i);
    if (n == 0)
      return fail(line, "not valid UTF-8 (byte " + hex_byte(static_cast<unsigned char>(t[i])) +
                            "); the file looks like Latin-1 or Windows-1252: save it as UTF-8");
    if (t[i] == '\n') ++line;
    else if (t[i] == '\0') return fail(line, "a NUL byte in the file");
    i += n;
  }

  thread_local std::vector<Open> open;  // reused by every file this thread scans
  open.clear();
  out.children.reserve(16);
  std::size_t elements = 0;
  line = 1;
  std::size_t counted = 0;
  auto line_at = [&](std::size_t pos) {
    for (; counted < pos && counted < t.size(); ++counted)
      if (t[counted] == '\n') ++line;
    return line;
  };
  std::size_t i = start;
  while ((i = t.find('<', i)) != std::string::npos) {
    const int here = line_at(i);
    auto skip = [&](std::string_view end, const char* what) -> bool {
      auto p = t.find(end, i);
      if (p == std::string::npos) {
        fail(here, std::string(what) + " that starts here is never closed");
        return false;
      }
      i = p + end.size();
      return true;
    };
    if (i + 1 < t.size() && (t[i + 1] == '!' || t[i + 1] == '?')) {  // (most tags are neither)
      if (t.compare(i, 4, "<!--") == 0) {
        if (!skip("-->", "the comment")) return out;
        continue;
      }
      if (t.compare(i, 9, "<![CDATA[") == 0) {
        if (!skip("]]>", "the CDATA section")) return out;
        continue;
      }
      if (t.compare(i, 2, "<?") == 0) {
        if (!skip("?>", "the processing instruction")) return out;
        continue;
      }
      if (t.compare(i, 2, "<!") == 0) {
        if (!skip(">", "the declaration")) return out;
        continue;
      }
    }
    const bool closing = t.compare(i, 2, "</") == 0;
    std::size_t j = i + (closing ? 2 : 1);
    const std::size_t name_begin = j;
    if (j >= t.size() || !name_start(static_cast<unsigned char>(t[j]))) return fail(here, "'<' not followed by an element name");
    while (j < t.size() && name_char(static_cast<unsigned char>(t[j]))) ++j;
    const std::string_view name = std::string_view(t).substr(name_begin, j - name_begin);
    if (j < t.size() && !space(t[j]) && t[j] != '>' && t[j] != '/') {
      std::string shown = printable(std::string_view(t).substr(i, std::min<std::size_t>(40, t.find('>', i) - i + 1)));
      return fail(here, "'" + shown + "' is not a valid tag: an element name cannot contain '" +
                            printable(std::string_view(t).substr(j, 1)) + "'");
    }
    // Attributes (quoted values may hold '>') up to the end of the tag.
    char q = 0;
    for (; j < t.size(); ++j) {
      if (q) {
        if (t[j] == q) q = 0;
        continue;
      }
      if (t[j] == '"' || t[j] == '\'') q = t[j];
      else if (t[j] == '>' || t[j] == '<') break;
    }
    if (j >= t.size() || t[j] != '>') return fail(here, "the tag <" + printable(name) + " is not closed with '>'");
    const bool self_closing = !closing && t[j - 1] == '/';
    i = j + 1;
    if (closing) {
      if (open.empty()) return fail(here, "</" + printable(name) + "> closes no element");
      if (open.back().name != name)
        return fail(here, "</" + printable(name) + "> does not close <" + printable(open.back().name) + "> (opened on line " +
                              std::to_string(open.back().line) + ")");
      open.pop_back();
      continue;
    }
    if (++elements > kMaxSiteFileElements)
      return fail(here, "more than " + std::to_string(kMaxSiteFileElements) + " elements: exceeds the limit of " +
                            std::to_string(kMaxSiteFileElements));
    if (open.size() + 1 > static_cast<std::size_t>(kMaxSiteFileDepth))
      return fail(here, "elements nested " + std::to_string(open.size() + 1) + " levels deep: exceeds the limit of " +
                            std::to_string(kMaxSiteFileDepth) + " levels");
    if (open.size() == 1) out.children.push_back({std::string(name), here});
    if (!self_closing) open.push_back({name, here});
  }
  if (!open.empty()) return fail(open.back().line, "<" + printable(open.back().name) + "> (opened here) is never closed");
  return out;
}

}  // namespace sitemail
