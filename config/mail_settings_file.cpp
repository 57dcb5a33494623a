// mail_settings_file.cpp — MailSettings XML: Property_Tree gives the values; a small
// scanner over the same (already well-formed) text gives each top-level element's line,
// which Property_Tree does not record.
#include "mail_settings_file.hpp"

#include <boost/property_tree/ptree.hpp>
#include <cerrno>
#include <boost/property_tree/xml_parser.hpp>
#include <fstream>
#include <map>
#include <sstream>

#include "text_util.hpp"

namespace sitemail {

namespace {

namespace pt = boost::property_tree;

struct ElementPos {
  std::string name;
  int line;
};

int line_at(const std::string& t, std::size_t pos, std::size_t& counted_to, int& line) {
  for (; counted_to < pos && counted_to < t.size(); ++counted_to)
    if (t[counted_to] == '\n') ++line;
  return line;
}

struct Scan {
  std::vector<ElementPos> children;  // start tags of the root's children, in order
  int error_line = 0;                // a mismatched closing tag (rapidxml does not check them)
  std::string error;
};

Scan scan_elements(const std::string& t) {
  Scan out;
  std::vector<std::string> open;
  std::size_t i = 0, counted = 0;
  int line = 1;
  auto skip_to = [&](std::string_view end) {
    auto p = t.find(end, i);
    i = p == std::string::npos ? t.size() : p + end.size();
  };
  while ((i = t.find('<', i)) != std::string::npos) {
    if (t.compare(i, 4, "<!--") == 0) { skip_to("-->"); continue; }
    if (t.compare(i, 9, "<![CDATA[") == 0) { skip_to("]]>"); continue; }
    if (t.compare(i, 2, "<?") == 0) { skip_to("?>"); continue; }
    if (t.compare(i, 2, "<!") == 0) { skip_to(">"); continue; }
    const std::size_t start = i;
    const bool closing = t.compare(i, 2, "</") == 0;
    const std::size_t name_begin = i + (closing ? 2 : 1);
    std::size_t name_end = t.find_first_of(" \t\r\n/>", name_begin);
    if (name_end == std::string::npos) name_end = t.size();
    std::string name = t.substr(name_begin, name_end - name_begin);
    std::size_t j = name_end;
    char q = 0;
    for (; j < t.size(); ++j) {
      if (q) { if (t[j] == q) q = 0; continue; }
      if (t[j] == '"' || t[j] == '\'') q = t[j];
      else if (t[j] == '>') break;
    }
    i = j + 1;
    if (closing) {
      if (open.empty() || open.back() != name) {
        if (out.error.empty()) {
          out.error_line = line_at(t, start, counted, line);
          out.error = "</" + name + "> does not close " + (open.empty() ? std::string("any element") : "<" + open.back() + ">");
        }
        return out;
      }
      open.pop_back();
      continue;
    }
    const bool self_closing = j > 0 && j < t.size() && t[j - 1] == '/';
    if (open.size() == 1) out.children.push_back({name, line_at(t, start, counted, line)});
    if (!self_closing) open.push_back(name);
  }
  return out;
}

void diag(RawLayer& l, int line, std::string setting, Severity sev, std::string msg) {
  l.diagnostics.push_back(
      {line > 0 ? l.label + ":" + std::to_string(line) : l.label, std::move(setting), sev, std::move(msg)});
}

}  // namespace

RawLayer parse_mail_settings(const std::string& text, const std::string& label) {
  RawLayer layer;
  layer.label = label;
  layer.present = true;
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
  auto scan = scan_elements(text);
  if (!scan.error.empty()) {
    diag(layer, scan.error_line, "", Severity::error, "malformed XML: " + scan.error);
    return layer;
  }
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
    if (node.size() > 0 && !(node.size() == 1 && node.begin()->first == "<xmlattr>")) {
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
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    RawLayer l;
    l.label = label;
    if (errno != ENOENT) {
      l.present = true;
      diag(l, 0, "", Severity::error, "cannot read " + path);
    }
    return l;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_mail_settings(ss.str(), label);
}

RawLayer layer_from_db_rows(std::string label, const std::vector<DbKeyRow>& rows) {
  RawLayer layer;
  layer.label = std::move(label);
  layer.present = !rows.empty();
  std::map<Setting, std::string> seen;
  for (const auto& r : rows) {
    auto s = find_setting(r.key);
    if (!s) continue;  // not ours
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
