// site_source.hpp — reading what the database knows about sites (customization keys and
// outbox site codes) and building the SiteTable from it plus the config dir.
#pragma once
#include <memory>

#include "daemon_conf.hpp"
#include "pg.hpp"
#include "site_table.hpp"

namespace sitemail {

[[nodiscard]] DbSnapshot read_db_snapshot(PgConn& db);
[[nodiscard]] ResolveEnv resolve_env_from(const DaemonConf& conf);
// explain: keep what `show --explain` prints (ResolveEnv::explain); the daemon and
// --check-config pass false.
[[nodiscard]] std::shared_ptr<const SiteTable> load_sites(PgConn& db, const DaemonConf& conf, bool explain = true);
// The same, resolving only the sites in `only` (load_site_table): what one site's command or
// page reads: at 10,000 sites the DB snapshot and the file listing (tens of ms), not every
// site resolved (0.2 s).
[[nodiscard]] std::shared_ptr<const SiteTable> load_sites_only(PgConn& db, const DaemonConf& conf,
                                                               const std::set<std::string>& only);

}  // namespace sitemail
