// housekeeping.cpp — see housekeeping.hpp.
#include "housekeeping.hpp"

#include "log.hpp"

namespace sitemail {

std::string held_reason(const ResolvedSite& site) {
  const auto* e = site.first_error();
  return "held: site configuration invalid: " + (e ? e->to_line() : std::string("?"));
}

void Housekeeping::tick(QueueStore& store, const SiteTable* table) {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ < std::chrono::seconds(1)) return;
  last_ = now;
  if (table) {
    std::vector<std::pair<std::string, std::string>> held;
    for (const auto& [code, site] : table->sites)
      if (!site->valid) held.emplace_back(code, held_reason(*site));
    if (!held.empty()) {
      const long long before = held_upto_;
      held_upto_ = store.mark_held_new(held, held_upto_);
      if (held_upto_ > before) log::debug("held_marked", {{"upto", std::to_string(held_upto_)}});
    }
  }
  if (conf_.retention_days > 0 && now >= next_purge_) {
    const int n = store.purge(static_cast<long long>(conf_.retention_days) * 86400, {"sent", "failed", "cancelled"}, kPurgeBatch);
    if (n > 0) log::info("purged", {{"rows", std::to_string(n)}, {"older_than_days", std::to_string(conf_.retention_days)}});
    // A full batch: more is waiting, continue next second; else look again in ten minutes.
    next_purge_ = now + (n >= kPurgeBatch ? std::chrono::seconds(1) : std::chrono::seconds(600));
  }
}

void acknowledge_reloads(PgConn& db, const std::vector<std::string>& request_ids, const std::string& instance,
                         const SiteTable* table, const std::string& error) {
  if (request_ids.empty()) return;
  std::string detail = error;
  if (error.empty() && table) {
    int invalid = 0;
    for (const auto& [code, site] : table->sites) invalid += site->valid ? 0 : 1;
    detail = "sites=" + std::to_string(table->sites.size()) + " invalid=" + std::to_string(invalid);
  }
  try {
    for (const auto& id : request_ids)
      db.exec(
          "INSERT INTO reload_ack (request_id, instance, result, detail) VALUES ($1, $2, $3, $4) "
          "ON CONFLICT (request_id, instance) DO UPDATE SET acked_at = now(), result = EXCLUDED.result, detail = EXCLUDED.detail",
          {id, instance, error.empty() ? "ok" : "failed", detail});
    db.exec("DELETE FROM reload_ack WHERE acked_at < now() - interval '1 day'");
  } catch (const PgError& e) {
    if (e.connection_lost()) throw;
    log::warn("reload", {{"status", "not acknowledged"}, {"problem", e.what()}});
  }
}

}  // namespace sitemail
