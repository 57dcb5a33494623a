// sites.cpp — `sitemailctl sites`, `check` and `show`: load DB keys and site files
// exactly as sitemaild does, then print the verdicts and effective settings.
#include <iostream>

#include "commands.hpp"
#include "report_format.hpp"
#include "site_source.hpp"
#include "text_util.hpp"

namespace sitemail {

namespace {
void require_schema(PgConn& db) {
  if (!db.table_exists("outbox") || !db.table_exists("customization"))
    throw UsageError("the database has no sitemail schema; run: sitemailctl db migrate");
}
}  // namespace

std::shared_ptr<const SiteTable> load_ctl_sites(CtlArgs& a) {
  PgConn db(require_database(a.conf));
  require_schema(db);
  return load_sites(db, a.conf);
}

std::shared_ptr<const SiteTable> load_ctl_site(CtlArgs& a, const std::string& code) {
  PgConn db(require_database(a.conf));
  require_schema(db);
  return load_sites_only(db, a.conf, {code});
}

int cmd_sites(CtlArgs& a) {
  auto table = load_ctl_sites(a);
  std::cout << (a.flag("json") ? format_sites_json(*table) : format_sites(*table));
  for (const auto& d : table->global) std::cerr << d.to_line() << "\n";
  bool all_valid = !has_errors(table->global);
  for (const auto& [code, site] : table->sites) all_valid = all_valid && site->valid;
  return all_valid ? kExitOk : kExitFailed;
}

int cmd_check(CtlArgs& a) {
  const std::string site = a.opt("site");
  auto table = site.empty() ? load_ctl_sites(a) : load_ctl_site(a, site);
  if (!site.empty() && !table->find(site)) {
    std::cerr << "sitemailctl: unknown site '" << printable(site) << "' (not in customization, outbox or the config dir)\n";
    return kExitFailed;
  }
  auto problems = collect_problems(*table, site, a.flag("strict"));
  std::cout << (a.flag("json") ? format_check_json(problems) : format_check(problems));
  bool errors = has_errors(problems);
  bool fail = errors || (a.flag("strict") && !problems.empty());
  return fail ? kExitFailed : kExitOk;
}

int cmd_show(CtlArgs& a) {
  const std::string code = a.opt("site");
  if (code.empty()) throw UsageError("show needs --site S");
  auto table = load_ctl_site(a, code);
  auto site = table->find_or_resolve(code);
  std::cout << (a.flag("json") ? format_show_json(*site) : format_show(*site, a.flag("explain")));
  if (!site->valid)
    for (const auto& d : site->diagnostics)
      if (d.is_error()) std::cerr << d.to_line() << "\n";
  return site->valid ? kExitOk : kExitFailed;
}

}  // namespace sitemail
