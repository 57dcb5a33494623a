// key_edit.cpp — see key_edit.hpp.
#include "key_edit.hpp"

#include "text_util.hpp"
#include "value.hpp"

namespace sitemail::admin {

namespace {

// The text stored for a value: the canonical spelling for booleans, enums, ports and
// numbers (`yes` -> `Yes`, `2` -> `sslExplicit`), the admin's own text otherwise.
std::string canonical_text(const SettingDef& d, const Value& v, const std::string& raw) {
  if (d.secret) return std::string(trim(raw));
  switch (d.type) {
    case ValueType::boolean:
    case ValueType::enumeration:
    case ValueType::port:
    case ValueType::seconds:
    case ValueType::count: return format_value(d, v);
    default: return std::string(trim(raw));
  }
}

std::string admin_type(const SettingDef& d) {
  return d.type == ValueType::boolean ? "YesNo" : d.type == ValueType::enumeration ? "Enum" : "String";
}

}  // namespace

const SettingDef* setting_for_key(const std::string& key, std::string& unknown) {
  if (auto s = find_setting(key)) return &def(*s);
  unknown = "unknown setting '" + key + "'";
  if (auto near = nearest(key, all_setting_names()); !near.empty()) unknown += "; did you mean " + near + "?";
  return nullptr;
}

KeyValueCheck check_key_value(const DaemonConf& conf, const SettingDef& d, const std::string& site, const std::string& value) {
  KeyValueCheck out;
  ParseContext ctx;
  ctx.config_dir = conf.config_dir;
  ctx.resolve_secrets = false;
  auto parsed = parse_value(d, value, ctx);
  if (!parsed.value) {
    out.error = Diagnostic{"db:" + site, std::string(d.name), Severity::error, parsed.error};
    return out;
  }
  if (!parsed.warning.empty()) out.warning = Diagnostic{"db:" + site, std::string(d.name), Severity::warning, parsed.warning};
  out.stored = canonical_text(d, *parsed.value, value);
  return out;
}

std::vector<std::string> key_rows(PgConn& db, const SettingDef& d, const std::string& site) {
  std::vector<std::string> keys;
  auto r = db.exec("SELECT custkey FROM customization WHERE nvtgc = $1", {site});
  for (int i = 0; i < r.rows(); ++i)
    if (auto s = find_setting(r.get(i, 0)); s && *s == d.id) keys.push_back(r.get(i, 0));
  return keys;
}

std::vector<std::string> write_key(PgConn& db, const SettingDef& d, const std::string& site, const std::string& stored) {
  std::vector<std::string> removed;
  PgTransaction tx(db);
  for (const auto& k : key_rows(db, d, site)) {
    db.exec("DELETE FROM customization WHERE nvtgc = $1 AND custkey = $2", {site, k});
    if (k != d.name) removed.push_back(k);
  }
  db.exec("INSERT INTO customization (custkey, value, nvtgc, description, admincat, adminkey, admintype) "
          "VALUES ($1, $2, $3, $4, 'System', 'EMail', $5)",
          {std::string(d.name), stored, site, std::string(d.doc), admin_type(d)});
  tx.commit();
  return removed;
}

std::vector<std::string> unset_key(PgConn& db, const SettingDef& d, const std::string& site) {
  auto keys = key_rows(db, d, site);
  for (const auto& k : keys) db.exec("DELETE FROM customization WHERE nvtgc = $1 AND custkey = $2", {site, k});
  return keys;
}

EffectiveReport effective_report(const ResolvedSite& resolved, const SettingDef& d, bool just_set) {
  EffectiveReport out;
  if (!resolved.settings) return out;
  const std::string& site = resolved.site;
  const auto& res = resolved.settings->at(d.id);
  const std::string shown = res.valid ? format_value(d, res.value) : "(invalid)";
  const std::string source = resolved.settings->source(res.from);
  out.line =
      "effective for " + printable(site) + ": " + std::string(d.name) + " = " + printable(shown) + " (" + printable(source) + ")";
  if (just_set && resolved.settings->where(res.from) != "db:" + site)
    out.warnings.push_back("warning: " + std::string(d.name) + " of site " + printable(site) + " comes from " +
                           printable(source) + (res.is_default() ? "" : ", which overrides db:" + printable(site)));
  if (const auto* e = resolved.valid ? nullptr : resolved.first_error())
    out.warnings.push_back("warning: site " + printable(site) + " is invalid: " + e->to_line());
  return out;
}

}  // namespace sitemail::admin
