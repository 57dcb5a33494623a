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

std::string json_str(std::string_view s) { return "\"" + json_escape(s) + "\""; }

std::string diag_json(const Diagnostic& d) {
  return "{\"where\":" + json_str(d.where) + ",\"setting\":" + json_str(d.setting) + ",\"severity\":" +
         json_str(severity_word(d.severity)) + ",\"message\":" + json_str(d.message) + "}";
}

}  // namespace

std::string format_show(const ResolvedSite& site, bool explain) {
  std::string out;
  const auto& es = *site.settings;
  if (explain) {
    out += "# site " + site.site + ": " + (site.valid ? "valid" : "invalid") + "; layers: " + join(es.layers, " < ") +
           "\n";
    for (const auto& n : es.notes) out += "# " + n + "\n";
  }
  for (const auto& d : catalogue()) {
    const auto& r = es.at(d.id);
    out += std::string(d.name) + " = " + shown_value(d, r);
    if (!explain) {
      out += "\n";
      continue;
    }
    out += "  [" + r.source() + "]";
    if (!r.value.indirection.empty()) out += " via " + r.value.indirection;
    out += "\n";
    for (const auto& diag : site.diagnostics)
      if (diag.setting == d.name && diag.where == r.source())
        out += std::string("    ") + severity_word(diag.severity) + ": " + diag.message + "\n";
    if (!r.is_default()) {
      for (const auto& o : r.overridden) out += "    overrides " + o.shown + "  [" + o.where + "]\n";
      out += "    overrides " + builtin_shown(d) + "  [" + kBuiltinDefault + "]\n";
    }
    for (const auto& n : r.notes) out += "    " + n + "\n";
  }
  return out;
}

std::string format_show_json(const ResolvedSite& site) {
  const auto& es = *site.settings;
  std::string out = "{\"site\":" + json_str(site.site) + ",\"valid\":" + (site.valid ? "true" : "false") +
                    ",\"tls_mode\":" + json_str(tls_mode_name(es.tls)) + ",\"settings\":[";
  bool first = true;
  for (const auto& d : catalogue()) {
    const auto& r = es.at(d.id);
    if (!first) out += ",";
    first = false;
    out += "{\"name\":" + json_str(d.name) + ",\"value\":" + json_str(shown_value(d, r)) +
           ",\"source\":" + json_str(r.source()) + ",\"overridden\":[";
    if (!r.is_default()) {
      for (const auto& o : r.overridden)
        out += "{\"source\":" + json_str(o.where) + ",\"value\":" + json_str(o.shown) + "},";
      out += "{\"source\":\"" + std::string(kBuiltinDefault) + "\",\"value\":" + json_str(builtin_shown(d)) + "}";
    }
    out += "],\"notes\":[";
    for (std::size_t i = 0; i < r.notes.size(); ++i) out += (i ? "," : "") + json_str(r.notes[i]);
    out += "]}";
  }
  out += "],\"problems\":[";
  for (std::size_t i = 0; i < site.diagnostics.size(); ++i) out += (i ? "," : "") + diag_json(site.diagnostics[i]);
  out += "]}\n";
  return out;
}

std::string format_sites(const SiteTable& table) {
  std::string out;
  for (const auto& [code, site] : table.sites) {
    out += code + " " + (site->valid ? "valid" : "invalid") + " " + join(site->defined_in, ",");
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
    out += "{\"site\":" + json_str(code) + ",\"valid\":" + (site->valid ? "true" : "false") + ",\"defined_in\":[";
    for (std::size_t i = 0; i < site->defined_in.size(); ++i) out += (i ? "," : "") + json_str(site->defined_in[i]);
    out += "]";
    if (const auto* e = site->first_error()) out += ",\"problem\":" + diag_json(*e);
    out += "}";
  }
  return out + "]\n";
}

Diagnostics collect_problems(const SiteTable& table, const std::string& only_site) {
  Diagnostics out;
  std::set<std::string> seen;
  auto push = [&](const Diagnostic& d) {
    if (seen.insert(d.to_line()).second) out.push_back(d);
  };
  for (const auto& d : table.global) push(d);
  for (const auto& [code, site] : table.sites) {
    if (!only_site.empty() && code != only_site) continue;
    for (const auto& d : site->diagnostics) push(d);
  }
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
