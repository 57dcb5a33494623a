// site_table.hpp — site discovery and the registry: every known site resolved once per
// (re)load into an immutable SiteTable; the registry swaps the whole table atomically so
// a reload never shows a half-updated view.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "resolver.hpp"

namespace sitemail {

// What the database says, read by server/ (this module does no DB I/O).
struct DbSnapshot {
  std::map<std::string, std::vector<DbKeyRow>> keys_by_site;  // nvtgc -> customization rows
  std::set<std::string> outbox_sites;                         // distinct outbox.nvtgc
};

struct SiteTable {
  ResolveEnv env;
  std::map<std::string, std::shared_ptr<const ResolvedSite>> sites;
  Diagnostics global;  // problems not tied to one site (config dir unreadable, ...)
  // Kept to resolve a site that appears after the load (layers 1, 2 and 4).
  std::shared_ptr<const RawLayer> db_default, smtp_config;
  // Which load this is (counts up in the process). Part of every site's route, so after a
  // reload new connections are opened with the new settings (and certificate files read again).
  std::uint64_t generation = 0;

  [[nodiscard]] std::shared_ptr<const ResolvedSite> find(const std::string& site) const;
  // find(), or a resolution with the default layers for a site not known at load time.
  [[nodiscard]] std::shared_ptr<const ResolvedSite> find_or_resolve(const std::string& site) const;
};

// The rule for site codes taken from file names (`<site>.config`): 1-32 ASCII letters,
// digits, '-' or '_', starting with a letter or digit. "" when `code` follows it, else why
// not. (Codes in the database are whatever the applications wrote; they are printed escaped.)
inline constexpr std::size_t kMaxSiteCodeLength = 32;
[[nodiscard]] std::string site_code_problem(std::string_view code);

// Discovers the sites (DB keys, outbox, *.config files) and resolves each one; with `only`,
// only those of its sites that exist (one site's `show`, a web page of one site): `sites`
// then holds no other site, while `global` (case twins, ignored files, SMTP.config
// variants) and everything resolved are exactly what the whole table has.
[[nodiscard]] std::shared_ptr<const SiteTable> load_site_table(const DbSnapshot& db, const ResolveEnv& env,
                                                               const std::set<std::string>* only = nullptr);

class SiteRegistry {
 public:
  [[nodiscard]] std::shared_ptr<const SiteTable> current() const {
    std::lock_guard lock(mu_);
    return table_;
  }
  void replace(std::shared_ptr<const SiteTable> t) {
    std::lock_guard lock(mu_);
    table_ = std::move(t);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const SiteTable> table_;
};

}  // namespace sitemail
