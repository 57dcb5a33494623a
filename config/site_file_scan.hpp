// site_file_scan.hpp — the checks a MailSettings file passes before Boost.Property_Tree
// parses it: its encoding (UTF-8 only; UTF-16/32 and other declared encodings are named in
// the error), its bounds (size, nesting depth, element count: a recursive parser must never
// see 100,000 nested levels), and its structure (valid element names, every start tag
// closed by its own end tag), each reported at the line where the file goes wrong.
// A single linear pass without recursion; also records the line of every element under
// the root, which Property_Tree does not keep.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace sitemail {

inline constexpr std::size_t kMaxSiteFileBytes = 1024 * 1024;  // a site file or SMTP.config
inline constexpr int kMaxSiteFileDepth = 16;                   // <MailSettings> is level 1, a setting level 2
inline constexpr std::size_t kMaxSiteFileElements = 2000;      // elements in one file

struct ScannedElement {
  std::string name;
  int line = 0;
};

struct SiteFileScan {
  int error_line = 0;   // 0 = the whole file
  std::string error;    // empty when the file may be parsed
  std::string warning;  // accepted, but worth saying (e.g. a declared encoding that does not matter)
  int warning_line = 0;
  std::vector<ScannedElement> children;  // start tags of the root's children, in order
  [[nodiscard]] bool ok() const { return error.empty(); }
};

// `text` is the whole file as read (at most kMaxSiteFileBytes).
[[nodiscard]] SiteFileScan scan_site_file(const std::string& text);

}  // namespace sitemail
