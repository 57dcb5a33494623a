// site_source.cpp — see site_source.hpp.
#include "site_source.hpp"

#include "catalogue.hpp"
#include "text_util.hpp"

namespace sitemail {

DbSnapshot read_db_snapshot(PgConn& db) {
  DbSnapshot snap;
  auto keys = db.exec("SELECT nvtgc, custkey, coalesce(value, '') FROM customization ORDER BY nvtgc, custkey");
  for (int i = 0; i < keys.rows(); ++i) {
    auto key = keys.get(i, 1);
    if (!find_setting(key) && db_key_near_miss(key).empty()) continue;  // another application's key
    snap.keys_by_site[keys.get(i, 0)].push_back({key, keys.get(i, 2)});
  }
  auto sites = db.exec("SELECT DISTINCT nvtgc FROM outbox");
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

std::shared_ptr<const SiteTable> load_sites(PgConn& db, const DaemonConf& conf) {
  return load_site_table(read_db_snapshot(db), resolve_env_from(conf));
}

}  // namespace sitemail
