// daemon_main.cpp — sitemaild: command line, --check-config, and the run loop.
#include <iostream>

#include "cli_common.hpp"
#include "pg.hpp"
#include "report_format.hpp"
#include "site_source.hpp"

namespace po = boost::program_options;
using namespace sitemail;

int main(int argc, char** argv) {
  po::options_description opts("options");
  add_common_options(opts);
  opts.add_options()("once", "deliver everything due now, then exit")(
      "check-config", "load and validate every site's configuration, then exit");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, opts), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "sitemaild: " << e.what() << " (see sitemaild --help)\n";
    return kExitUsage;
  }
  if (vm.count("help")) {
    std::cout << "usage: sitemaild [options]\n\n" << opts
              << "\nexit status: 0 success, 1 problems found / mail failed or deferred, 2 usage or environment error\n";
    return kExitOk;
  }
  if (vm.count("version")) {
    std::cout << "sitemaild " << SITEMAIL_VERSION << "\n";
    return kExitOk;
  }
  try {
    DaemonConf conf = resolve_conf(vm);
    PgConn db(require_database(conf));
    if (vm.count("check-config")) {
      auto table = load_sites(db, conf);
      auto problems = collect_problems(*table, "");
      std::cout << format_check(problems);
      std::cout << format_sites(*table);
      return has_errors(problems) ? kExitFailed : kExitOk;
    }
    std::cerr << "sitemaild: delivery is not available in this build yet; use --check-config\n";
    return kExitUsage;
  } catch (const UsageError& e) {
    std::cerr << "sitemaild: " << e.what() << "\n";
    return kExitUsage;
  } catch (const PgError& e) {
    std::cerr << "sitemaild: database: " << e.what() << "\n";
    return kExitUsage;
  }
}
