// resolver.hpp — layering: built-in default < db:<default site> < db:<site> < SMTP.config
// < <site>.config (CONTRACT §3), in `layer` or `replace` mode, with provenance; then the
// derived rules and cross-setting validation (derived_rules.cpp) give the site's verdict.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "daemon_conf.hpp"
#include "effective_settings.hpp"
#include "raw_layer.hpp"

namespace sitemail {

struct ResolveEnv {
  std::string config_dir;
  std::string default_site = "ILL";
  SiteFilesMode mode = SiteFilesMode::layer;
  std::string host_fqdn;                                                 // the EHLO default; see host_fqdn()
  std::function<std::optional<std::string>(const std::string&)> getenv;  // null = process env
  bool delegate_site_files = false;                                      // [sites] delegate_site_files (CONTRACT §6)
  std::vector<std::string> site_env_allow;                               // [sites] site_env_allow
  // Keep, for every setting, the values it overrides and the notes of the derived rules
  // (what `show --explain` prints). The daemon and --check-config leave them out: values,
  // sources, verdicts and problems are the same, in a sixth less memory and time at
  // 10,000 sites; `show` resolves its site with them.
  bool explain = true;
};

struct SiteLayers {
  const RawLayer* db_default = nullptr;   // nvtgc = default site
  const RawLayer* db_site = nullptr;      // nvtgc = site (null for the default site itself)
  const RawLayer* smtp_config = nullptr;  // SMTP.config (null or !present when absent)
  const RawLayer* site_file = nullptr;    // <site>.config (null or !present when absent)
};

[[nodiscard]] ResolvedSite resolve_site(const std::string& site, const SiteLayers& layers, const ResolveEnv& env);

// Cross-setting rules: TLS mode, proxy port, EHLO name, and the checks that make a
// site invalid (no relay, proxy without host, missing certificate files, ...).
void apply_derived_rules(EffectiveSettings& es, Diagnostics& diags, const ResolveEnv& env);

// The host's fully qualified name for EHLO: the canonical name of gethostname(), never
// "localhost" (falls back to the plain host name, then to an address literal).
[[nodiscard]] std::string host_fqdn();

}  // namespace sitemail
