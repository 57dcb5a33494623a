// keys.cpp — `sitemailctl db migrate` and `keys list/get/set/unset`: the DB layer of
// the configuration. `set` validates against the catalogue before writing and stores the
// canonical key name and value spelling, replacing (and naming) any alias or differently-
// cased row for the same setting, then prints the effective value and what overrides it.
#include <iostream>
#include <memory>

#include "catalogue.hpp"
#include "commands.hpp"
#include "key_edit.hpp"
#include "migrations.hpp"
#include "site_table.hpp"
#include "text_util.hpp"
#include "value.hpp"

namespace sitemail {

namespace {

// The catalogue row for `key`, or null after saying on stderr that it is unknown.
const SettingDef* setting_or_report(const std::string& key) {
  std::string unknown;
  if (const auto* d = admin::setting_for_key(key, unknown)) return d;
  std::cerr << "sitemailctl: " << unknown << "\n";
  return nullptr;
}

// After a write: the value the site now really uses, and a warning naming the layer
// when a higher one (the site's DB keys, SMTP.config, <site>.config) overrides it.
void report_effective(CtlArgs& a, const SettingDef& d, const std::string& site, bool just_set) {
  auto table = load_ctl_site(a, site);
  const auto report = admin::effective_report(*table->find_or_resolve(site), d, just_set);
  if (report.line.empty()) return;
  std::cout << report.line << "\n";
  for (const auto& w : report.warnings) std::cerr << "sitemailctl: " << w << "\n";
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
             json_escape(shown, &replaced) + "\"" + (replaced ? ",\"note\":\"invalid UTF-8 replaced with U+FFFD\"" : "") + "}";
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
  auto keys = admin::key_rows(db, *d, site);
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
  const auto checked = admin::check_key_value(a.conf, *d, site, value);
  if (checked.error) {
    std::cerr << checked.error->to_line() << "\n";
    return kExitFailed;
  }
  if (checked.warning) std::cerr << checked.warning->to_line() << "\n";
  const std::string& stored = checked.stored;
  // A site that exists nowhere yet is created by this key (how a DB-only site is born),
  // but a typo of a known site should not pass silently.
  if (site != a.conf.default_site && !load_ctl_site(a, site)->find(site)) {
    auto all = load_ctl_sites(a);  // the known codes, for a "did you mean"
    std::vector<std::string> codes;
    for (const auto& [code, rs] : all->sites) codes.push_back(code);
    std::vector<std::string_view> views(codes.begin(), codes.end());
    std::string msg = "sitemailctl: note: site " + printable(site) + " is not known yet (no DB keys, no mail, no " +
                      printable(site) + ".config); this key creates it";
    if (auto near = nearest(site, views); !near.empty()) msg += "; did you mean " + near + "?";
    std::cerr << msg << "\n";
  }
  for (const auto& k : admin::write_key(db, *d, site, stored))
    std::cerr << "sitemailctl: removed db:" << printable(site) << " " << printable(k) << " (another spelling of " << d->name
              << ")\n";
  std::cout << "db:" << printable(site) << " " << d->name << " = " << format_raw(*d, stored) << "\n";
  report_effective(a, *d, site, /*just_set=*/true);
  return kExitOk;
}

int cmd_keys_unset(CtlArgs& a) {
  PgConn db(require_database(a.conf));
  const std::string site = a.opt("site", a.conf.default_site);
  const SettingDef* d = setting_or_report(a.words[0]);
  if (!d) return kExitFailed;
  const auto removed = admin::unset_key(db, *d, site);
  for (const auto& k : removed)
    if (k != d->name)
      std::cerr << "sitemailctl: removed db:" << printable(site) << " " << printable(k) << " (another spelling of " << d->name
                << ")\n";
  if (removed.empty()) {
    std::cerr << "sitemailctl: " << d->name << " was not set for site " << printable(site) << "\n";
    return kExitOk;
  }
  std::cout << "db:" << printable(site) << " " << d->name << " unset\n";
  report_effective(a, *d, site, /*just_set=*/false);
  return kExitOk;
}

}  // namespace sitemail
