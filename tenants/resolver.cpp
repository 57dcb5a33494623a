// resolver.cpp — per-setting layering with provenance; see resolver.hpp.
#include "resolver.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "connection_route.hpp"

namespace sitemail {

std::string builtin_shown(const SettingDef& d) {
  return d.id == Setting::FullyQualifiedDomainName ? "(host FQDN)"
         : d.default_text.empty()                  ? "(empty)"
                                                   : std::string(d.default_text);
}

const SettingResolution& builtin_resolution(std::size_t i) {
  static const std::array<SettingResolution, kSettingCount> table = [] {
    std::array<SettingResolution, kSettingCount> t;
    for (const auto& d : catalogue()) t[static_cast<std::size_t>(d.id)].value = default_value(d);
    return t;
  }();
  return table[i];
}

std::string_view tls_mode_name(TlsMode m) {
  switch (m) {
    case TlsMode::none: return "none";
    case TlsMode::implicit: return "implicit";
    case TlsMode::starttls_required: return "starttls";
    case TlsMode::opportunistic: return "opportunistic";
  }
  return "?";
}

namespace {

struct Candidate {
  const RawLayer* layer;
  const RawEntry* entry;
};

}  // namespace

ResolvedSite resolve_site(const std::string& site, const SiteLayers& in, const ResolveEnv& env) {
  ResolvedSite out;
  out.site = site;
  auto es = std::make_shared<EffectiveSettings>();
  es->site = site;
  es->explained = env.explain;
  es->layers.push_back(kBuiltinDefault);

  const bool has_site_file = in.site_file && in.site_file->present;
  std::vector<const RawLayer*> order;
  auto use = [&](const RawLayer* l, const std::string& label) {
    if (!l || (!l->present && l->entries.empty() && l->diagnostics.empty())) return;
    es->layers.push_back(label);
    order.push_back(l);
    for (const auto& d : l->diagnostics) out.diagnostics.push_back(d);
  };
  use(in.db_default, "db:" + env.default_site);
  if (site != env.default_site) use(in.db_site, "db:" + site);
  if (in.smtp_config && in.smtp_config->present) {
    if (env.mode == SiteFilesMode::replace && has_site_file)
      es->notes.push_back("SMTP.config not read because sites.site_files = replace and " + in.site_file->label + " exists");
    else use(in.smtp_config, in.smtp_config->label);
  }
  if (has_site_file) use(in.site_file, in.site_file->label);
  es->home = has_site_file ? in.site_file->label : "db:" + site;

  ParseContext ctx;
  ctx.config_dir = env.config_dir;
  ctx.getenv = env.getenv;
  ParseContext check = ctx;
  check.resolve_secrets = false;  // an overridden secret is never read
  // A delegated site file owns only its own folder (CONTRACT §6, docs/trust-model.md).
  const bool delegated = env.delegate_site_files && has_site_file;
  ParseContext confined;
  if (delegated) {
    confined = ctx;
    confined.confined = true;
    confined.confine_dir = env.config_dir + "/" + site;
    confined.env_allow = env.site_env_allow;
  }
  // Room for the site's own settings: those its layers set (a note of a derived rule on a
  // setting at its default takes a small further block).
  std::array<bool, kSettingCount> set_here{};
  std::size_t own = 0;
  for (const auto* l : order)
    for (const auto& e : l->entries) own += !std::exchange(set_here[static_cast<std::size_t>(e.setting)], true);
  es->settings.reserve(own);
  // A candidate's source: its layer's place in es->layers ([0] is the built-in default).
  auto source_of = [&](const Candidate& c) {
    const auto k = static_cast<std::size_t>(std::find(order.begin(), order.end(), c.layer) - order.begin());
    return SourceRef::make(k + 1, c.entry->line);
  };
  std::vector<Candidate> cands;
  cands.reserve(order.size());
  for (const auto& d : catalogue()) {
    cands.clear();
    for (const auto* l : order)
      if (const auto* e = l->find(d.id)) cands.push_back({l, e});
    if (cands.empty()) continue;                             // the built-in default (shared, see SettingTable)
    auto& r = es->settings[static_cast<std::size_t>(d.id)];  // value: the default until parsed
    // The highest layer wins; lower ones are listed as overridden, nearest first.
    const auto& top = cands.back();
    const bool from_site_file = delegated && top.layer == in.site_file;
    if (from_site_file) r.confine_to = confined.confine_dir;
    auto parsed = parse_value(d, top.entry->raw, from_site_file ? confined : ctx);
    r.from = source_of(top);
    const std::string top_where = top.layer->where(*top.entry);  // for the diagnostics below
    if (parsed.value) {
      r.value = std::move(*parsed.value);
      if (!parsed.warning.empty()) out.diagnostics.push_back({top_where, std::string(d.name), Severity::warning, parsed.warning});
    } else {
      r.valid = false;
      out.diagnostics.push_back({top_where, std::string(d.name), Severity::error, parsed.error});
    }
    for (std::size_t i = cands.size() - 1; i-- > 0;) {
      const auto& c = cands[i];
      if (env.explain) r.overridden.push_back({source_of(c), format_raw(d, c.entry->raw)});
      auto lower = parse_value(d, c.entry->raw, check);
      if (!lower.value)
        out.diagnostics.push_back({c.layer->where(*c.entry), std::string(d.name), Severity::warning,
                                   lower.error + " (overridden by " + top_where + ")"});
      // A DB key that a file hides has no effect: the admin's `keys set` did nothing
      // (the site's own keys; the default site's keys when SMTP.config covers every site).
      const bool file_wins = top.layer == in.site_file || top.layer == in.smtp_config;
      const bool hidden =
          file_wins && ((c.layer == in.db_site && in.db_site) ||
                        (c.layer == in.db_default && top.layer == in.smtp_config && env.mode == SiteFilesMode::layer));
      if (hidden) {
        Diagnostic h{c.layer->where(*c.entry), std::string(d.name), Severity::warning,
                     "has no effect: " + top_where + " overrides it" +
                         (c.layer == in.db_default ? std::string(" for every site") : " for site " + site)};
        h.strict_only = true;
        out.diagnostics.push_back(std::move(h));
      }
    }
  }
  apply_derived_rules(*es, out.diagnostics, env);
  out.valid = !has_errors(out.diagnostics);
  out.route = connection_route(*es);
  out.settings = std::move(es);
  return out;
}

}  // namespace sitemail
