// site_table.cpp — discovery and resolution of every site; see site_table.hpp.
#include "site_table.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <exception>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include "mail_settings_file.hpp"
#include "text_util.hpp"

namespace sitemail {

namespace fs = std::filesystem;

namespace {

// Calls fn(i) for every i in [0, n), spread over up to hardware_concurrency() threads (at most
// 8) in chunks taken in turn; a small n stays on the calling thread. The first exception a call
// throws is rethrown here after every thread has stopped.
void for_each_index_parallel(std::size_t n, const std::function<void(std::size_t)>& fn) {
  constexpr std::size_t kChunk = 64;
  const std::size_t threads =
      std::min<std::size_t>({std::max(1U, std::thread::hardware_concurrency()), 8, (n + kChunk - 1) / kChunk});
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

std::shared_ptr<const SiteTable> load_site_table(const DbSnapshot& db, const ResolveEnv& env) {
  static std::atomic<std::uint64_t> loads{0};
  auto table = std::make_shared<SiteTable>();
  table->generation = ++loads;
  table->env = env;
  std::map<std::string, std::vector<std::string>> where;  // site -> defined_in
  std::map<std::string, std::string> file_of;             // site -> file path
  for (const auto& [site, rows] : db.keys_by_site) where[site].push_back("db");
  for (const auto& site : db.outbox_sites) where[site].push_back("outbox");

  std::string smtp_config_path, smtp_config_name;
  std::vector<std::string> smtp_variants;  // smtp.config, Smtp.config, ... (case-insensitive match)
  std::error_code ec;
  if (!env.config_dir.empty()) {
    fs::directory_iterator it(env.config_dir, ec);
    if (ec) {
      table->global.push_back({env.config_dir, "", Severity::error, "cannot read config dir: " + ec.message()});
    } else {
      std::vector<std::pair<std::string, std::string>> files;  // name, path
      for (const auto& entry : it) {
        const auto name = entry.path().filename().string();
        if (!name.ends_with(".config") || name.size() <= 7) continue;
        if (!entry.is_regular_file(ec)) continue;
        files.emplace_back(name, entry.path().string());
      }
      std::sort(files.begin(), files.end());
      for (const auto& [name, path] : files) {
        const auto stem = name.substr(0, name.size() - 7);
        if (iequals(stem, "SMTP")) {
          smtp_variants.push_back(name);
          if (smtp_config_path.empty() || name == "SMTP.config") {
            smtp_config_path = path;
            smtp_config_name = name;
          }
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
        where[stem].push_back(name);
        file_of[stem] = path;
      }
      for (const auto& v : smtp_variants)
        if (v != smtp_config_name)
          table->global.push_back({v, "", Severity::warning, "ignored: " + smtp_config_name + " is read (one SMTP.config only)"});
      // A site file whose name differs from a known site only in case is its own site.
      // (Known sites grouped by their lowercased code, in code order: one lookup per file,
      // not a pass over every site per file, which at 10,000 files is 10^8 comparisons.)
      std::map<std::string, std::vector<std::string_view>> by_lower;
      for (const auto& [code, defined] : where) by_lower[to_lower(code)].push_back(code);
      for (const auto& [stem, path] : file_of) {
        if (where[stem].size() != 1) continue;  // also in the DB or outbox: exactly that code
        for (const auto other : by_lower[to_lower(stem)])
          if (other != stem && !file_of.count(std::string(other)))
            table->global.push_back({stem + ".config", "", Severity::warning,
                                     "defines a separate site '" + stem + "', not site '" + std::string(other) +
                                         "' (site codes are case-sensitive); did you mean " + std::string(other) + ".config?"});
      }
    }
  }
  auto default_layer = [&] {
    auto it = db.keys_by_site.find(env.default_site);
    return std::make_shared<RawLayer>(
        layer_from_db_rows("db:" + env.default_site, it == db.keys_by_site.end() ? std::vector<DbKeyRow>{} : it->second));
  }();
  table->db_default = default_layer;
  if (!smtp_config_path.empty())
    table->smtp_config = std::make_shared<RawLayer>(read_mail_settings_file(smtp_config_path, smtp_config_name));

  // Each site's layers are read and resolved on their own (no shared mutable state), so the
  // sites are shared out over a few threads: at 10,000 sites this is most of a (re)load.
  std::vector<const std::pair<const std::string, std::vector<std::string>>*> todo;
  todo.reserve(where.size());
  for (const auto& entry : where) todo.push_back(&entry);
  std::vector<std::shared_ptr<ResolvedSite>> done(todo.size());
  const std::string generation_prefix = std::to_string(table->generation) + "/";
  auto resolve_one = [&](std::size_t i) {
    const auto& [site, defined] = *todo[i];
    RawLayer db_site, file;
    SiteLayers layers{default_layer.get(), nullptr, table->smtp_config.get(), nullptr};
    if (site != env.default_site) {
      if (auto it = db.keys_by_site.find(site); it != db.keys_by_site.end()) {
        db_site = layer_from_db_rows("db:" + site, it->second);
        layers.db_site = &db_site;
      }
    }
    if (auto f = file_of.find(site); f != file_of.end()) {
      file = read_mail_settings_file(f->second, site + ".config");
      layers.site_file = &file;
    }
    auto r = std::make_shared<ResolvedSite>(resolve_site(site, layers, env));
    r->route.insert(0, generation_prefix);
    r->defined_in = defined;
    done[i] = std::move(r);
  };
  for_each_index_parallel(todo.size(), resolve_one);
  for (std::size_t i = 0; i < todo.size(); ++i) table->sites.emplace_hint(table->sites.end(), todo[i]->first, std::move(done[i]));
  return table;
}

}  // namespace sitemail
