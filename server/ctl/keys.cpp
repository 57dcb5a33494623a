// keys.cpp — `sitemailctl db migrate` and `keys list/get/set/unset`: the DB layer of
// the configuration. `set` validates against the catalogue before writing and stores the
// canonical key name and value spelling, replacing (and naming) any alias or differently-
// cased row for the same setting, then prints the effective value and what overrides it.
#include <iostream>
#include <memory>

#include "catalogue.hpp"
#include "commands.hpp"
#include "migrations.hpp"
#include "site_table.hpp"
#include "text_util.hpp"
#include "value.hpp"

namespace sitemail {

namespace {

// The catalogue row for `key`, or null after saying on stderr that it is unknown.
const SettingDef* setting_or_report(const std::string& key) {
  if (auto s = find_setting(key)) return &def(*s);
  std::string msg = "unknown setting '" + key + "'";
  if (auto near = nearest(key, all_setting_names()); !near.empty()) msg += "; did you mean " + near + "?";
  std::cerr << "sitemailctl: " << msg << "\n";
  return nullptr;
}

// custkey spellings in the DB that name setting `d` for `site`.
std::vector<std::string> rows_for(PgConn& db, const SettingDef& d, const std::string& site) {
  std::vector<std::string> keys;
  auto r = db.exec("SELECT custkey FROM customization WHERE nvtgc = $1", {site});
  for (int i = 0; i < r.rows(); ++i)
    if (auto s = find_setting(r.get(i, 0)); s && *s == d.id) keys.push_back(r.get(i, 0));
  return keys;
}

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

// After a write: the value the site now really uses, and a warning naming the layer
// when a higher one (the site's DB keys, SMTP.config, <site>.config) overrides it.
void report_effective(CtlArgs& a, const SettingDef& d, const std::string& site, bool just_set) {
  auto table = load_ctl_sites(a);
  auto resolved = table->find_or_resolve(site);
  if (!resolved->settings) return;
  const auto& res = resolved->settings->at(d.id);
  const std::string shown = res.valid ? format_value(d, res.value) : "(invalid)";
  std::cout << "effective for " << printable(site) << ": " << d.name << " = " << printable(shown) << " (" << printable(res.source())
            << ")\n";
  if (just_set && res.where != "db:" + site)
    std::cerr << "sitemailctl: warning: " << d.name << " of site " << printable(site) << " comes from " << printable(res.source())
              << (res.is_default() ? "" : ", which overrides db:" + printable(site)) << "\n";
  if (const auto* e = resolved->valid ? nullptr : resolved->first_error())
    std::cerr << "sitemailctl: warning: site " << printable(site) << " is invalid: " << e->to_line() << "\n";
}

std::string admin_type(const SettingDef& d) {
  return d.type == ValueType::boolean ? "YesNo" : d.type == ValueType::enumeration ? "Enum" : "String";
}

}  // namespace

int cmd_db_migrate(CtlArgs& a) {
  PgConn db(require_database(a.conf));
  auto applied = migrate(db);
  for (const auto& name : applied) std::cout << "applied " << name << "\n";
  std::cout << "schema version " << schema_version(db) << (applied.empty() ? " (already up to date)" : "") << "\n";
  return kExitOk;
}

int cmd_keys_list(CtlArgs& a) {
  PgConn db(require_database(a.conf));
  const std::string site = a.opt("site");
  auto r = site.empty() ? db.exec("SELECT nvtgc, custkey, coalesce(value,'') FROM customization ORDER BY nvtgc, custkey")
                        : db.exec("SELECT nvtgc, custkey, coalesce(value,'') FROM customization WHERE nvtgc = $1 "
                                  "ORDER BY custkey",
                                  {site});
  const bool json = a.flag("json");
  std::string out = json ? "[" : "";
  bool first = true;
  for (int i = 0; i < r.rows(); ++i) {
    auto s = find_setting(r.get(i, 1));
    if (!s) continue;
    const auto& d = def(*s);
    std::string shown = format_raw(d, r.get(i, 2));
    if (json) {
      bool replaced = false;
      out += std::string(first ? "" : ",") + "{\"site\":\"" + json_escape(r.get(i, 0), &replaced) + "\",\"key\":\"" +
             json_escape(r.get(i, 1), &replaced) + "\",\"setting\":\"" + std::string(d.name) + "\",\"value\":\"" +
             json_escape(shown, &replaced) + "\"" +
             (replaced ? ",\"note\":\"invalid UTF-8 replaced with U+FFFD\"" : "") + "}";
    } else {
      out += printable(r.get(i, 0)) + " " + printable(r.get(i, 1)) + " = " + printable(shown) + "\n";
    }
    first = false;
  }
  std::cout << out << (json ? "]\n" : "");
  return kExitOk;
}

int cmd_keys_get(CtlArgs& a) {
  PgConn db(require_database(a.conf));
  const std::string site = a.opt("site", a.conf.default_site);
  const SettingDef* d = setting_or_report(a.words[0]);
  if (!d) return kExitFailed;
  auto keys = rows_for(db, *d, site);
  if (keys.empty()) {
    std::cerr << "sitemailctl: " << d->name << " is not set for site " << site << "\n";
    return kExitFailed;
  }
  auto r = db.exec("SELECT coalesce(value,'') FROM customization WHERE nvtgc = $1 AND custkey = $2", {site, keys[0]});
  std::cout << printable(format_raw(*d, r.get(0, 0))) << "\n";
  return kExitOk;
}

int cmd_keys_set(CtlArgs& a) {
  PgConn db(require_database(a.conf));
  const std::string site = a.opt("site", a.conf.default_site);
  const SettingDef* d = setting_or_report(a.words[0]);
  if (!d) return kExitFailed;
  std::string value = a.words[1];
  if (value == "-") {  // from standard input, so a secret stays off the command line
    if (!std::getline(std::cin, value)) throw UsageError("keys set " + std::string(d->name) + " -: no line on standard input");
    if (!value.empty() && value.back() == '\r') value.pop_back();
  }
  ParseContext ctx;
  ctx.config_dir = a.conf.config_dir;
  ctx.resolve_secrets = false;
  auto parsed = parse_value(*d, value, ctx);
  if (!parsed.value) {
    std::cerr << Diagnostic{"db:" + site, std::string(d->name), Severity::error, parsed.error}.to_line() << "\n";
    return kExitFailed;
  }
  if (!parsed.warning.empty())
    std::cerr << Diagnostic{"db:" + site, std::string(d->name), Severity::warning, parsed.warning}.to_line() << "\n";
  const std::string stored = canonical_text(*d, *parsed.value, value);
  // A site that exists nowhere yet is created by this key (how a DB-only site is born),
  // but a typo of a known site should not pass silently.
  auto before = load_ctl_sites(a);
  if (site != a.conf.default_site && !before->find(site)) {
    std::vector<std::string> codes;
    for (const auto& [code, rs] : before->sites) codes.push_back(code);
    std::vector<std::string_view> views(codes.begin(), codes.end());
    std::string msg = "sitemailctl: note: site " + printable(site) +
                      " is not known yet (no DB keys, no mail, no " + printable(site) + ".config); this key creates it";
    if (auto near = nearest(site, views); !near.empty()) msg += "; did you mean " + near + "?";
    std::cerr << msg << "\n";
  }
  PgTransaction tx(db);
  for (const auto& k : rows_for(db, *d, site)) {
    db.exec("DELETE FROM customization WHERE nvtgc = $1 AND custkey = $2", {site, k});
    if (k != d->name)
      std::cerr << "sitemailctl: removed db:" << printable(site) << " " << printable(k) << " (another spelling of " << d->name
                << ")\n";
  }
  db.exec(
      "INSERT INTO customization (custkey, value, nvtgc, description, admincat, adminkey, admintype) "
      "VALUES ($1, $2, $3, $4, 'System', 'EMail', $5)",
      {std::string(d->name), stored, site, std::string(d->doc), admin_type(*d)});
  tx.commit();
  std::cout << "db:" << printable(site) << " " << d->name << " = " << format_raw(*d, stored) << "\n";
  report_effective(a, *d, site, /*just_set=*/true);
  return kExitOk;
}

int cmd_keys_unset(CtlArgs& a) {
  PgConn db(require_database(a.conf));
  const std::string site = a.opt("site", a.conf.default_site);
  const SettingDef* d = setting_or_report(a.words[0]);
  if (!d) return kExitFailed;
  int n = 0;
  for (const auto& k : rows_for(db, *d, site)) {
    db.exec("DELETE FROM customization WHERE nvtgc = $1 AND custkey = $2", {site, k});
    if (k != d->name)
      std::cerr << "sitemailctl: removed db:" << printable(site) << " " << printable(k) << " (another spelling of " << d->name
                << ")\n";
    ++n;
  }
  if (n == 0) {
    std::cerr << "sitemailctl: " << d->name << " was not set for site " << printable(site) << "\n";
    return kExitOk;
  }
  std::cout << "db:" << printable(site) << " " << d->name << " unset\n";
  report_effective(a, *d, site, /*just_set=*/false);
  return kExitOk;
}

}  // namespace sitemail
