// cli_common.hpp — what both programs share on the command line: the --database /
// --config / --config-dir resolution order of CONTRACT §1, exit codes, error types.
#pragma once
#include <boost/program_options.hpp>
#include <stdexcept>
#include <string>

#include "daemon_conf.hpp"

namespace sitemail {

enum Exit { kExitOk = 0, kExitFailed = 1, kExitUsage = 2 };

// Usage or environment problem: exit 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void add_common_options(boost::program_options::options_description& d);

// The daemon config (file from --config, else /etc/sitemail/sitemaild.conf when present),
// then --database / $SITEMAIL_DATABASE and --config-dir / $SITEMAIL_CONFIG_DIR on top.
// Throws UsageError naming the file and line when the config file is bad.
[[nodiscard]] DaemonConf resolve_conf(const boost::program_options::variables_map& vm);
[[nodiscard]] std::string require_database(const DaemonConf& conf);

}  // namespace sitemail
