// cli_common.cpp — see cli_common.hpp.
#include "cli_common.hpp"

#include <cstdlib>
#include <filesystem>

namespace sitemail {

namespace po = boost::program_options;

void add_common_options(po::options_description& d) {
  d.add_options()("help,h", "show this help")("version", "show the version")(
      "config", po::value<std::string>(), "daemon config file (INI); default /etc/sitemail/sitemaild.conf")(
      "database", po::value<std::string>(), "libpq conninfo or URI; else $SITEMAIL_DATABASE, else [database] url")(
      "config-dir", po::value<std::string>(), "site config dir; else $SITEMAIL_CONFIG_DIR, else [sites] config_dir");
}

DaemonConf resolve_conf(const po::variables_map& vm) {
  DaemonConf conf;
  std::string file;
  if (vm.count("config")) {
    file = vm["config"].as<std::string>();
  } else {
    std::error_code ec;
    if (std::filesystem::exists("/etc/sitemail/sitemaild.conf", ec)) file = "/etc/sitemail/sitemaild.conf";
  }
  if (!file.empty()) {
    auto diags = load_daemon_conf(file, conf);
    if (has_errors(diags)) {
      std::string msg;
      for (const auto& d : diags) msg += (msg.empty() ? "" : "\n") + d.to_line();
      throw UsageError(msg);
    }
  }
  if (vm.count("database")) conf.database_url = vm["database"].as<std::string>();
  else if (const char* e = std::getenv("SITEMAIL_DATABASE"); e && *e) conf.database_url = e;
  if (vm.count("config-dir")) conf.config_dir = vm["config-dir"].as<std::string>();
  else if (const char* e = std::getenv("SITEMAIL_CONFIG_DIR"); e && *e) conf.config_dir = e;
  return conf;
}

std::string require_database(const DaemonConf& conf) {
  if (conf.database_url.empty())
    throw UsageError("no database: give --database, set SITEMAIL_DATABASE, or set [database] url in sitemaild.conf");
  return conf.database_url;
}

}  // namespace sitemail
