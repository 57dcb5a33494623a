// report_format.cpp — see report_format.hpp.
#include "report_format.hpp"

#include <set>

#include "text_util.hpp"

namespace sitemail {

namespace {

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

std::string shown_value(const SettingDef& d, const SettingResolution& r) {
  if (!r.valid) return "(invalid)";
  return format_value(d, r.value);
}

// JSON strings of one object; remembers whether invalid UTF-8 had to be replaced so the
// object can say so in a "note" field.
struct Json {
  bool replaced = false;
  std::string str(std::string_view s) { return "\"" + json_escape(s, &replaced) + "\""; }
  // `,"note":...` when something in this object was replaced, else "".
  [[nodiscard]] std::string note() const {
    return replaced ? std::string(",\"note\":\"") + kJsonReplacedNote + "\"" : std::string();
  }
};

std::string diag_json(const Diagnostic& d) {
  Json j;
  std::string body = "{\"where\":" + j.str(d.where) + ",\"setting\":" + j.str(d.setting) +
                     ",\"severity\":" + j.str(severity_word(d.severity)) + ",\"message\":" + j.str(d.message);
  return body + j.note() + "}";
}

}  // namespace

std::string format_show(const ResolvedSite& site, bool explain) {
  std::string out;
  const auto& es = *site.settings;
  if (explain) {
    out += "# site " + printable(site.site) + ": " + (site.valid ? "valid" : "invalid") +
           "; layers: " + printable(join(es.layers, " < ")) + "\n";
    for (const auto& n : es.notes) out += "# " + printable(n) + "\n";
  }
  for (const auto& d : catalogue()) {
    const auto& r = es.at(d.id);
    out += std::string(d.name) + " = " + printable(shown_value(d, r));
    if (!explain) {
      out += "\n";
      continue;
    }
    const std::string source = es.source(r.from);
    out += "  [" + printable(source) + "]";
    if (!r.value.indirection.empty()) out += " via " + printable(r.value.indirection);
    out += "\n";
    for (const auto& diag : site.diagnostics)
      if (diag.setting == d.name && diag.where == source && !diag.strict_only)
        out += std::string("    ") + severity_word(diag.severity) + ": " + printable(diag.message) + "\n";
    if (!r.is_default()) {
      for (const auto& o : r.overridden)
        out += "    overrides " + printable(o.shown) + "  [" + printable(es.where(o.from)) + "]\n";
      out += "    overrides " + builtin_shown(d) + "  [" + kBuiltinDefault + "]\n";
    }
    for (const auto& n : r.notes) out += "    " + printable(n) + "\n";
  }
  return out;
}

std::string format_show_json(const ResolvedSite& site) {
  const auto& es = *site.settings;
  Json j;
  std::string out = "{\"site\":" + j.str(site.site) + ",\"valid\":" + (site.valid ? "true" : "false") +
                    ",\"tls_mode\":" + j.str(tls_mode_name(es.tls)) + ",\"settings\":[";
  bool first = true;
  for (const auto& d : catalogue()) {
    const auto& r = es.at(d.id);
    if (!first) out += ",";
    first = false;
    out += "{\"name\":" + j.str(d.name) + ",\"value\":" + j.str(shown_value(d, r)) + ",\"source\":" + j.str(es.source(r.from)) +
           ",\"overridden\":[";
    if (!r.is_default()) {
      for (const auto& o : r.overridden) out += "{\"source\":" + j.str(es.where(o.from)) + ",\"value\":" + j.str(o.shown) + "},";
      out += "{\"source\":\"" + std::string(kBuiltinDefault) + "\",\"value\":" + j.str(builtin_shown(d)) + "}";
    }
    out += "],\"notes\":[";
    for (std::size_t i = 0; i < r.notes.size(); ++i) out += (i ? "," : "") + j.str(r.notes[i]);
    out += "]}";
  }
  out += "],\"problems\":[";
  bool first_problem = true;
  for (const auto& d : site.diagnostics) {
    if (d.strict_only) continue;
    out += (first_problem ? "" : ",") + diag_json(d);
    first_problem = false;
  }
  out += "]" + j.note() + "}\n";
  return out;
}

std::string format_sites(const SiteTable& table) {
  std::string out;
  for (const auto& [code, site] : table.sites) {
    out += printable(code) + " " + (site->valid ? "valid" : "invalid") + " " + printable(join(site->defined_in, ","));
    if (const auto* e = site->first_error()) out += " " + e->to_line();
    out += "\n";
  }
  return out;
}

std::string format_sites_json(const SiteTable& table) {
  std::string out = "[";
  bool first = true;
  for (const auto& [code, site] : table.sites) {
    if (!first) out += ",";
    first = false;
    Json j;
    out += "{\"site\":" + j.str(code) + ",\"valid\":" + (site->valid ? "true" : "false") + ",\"defined_in\":[";
    for (std::size_t i = 0; i < site->defined_in.size(); ++i) out += (i ? "," : "") + j.str(site->defined_in[i]);
    out += "]";
    if (const auto* e = site->first_error()) out += ",\"problem\":" + diag_json(*e);
    out += j.note() + "}";
  }
  return out + "]\n";
}

Diagnostics collect_problems(const SiteTable& table, const std::string& only_site, bool strict) {
  Diagnostics out;
  std::set<std::string> seen;
  auto push = [&](const Diagnostic& d) {
    if (d.strict_only && !strict) return;
    if (seen.insert(d.to_line()).second) out.push_back(d);
  };
  for (const auto& d : table.global) push(d);
  for (const auto& [code, site] : table.sites) {
    if (!only_site.empty() && code != only_site) continue;
    for (const auto& d : site->diagnostics) push(d);
  }
  sort_by_place(out);
  return out;
}

std::string format_check(const Diagnostics& problems) {
  std::string out;
  for (const auto& d : problems) out += d.to_line() + "\n";
  return out;
}

std::string format_check_json(const Diagnostics& problems) {
  std::string out = "[";
  for (std::size_t i = 0; i < problems.size(); ++i) out += (i ? "," : "") + diag_json(problems[i]);
  return out + "]\n";
}

}  // namespace sitemail
