// mail_settings_file.cpp — MailSettings XML: the file is opened and measured before it is
// read (kMaxSiteFileBytes), scanned for encoding, bounds and structure (site_file_scan),
// and only then parsed by Property_Tree for the values; the scan gives each element's line.
#include "mail_settings_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <cerrno>
#include <cstring>
#include <map>
#include <sstream>

#include "site_file_scan.hpp"
#include "text_util.hpp"

namespace sitemail {

namespace {

namespace pt = boost::property_tree;

void diag(RawLayer& l, int line, std::string setting, Severity sev, std::string msg) {
  l.diagnostics.push_back(
      {line > 0 ? l.label + ":" + std::to_string(line) : l.label, std::move(setting), sev, std::move(msg)});
}

}  // namespace

RawLayer parse_mail_settings(const std::string& text, const std::string& label) {
  RawLayer layer;
  layer.label = label;
  layer.present = true;
  auto scan = scan_site_file(text);
  if (!scan.ok()) {
    diag(layer, scan.error_line, "", Severity::error, scan.error_line > 0 ? "malformed XML: " + scan.error : scan.error);
    return layer;
  }
  if (!scan.warning.empty()) diag(layer, scan.warning_line, "", Severity::warning, scan.warning);
  pt::ptree tree;
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
  const pt::ptree& root = *root_ptr;
  const auto& positions = scan.children;
  std::size_t pos_index = 0;
  std::map<Setting, int> seen;  // setting -> first line
  const auto names = all_setting_names();
  for (const auto& [name, node] : root) {
    if (name == "<xmlattr>" || name == "<xmlcomment>") continue;
    int line = 0;
    while (pos_index < positions.size() && positions[pos_index].name != name) ++pos_index;
    if (pos_index < positions.size()) line = positions[pos_index++].line;
    auto s = find_setting(name);
    if (!s) {
      std::string msg = "unknown element <" + name + ">, ignored";
      if (auto near = nearest(name, names); !near.empty()) msg += "; did you mean " + near + "?";
      diag(layer, line, name, Severity::warning, msg);
      continue;
    }
    const std::string canonical(def(*s).name);
    if (!node.empty() && !(node.size() == 1 && node.begin()->first == "<xmlattr>")) {
      diag(layer, line, canonical, Severity::error, "<" + name + "> must hold text, not elements");
      continue;
    }
    if (auto it = seen.find(*s); it != seen.end()) {
      diag(layer, line, canonical, Severity::error,
           "set twice in one file (first at line " + std::to_string(it->second) + ")");
      continue;
    }
    seen.emplace(*s, line);
    layer.entries.push_back({*s, node.data(), name, line});
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
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  std::string text;
  char buf[16384];
  while (text.size() <= kMaxSiteFileBytes) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
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
