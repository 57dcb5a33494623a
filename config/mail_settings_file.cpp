// mail_settings_file.cpp — MailSettings XML: the file is opened and measured before it is
// read (kMaxSiteFileBytes), scanned for encoding, bounds and structure (site_file_scan),
// and only then parsed by Property_Tree for the values; the scan gives each element's line.
#include "mail_settings_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <sstream>
#include <string_view>

#include "site_file_scan.hpp"
#include "text_util.hpp"

namespace sitemail {

namespace {

namespace pt = boost::property_tree;

void diag(RawLayer& l, int line, std::string setting, Severity sev, std::string msg) {
  l.diagnostics.push_back({line > 0 ? l.label + ":" + std::to_string(line) : l.label, std::move(setting), sev, std::move(msg)});
}

}  // namespace

namespace {

// One element under <MailSettings>: its name as written, its text, and whether it holds
// only text (attributes allowed), as Property_Tree would give them. The views point into the
// file's text (fast path) or into the Property_Tree (the other path).
struct Child {
  std::string_view name;
  std::string_view data;
  bool only_text = true;
};

bool ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool xml_name_char(char ch) {
  const auto c = static_cast<unsigned char>(ch);
  return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == ':' || c == '-' || c == '.';
}

// The fast path for the plain files nearly every site has (an optional XML declaration,
// comments, <MailSettings> with plain attributes, children that hold plain text): the
// children exactly as Property_Tree would give them, in one pass and without a tree. Anything
// else (entities, CDATA, nested or self-closing elements, attributes on a setting, text
// outside the root, ...) answers false, and the file goes through Property_Tree.
// tests/unit/test_mail_settings_file.cpp checks both paths agree.
bool plain_children(std::string_view t, std::vector<Child>& out) {
  std::size_t i = t.starts_with("\xEF\xBB\xBF") ? 3 : 0;
  auto skip_ws = [&] {
    while (i < t.size() && ws(t[i])) ++i;
  };
  // Whitespace, <?...?> and comments, as Property_Tree skips them outside and inside the root.
  auto skip_misc = [&]() -> bool {
    for (;;) {
      skip_ws();
      if (t.compare(i, 4, "<!--") == 0) {
        auto e = t.find("-->", i + 4);
        if (e == std::string_view::npos) return false;
        i = e + 3;
      } else if (t.compare(i, 2, "<?") == 0) {
        auto e = t.find("?>", i + 2);
        if (e == std::string_view::npos) return false;
        i = e + 2;
      } else {
        return true;
      }
    }
  };
  auto name_at = [&]() -> std::string_view {
    const std::size_t b = i;
    while (i < t.size() && xml_name_char(t[i])) ++i;
    return t.substr(b, i - b);
  };
  if (!skip_misc() || t.compare(i, 1, "<") != 0) return false;
  ++i;
  if (!iequals(name_at(), "MailSettings")) return false;
  // Root attributes: name="value" or name='value', no entities.
  for (;;) {
    const std::size_t before = i;
    skip_ws();
    if (i < t.size() && t[i] == '>') break;
    if (i == before) return false;  // an attribute must follow whitespace
    if (name_at().empty()) return false;
    skip_ws();
    if (i >= t.size() || t[i] != '=') return false;
    ++i;
    skip_ws();
    if (i >= t.size() || (t[i] != '"' && t[i] != '\'')) return false;
    const char q = t[i++];
    const auto e = t.find(q, i);
    if (e == std::string_view::npos) return false;
    const auto value = t.substr(i, e - i);
    if (value.find_first_of("&<") != std::string_view::npos) return false;
    i = e + 1;
  }
  ++i;  // '>'
  out.clear();
  for (;;) {
    if (!skip_misc() || i >= t.size() || t[i] != '<') return false;  // text in the root, or no end
    if (t.compare(i, 2, "</") == 0) {                                // the root's end tag
      i += 2;
      if (!iequals(name_at(), "MailSettings") || t.compare(i, 1, ">") != 0) return false;
      ++i;
      break;
    }
    ++i;
    const auto name = name_at();
    if (name.empty() || t.compare(i, 1, ">") != 0) return false;  // attributes, '/>', odd names
    ++i;
    const auto end = t.find('<', i);
    if (end == std::string_view::npos) return false;
    const auto text = t.substr(i, end - i);
    if (text.find('&') != std::string_view::npos) return false;
    i = end;
    if (t.compare(i, 2, "</") != 0) return false;  // a child element, comment or CDATA inside
    i += 2;
    if (name_at() != name || t.compare(i, 1, ">") != 0) return false;
    ++i;
    out.push_back({name, text, true});
  }
  return skip_misc() && i == t.size();
}

}  // namespace

RawLayer parse_mail_settings(const std::string& text, const std::string& label) {
  return parse_mail_settings_via(text, label, true);
}

RawLayer parse_mail_settings_via(const std::string& text, const std::string& label, bool fast_path) {
  RawLayer layer;
  layer.label = label;
  layer.present = true;
  auto scan = scan_site_file(text);
  if (!scan.ok()) {
    diag(layer, scan.error_line, "", Severity::error, scan.error_line > 0 ? "malformed XML: " + scan.error : scan.error);
    return layer;
  }
  if (!scan.warning.empty()) diag(layer, scan.warning_line, "", Severity::warning, scan.warning);
  // Reused by every file this thread parses: a reload of 10,000 files allocates it once.
  thread_local std::vector<Child> children;
  pt::ptree tree;  // only for the files the fast path declines
  if (!fast_path || !plain_children(text, children)) {
    children.clear();
    try {
      std::istringstream in(text);
      pt::read_xml(in, tree);
    } catch (const pt::xml_parser_error& e) {
      diag(layer, static_cast<int>(e.line()), "", Severity::error, "malformed XML: " + e.message());
      return layer;
    }
    const pt::ptree* root_ptr = nullptr;
    std::string got;
    for (const auto& [name, node] : tree) {
      if (name == "<xmlcomment>") continue;
      if (root_ptr || !got.empty() || !iequals(name, "MailSettings")) {
        got += (got.empty() ? "<" : ", <") + name + ">";
        continue;
      }
      root_ptr = &node;
    }
    if (!root_ptr || !got.empty()) {
      diag(layer, 0, "", Severity::error,
           "the root element must be one <MailSettings>, found " + (got.empty() ? std::string("nothing") : got));
      return layer;
    }
    for (const auto& [name, node] : *root_ptr) {
      if (name == "<xmlattr>" || name == "<xmlcomment>") continue;
      children.push_back({name, node.data(), node.empty() || (node.size() == 1 && node.begin()->first == "<xmlattr>")});
    }
  }
  const auto& positions = scan.children;
  std::size_t pos_index = 0;
  std::array<int, kSettingCount> seen{};  // setting -> first line + 1 (0: not yet)
  layer.entries.reserve(children.size());
  for (const auto& child : children) {
    const std::string name(child.name);
    int line = 0;
    while (pos_index < positions.size() && positions[pos_index].name != name) ++pos_index;
    if (pos_index < positions.size()) line = positions[pos_index++].line;
    auto s = find_setting(name);
    if (!s) {
      std::string msg = "unknown element <" + name + ">, ignored";
      if (auto near = nearest(name, all_setting_names()); !near.empty()) msg += "; did you mean " + near + "?";
      diag(layer, line, name, Severity::warning, msg);
      continue;
    }
    if (!child.only_text) {
      diag(layer, line, std::string(def(*s).name), Severity::error, "<" + name + "> must hold text, not elements");
      continue;
    }
    auto& first = seen[static_cast<std::size_t>(*s)];
    if (first != 0) {
      diag(layer, line, std::string(def(*s).name), Severity::error,
           "set twice in one file (first at line " + std::to_string(first - 1) + ")");
      continue;
    }
    first = line + 1;
    layer.entries.push_back({*s, std::string(child.data), name, line});
  }
  return layer;
}

RawLayer read_mail_settings_file(const std::string& path, const std::string& label) {
  RawLayer l;
  l.label = label;
  // O_NONBLOCK: a FIFO in the config dir must not stall the open; the size is known
  // before a byte is read, so a huge file costs nothing.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    if (errno != ENOENT) {
      l.present = true;
      diag(l, 0, "", Severity::error, "cannot read " + path + ": " + std::strerror(errno));
    }
    return l;
  }
  l.present = true;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    diag(l, 0, "", Severity::error, "cannot read " + path + ": not a regular file");
    return l;
  }
  if (static_cast<std::size_t>(st.st_size) > kMaxSiteFileBytes) {
    ::close(fd);
    diag(l, 0, "", Severity::error,
         "file size " + std::to_string(st.st_size) + " bytes exceeds the limit of " + std::to_string(kMaxSiteFileBytes) +
             " bytes (1 MiB)");
    return l;
  }
  // (O_NONBLOCK stays: it does nothing to a regular file.) Ask for one byte more than fstat
  // gave: a short read is the end of a regular file, so one read call is the whole file,
  // and only a file that grew meanwhile is read on.
  const auto size = static_cast<std::size_t>(st.st_size);
  std::string text;
  text.resize(size + 1);
  std::size_t got = 0;
  for (;;) {
    ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
    if (got == size) break;                                         // all fstat gave, and no byte more: the end of the file
    if (got < text.size()) continue;                                // a partial read: read on
    if (got > kMaxSiteFileBytes) break;                             // grew past the limit: the scan refuses it
    text.resize(std::min(2 * text.size(), kMaxSiteFileBytes + 1));  // it grew: read on
  }
  text.resize(got);
  ::close(fd);
  return parse_mail_settings(text, label);  // a file that grew past the limit is refused by the scan
}

