// commands.hpp — the sitemailctl commands. Each takes the parsed command line and
// returns the exit code (CONTRACT §1: 0 ok, 1 the thing failed, 2 usage/environment).
#pragma once
#include <boost/program_options.hpp>
#include <memory>
#include <string>
#include <vector>

#include "cli_common.hpp"

namespace sitemail {

struct CtlArgs {
  boost::program_options::variables_map vm;
  std::vector<std::string> words;  // positional words after the command (and sub-command)
  DaemonConf conf;
  [[nodiscard]] bool flag(const char* name) const { return vm.count(name) > 0; }
  [[nodiscard]] std::string opt(const char* name, const std::string& fallback = {}) const {
    return vm.count(name) ? vm[name].as<std::string>() : fallback;
  }
};

struct SiteTable;
// DB keys + site files, exactly as sitemaild loads them; UsageError when not migrated.
[[nodiscard]] std::shared_ptr<const SiteTable> load_ctl_sites(CtlArgs& a);
// The same table with only site `code` resolved (load_sites_only): for a one-site command.
[[nodiscard]] std::shared_ptr<const SiteTable> load_ctl_site(CtlArgs& a, const std::string& code);

int cmd_db_migrate(CtlArgs& a);
int cmd_keys_list(CtlArgs& a);
int cmd_keys_get(CtlArgs& a);
int cmd_keys_set(CtlArgs& a);
int cmd_keys_unset(CtlArgs& a);
int cmd_sites(CtlArgs& a);
int cmd_check(CtlArgs& a);
int cmd_show(CtlArgs& a);
int cmd_test(CtlArgs& a);
int cmd_enqueue(CtlArgs& a);
int cmd_queue(CtlArgs& a);
int cmd_queue_retry(CtlArgs& a);
int cmd_queue_cancel(CtlArgs& a);
int cmd_queue_show(CtlArgs& a);
int cmd_queue_purge(CtlArgs& a);
int cmd_reload(CtlArgs& a);
int cmd_oauth_token(CtlArgs& a);  // ctl/oauth.cpp
int cmd_oauth_login(CtlArgs& a);  // ctl/oauth.cpp
int cmd_web_add(CtlArgs& a);      // ctl/web.cpp
int cmd_web_passwd(CtlArgs& a);
int cmd_web_remove(CtlArgs& a);
int cmd_web_list(CtlArgs& a);

int cmd_submission_add(CtlArgs& a);  // ctl/submission.cpp
int cmd_submission_passwd(CtlArgs& a);
int cmd_submission_remove(CtlArgs& a);
int cmd_submission_list(CtlArgs& a);
int cmd_submission_network_add(CtlArgs& a);
int cmd_submission_network_remove(CtlArgs& a);
int cmd_submission_network_list(CtlArgs& a);

}  // namespace sitemail
