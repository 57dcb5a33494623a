// site_source.cpp — see site_source.hpp.
#include "site_source.hpp"

#include <algorithm>

#include "catalogue.hpp"
#include "text_util.hpp"

namespace sitemail {

DbSnapshot read_db_snapshot(PgConn& db) {
  DbSnapshot snap;
  // Unordered: the server's sort (in its collation) took most of the query at 10,000 sites;
  // each site's few keys are put in byte order here, so which of two spellings of one key
  // counts as the first no longer depends on the database's collation.
  auto keys = db.exec("SELECT nvtgc, custkey, coalesce(value, '') FROM customization");
  for (int i = 0; i < keys.rows(); ++i) {
    auto key = keys.get(i, 1);
    if (!find_setting(key) && db_key_near_miss(key).empty()) continue;  // another application's key
    snap.keys_by_site[keys.get(i, 0)].push_back({std::move(key), keys.get(i, 2)});
  }
  for (auto& [site, rows] : snap.keys_by_site)
    std::sort(rows.begin(), rows.end(), [](const DbKeyRow& a, const DbKeyRow& b) { return a.key < b.key; });
  // The distinct sites of the outbox, one index probe each (a "loose index scan" over
  // outbox_site_status_idx) instead of reading every row the outbox keeps.
  auto sites = db.exec(
      "WITH RECURSIVE s(nvtgc) AS ("
      " (SELECT nvtgc FROM outbox ORDER BY nvtgc LIMIT 1)"
      " UNION ALL"
      " SELECT (SELECT o.nvtgc FROM outbox o WHERE o.nvtgc > s.nvtgc ORDER BY o.nvtgc LIMIT 1) FROM s WHERE s.nvtgc IS NOT NULL)"
      " SELECT nvtgc FROM s WHERE nvtgc IS NOT NULL");
  for (int i = 0; i < sites.rows(); ++i) snap.outbox_sites.insert(sites.get(i, 0));
  return snap;
}

ResolveEnv resolve_env_from(const DaemonConf& conf) {
  ResolveEnv env;
  env.config_dir = conf.config_dir;
  env.default_site = conf.default_site;
  env.mode = conf.site_files;
  env.host_fqdn = host_fqdn();
  env.delegate_site_files = conf.delegate_site_files;
  for (auto& name : split(conf.site_env_allow, ' '))
    if (!trim(name).empty()) env.site_env_allow.emplace_back(trim(name));
  return env;
}

std::shared_ptr<const SiteTable> load_sites(PgConn& db, const DaemonConf& conf, bool explain) {
  auto env = resolve_env_from(conf);
  env.explain = explain;
  return load_site_table(read_db_snapshot(db), env);
}

std::shared_ptr<const SiteTable> load_sites_only(PgConn& db, const DaemonConf& conf, const std::set<std::string>& only) {
  return load_site_table(read_db_snapshot(db), resolve_env_from(conf), &only);
}

}  // namespace sitemail
