// site_table.cpp — discovery and resolution of every site; see site_table.hpp.
#include "site_table.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <exception>
#include <functional>
#include <mutex>
#include <system_error>
#include <thread>

#include "mail_settings_file.hpp"
#include "text_util.hpp"

namespace sitemail {

namespace {

// Calls fn(i) for every i in [0, n), spread over hardware_concurrency() threads, at least 4
// and at most 8, in chunks taken in turn; a small n stays on the calling thread. (At least 4:
// with the page cache cold, reading 10,000 site files waits on the disk, and 4 threads on 2
// cores read them in 0.56 s where 2 took 0.65 s; with the files cached it costs nothing.)
// The first exception a call throws is rethrown here after every thread has stopped.
void for_each_index_parallel(std::size_t n, const std::function<void(std::size_t)>& fn) {
  constexpr std::size_t kChunk = 64;
  const std::size_t threads =
      std::min<std::size_t>({std::clamp<std::size_t>(std::thread::hardware_concurrency(), 4, 8), (n + kChunk - 1) / kChunk});
  if (threads <= 1) {
    for (std::size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mu;
  auto run = [&] {
    try {
      for (std::size_t b; !failed && (b = next.fetch_add(kChunk)) < n;)
        for (std::size_t i = b; i < std::min(n, b + kChunk); ++i) fn(i);
    } catch (...) {
      std::lock_guard lock(error_mu);
      if (!error) error = std::current_exception();
      failed = true;
    }
  };
  {
    std::vector<std::jthread> helpers;
    for (std::size_t t = 1; t < threads; ++t) helpers.emplace_back(run);
    run();
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace

std::string site_code_problem(std::string_view code) {
  const bool ok_len = !code.empty() && code.size() <= kMaxSiteCodeLength;
  bool ok = ok_len && std::isalnum(static_cast<unsigned char>(code.front()));
  for (char c : code) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
  if (ok) return {};
  return "'" + std::string(code) + "' is not a site code (1-" + std::to_string(kMaxSiteCodeLength) +
         " letters, digits, '-' or '_', starting with a letter or digit)";
}

std::shared_ptr<const ResolvedSite> SiteTable::find(const std::string& site) const {
  auto it = sites.find(site);
  return it == sites.end() ? nullptr : it->second;
}

std::shared_ptr<const ResolvedSite> SiteTable::find_or_resolve(const std::string& site) const {
  if (auto s = find(site)) return s;
  SiteLayers layers{db_default.get(), nullptr, smtp_config.get(), nullptr};
  auto r = std::make_shared<ResolvedSite>(resolve_site(site, layers, env));
  r->route = std::to_string(generation) + "/" + r->route;
  r->defined_in = {"(defaults only)"};
  auto es = std::make_shared<EffectiveSettings>(*r->settings);
  es->notes.insert(es->notes.begin(), "site " + site + " is not defined anywhere (no DB keys, outbox rows or " + site +
                                          ".config): these are the settings its mail would use");
  r->settings = std::move(es);
  return r;
}

namespace {

// One site found by discovery: its code and where it is defined ("db", "outbox",
// "<code>.config", in that order).
struct FoundSite {
  std::string code;
  std::vector<std::string> defined_in;
  bool has_file = false;
};

// The names of the regular files (or links to them) in `dir` that end in ".config", in
// name order; errno-style problem text in `error` when the folder cannot be read.
std::vector<std::string> config_file_names(const std::string& dir, std::string& error) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    error = std::error_code(errno, std::generic_category()).message();
    return names;
  }
  const int fd = ::dirfd(d);
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name(e->d_name);
    if (!name.ends_with(".config") || name.size() <= 7) continue;
    bool regular = e->d_type == DT_REG;
    if (e->d_type == DT_LNK || e->d_type == DT_UNKNOWN) {  // follow a link, as opening it will
      struct stat st {};
      regular = ::fstatat(fd, e->d_name, &st, 0) == 0 && S_ISREG(st.st_mode);
    }
    if (regular) names.emplace_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

// The sites of the database, the outbox and the site files, merged in code order (each
// source is sorted already): one pass, no map per source.
std::vector<FoundSite> merge_sites(const DbSnapshot& db, const std::vector<std::string>& file_codes) {
  std::vector<FoundSite> out;
  out.reserve(std::max({db.keys_by_site.size(), db.outbox_sites.size(), file_codes.size()}));
  auto k = db.keys_by_site.begin();
  auto o = db.outbox_sites.begin();
  auto f = file_codes.begin();
  while (k != db.keys_by_site.end() || o != db.outbox_sites.end() || f != file_codes.end()) {
    const std::string* next = nullptr;
    for (const std::string* c : {k != db.keys_by_site.end() ? &k->first : nullptr, o != db.outbox_sites.end() ? &*o : nullptr,
                                 f != file_codes.end() ? &*f : nullptr})
      if (c && (!next || *c < *next)) next = c;
    FoundSite site{*next, {}, false};
    if (k != db.keys_by_site.end() && k->first == site.code) site.defined_in.emplace_back("db"), ++k;
    if (o != db.outbox_sites.end() && *o == site.code) site.defined_in.emplace_back("outbox"), ++o;
    if (f != file_codes.end() && *f == site.code) site.defined_in.push_back(site.code + ".config"), site.has_file = true, ++f;
    out.push_back(std::move(site));
  }
  return out;
}

// A site file whose name differs from another known site's code only in case defines its
// own site (codes are case-sensitive): warned about when the file is the site's only source
// and the other site has no file. Codes are grouped by their lowercased form (one sort, not a
// pass over every site per file); warnings come in the file's code order.
void warn_case_twins(const std::vector<FoundSite>& sites, Diagnostics& global) {
  std::vector<std::pair<std::string, std::size_t>> lower;  // (lowercased code, index), sorted
  lower.reserve(sites.size());
  for (std::size_t i = 0; i < sites.size(); ++i) lower.emplace_back(to_lower(sites[i].code), i);
  std::sort(lower.begin(), lower.end());
  std::vector<std::pair<std::size_t, std::size_t>> twins;  // (file-only site, other site)
  for (std::size_t g = 0; g < lower.size();) {
    std::size_t end = g + 1;
    while (end < lower.size() && lower[end].first == lower[g].first) ++end;
    for (std::size_t a = g; a < end && end - g > 1; ++a) {
      const auto& file_site = sites[lower[a].second];
      if (!file_site.has_file || file_site.defined_in.size() != 1) continue;
      for (std::size_t b = g; b < end; ++b)
        if (b != a && !sites[lower[b].second].has_file) twins.emplace_back(lower[a].second, lower[b].second);
    }
    g = end;
  }
  std::sort(twins.begin(), twins.end());
  for (const auto& [i, j] : twins) {
    const auto& stem = sites[i].code;
    const auto& other = sites[j].code;
    global.push_back({stem + ".config", "", Severity::warning,
                      "defines a separate site '" + stem + "', not site '" + other +
                          "' (site codes are case-sensitive); did you mean " + other + ".config?"});
  }
}

std::string join_path(const std::string& dir, const std::string& name) {
  return dir.empty() || dir.ends_with('/') ? dir + name : dir + "/" + name;
}

}  // namespace

std::shared_ptr<const SiteTable> load_site_table(const DbSnapshot& db, const ResolveEnv& env, const std::set<std::string>* only) {
  static std::atomic<std::uint64_t> loads{0};
  auto table = std::make_shared<SiteTable>();
  table->generation = ++loads;
  table->env = env;

  std::string smtp_config_name;
  std::vector<std::string> file_codes;  // sites with a <code>.config file, in code order
  if (!env.config_dir.empty()) {
    std::string error;
    const auto names = config_file_names(env.config_dir, error);
    if (!error.empty()) table->global.push_back({env.config_dir, "", Severity::error, "cannot read config dir: " + error});
    std::vector<std::string> smtp_variants;  // smtp.config, Smtp.config, ... (case-insensitive match)
    file_codes.reserve(names.size());
    for (const auto& name : names) {
      auto stem = name.substr(0, name.size() - 7);
      if (iequals(stem, "SMTP")) {
        smtp_variants.push_back(name);
        if (smtp_config_name.empty() || name == "SMTP.config") smtp_config_name = name;
        continue;
      }
      if (auto why = site_code_problem(stem); !why.empty()) {
        table->global.push_back({name, "", Severity::warning, why + "; the file is ignored"});
        continue;
      }
      if (env.delegate_site_files && stem == "certs") {
        table->global.push_back({name, "", Severity::warning,
                                 "'certs' is reserved for the server's certificate folder when "
                                 "sites.delegate_site_files = yes; the file is ignored"});
        continue;
      }
      file_codes.push_back(std::move(stem));
    }
    for (const auto& v : smtp_variants)
      if (v != smtp_config_name)
        table->global.push_back({v, "", Severity::warning, "ignored: " + smtp_config_name + " is read (one SMTP.config only)"});
    std::sort(file_codes.begin(), file_codes.end());  // names sort "A-B.config" before "A.config"; codes the other way
  }
  auto found = merge_sites(db, file_codes);
  if (!file_codes.empty()) warn_case_twins(found, table->global);
  if (only) std::erase_if(found, [&](const FoundSite& f) { return !only->contains(f.code); });
  auto default_layer = [&] {
    auto it = db.keys_by_site.find(env.default_site);
    return std::make_shared<RawLayer>(
        layer_from_db_rows("db:" + env.default_site, it == db.keys_by_site.end() ? std::vector<DbKeyRow>{} : it->second));
  }();
  table->db_default = default_layer;
  if (!smtp_config_name.empty())
    table->smtp_config =
        std::make_shared<RawLayer>(read_mail_settings_file(join_path(env.config_dir, smtp_config_name), smtp_config_name));

  // Each site's layers are read and resolved on their own (no shared mutable state), so the
  // sites are shared out over a few threads: at 10,000 sites this is most of a (re)load.
  std::vector<std::shared_ptr<ResolvedSite>> done(found.size());
  const std::string generation_prefix = std::to_string(table->generation) + "/";
  auto resolve_one = [&](std::size_t i) {
    auto& site = found[i];
    RawLayer db_site, file;
    SiteLayers layers{default_layer.get(), nullptr, table->smtp_config.get(), nullptr};
    if (site.code != env.default_site) {
      if (auto it = db.keys_by_site.find(site.code); it != db.keys_by_site.end()) {
        db_site = layer_from_db_rows("db:" + site.code, it->second);
        layers.db_site = &db_site;
      }
    }
    if (site.has_file) {
      const auto& label = site.defined_in.back();  // <code>.config
      file = read_mail_settings_file(join_path(env.config_dir, label), label);
      layers.site_file = &file;
    }
    auto r = std::make_shared<ResolvedSite>(resolve_site(site.code, layers, env));
    r->route.insert(0, generation_prefix);
    r->defined_in = std::move(site.defined_in);
    done[i] = std::move(r);
  };
  for_each_index_parallel(found.size(), resolve_one);
  for (std::size_t i = 0; i < found.size(); ++i)
    table->sites.emplace_hint(table->sites.end(), std::move(found[i].code), std::move(done[i]));
  return table;
}

}  // namespace sitemail