RawLayer layer_from_db_rows(std::string label, const std::vector<DbKeyRow>& rows) {
  RawLayer layer;
  layer.label = std::move(label);
  layer.present = !rows.empty();
  std::map<Setting, std::string> seen;
  for (const auto& r : rows) {
    auto s = find_setting(r.key);
    if (!s) {
      if (auto near = db_key_near_miss(r.key); !near.empty())
        diag(layer, 0, r.key, Severity::warning,
             "not a sitemail setting, ignored; did you mean " + near + "? (keys of other applications are not reported)");
      continue;  // not ours
    }
    const std::string canonical(def(*s).name);
    if (auto it = seen.find(*s); it != seen.end()) {
      diag(layer, 0, canonical, Severity::error,
           "set twice, as keys '" + it->second + "' and '" + r.key + "'; unset one of them");
      continue;
    }
    seen.emplace(*s, r.key);
    layer.entries.push_back({*s, r.value, r.key, 0});
  }
  return layer;
}

}  // namespace sitemail

namespace sitemail {

std::string db_key_near_miss(std::string_view key) {
  if (key.size() < 6 || find_setting(key)) return {};
  const std::size_t limit = key.size() >= 10 ? 2 : 1;
  std::string best;
  std::size_t best_d = limit + 1;
  for (auto name : all_setting_names()) {
    auto dist = edit_distance(key, name);
    if (dist < best_d) {
      best_d = dist;
      best = std::string(def(*find_setting(name)).name);
    }
  }
  return best_d <= limit ? best : std::string();
}

}  // namespace sitemail
