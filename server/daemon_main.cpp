// daemon_main.cpp — sitemaild: command line, --check-config, --once, and the run loop:
// an io thread (SMTP deliveries, metrics, signals) and a database thread (DbWorker).
// Under systemd (Type=notify) it reports readiness, reloads, stopping and the watchdog
// through server/daemon/service_notify.*; it never writes core dumps.
#include <malloc.h>
#include <unistd.h>

#include <iostream>
#include <random>
#include <thread>

#include "cli_common.hpp"
#include "daemon/db_worker.hpp"
#include "daemon/heap_tuning.hpp"
#include "daemon/log.hpp"
#include "daemon/service_notify.hpp"
#include "daemon/session_check.hpp"
#include "migrations.hpp"
#include "report_format.hpp"
#include "site_source.hpp"
#include "submission/listener.hpp"
#include "web/http_server.hpp"

namespace po = boost::program_options;
using namespace sitemail;

namespace {

std::string make_owner() {
  char host[128] = {};
  gethostname(host, sizeof host - 1);
  std::random_device rd;
  return std::string(host) + ":" + std::to_string(getpid()) + ":" + std::to_string(rd() % 100000);
}

int run_daemon(const DaemonConf& conf, bool once) {
  log::set_level(conf.log_level);
  keep_large_buffers_in_heap();
  asio::io_context io(1);
  auto guard = asio::make_work_guard(io);
  Metrics metrics;
  SiteRegistry registry;
  std::unique_ptr<DbWorker> worker;
  Dispatcher dispatcher(io, conf, metrics, [&](RowOutcome o) { worker->report(std::move(o)); });
  worker = std::make_unique<DbWorker>(
      conf, registry, metrics, make_owner(),
      [&](std::vector<Job> jobs) {
        asio::post(io, [&dispatcher, jobs = std::move(jobs)]() mutable { dispatcher.add(std::move(jobs)); });
      },
      once);
  ServiceNotifier notifier(io, metrics);
  worker->set_config_hooks(
      [&] { notifier.config_loading(); },
      [&](std::size_t sites, int invalid, const std::string& error) { notifier.config_loaded(sites, invalid, error); });
  if (!once && !conf.metrics_listen.empty()) {
    try {
      start_metrics_server(io, conf.metrics_listen, metrics);
    } catch (const std::exception& e) {
      std::cerr << "sitemaild: cannot serve metrics on " << conf.metrics_listen << ": " << e.what() << "\n";
      return kExitUsage;
    }
  }
  // The web console (CONTRACT §10): its own network thread and workers, stopped when
  // run_daemon returns.
  std::unique_ptr<web::WebServer> web_console;
  if (!once && !conf.web_listen.empty()) {
    try {
      web_console = std::make_unique<web::WebServer>(conf);
    } catch (const std::exception& e) {
      std::cerr << "sitemaild: cannot serve the web console on " << conf.web_listen << ": " << e.what() << "\n";
      return kExitUsage;
    }
  }
  // The SMTP submission door (§9): its own threads and database connection, apart from delivery.
  std::unique_ptr<submission::SubmissionServer> door;
  std::thread door_stopper;  // stops the door on SIGTERM without blocking the io thread
  if (!once && (!conf.submission_listen.empty() || !conf.submission_tls_listen.empty())) {
    try {
      door = std::make_unique<submission::SubmissionServer>(conf, metrics);
      door->start();
    } catch (const std::exception& e) {
      std::cerr << "sitemaild: submission door: " << e.what() << "\n";
      return kExitUsage;
    }
  }
  asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
  asio::steady_timer grace(io);
  std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      log::info("reload", {{"reason", "SIGHUP"}});
      worker->request_reload();
      signals.async_wait(on_signal);
      return;
    }
    log::info("shutdown",
              {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}, {"grace", std::to_string(conf.shutdown_grace) + "s"}});
    notifier.stopping();
    if (door && !door_stopper.joinable())
      door_stopper = std::thread([&door] { door->stop(); });  // 421 to every session; stores in flight answered first
    dispatcher.stop();
    worker->stop();
    grace.expires_after(std::chrono::seconds(conf.shutdown_grace));
    grace.async_wait([&](const boost::system::error_code& e) {
      if (!e) worker->abandon();
    });
  };
  signals.async_wait(on_signal);
  notifier.start();
  std::thread db([&] {
    worker->run();
    asio::post(io, [&] {
      signals.cancel();
      grace.cancel();
      notifier.cancel();
      // Every open session ends with QUIT and a TLS close before the daemon exits.
      dispatcher.shutdown([&] {
        guard.reset();
        io.stop();
      });
    });
  });
  io.run();
  db.join();
  if (web_console) web_console->stop();
  if (door_stopper.joinable()) door_stopper.join();
  if (door) door->stop();
  log::info("stopped", {});
  return once && worker->any_not_sent() ? kExitFailed : kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  disable_core_dumps();  // before any secret is read
  po::options_description opts("options");
  add_common_options(opts);
  opts.add_options()("once", "deliver everything due now, then exit (1 when some mail failed or was deferred)")(
      "check-config", "load and validate every site's configuration, print problems, then exit");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, opts), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "sitemaild: " << e.what() << " (see sitemaild --help)\n";
    return kExitUsage;
  }
  if (vm.count("help")) {
    std::cout << "usage: sitemaild [options]\n\n"
              << opts
              << "\nsignals: SIGTERM/SIGINT stop gracefully, SIGHUP reloads DB keys and site files\n"
                 "exit status: 0 success, 1 problems found / mail failed or deferred, 2 usage or environment error\n"
                 "environment: SITEMAIL_DATABASE, SITEMAIL_CONFIG_DIR; under systemd (Type=notify) NOTIFY_SOCKET,\n"
                 "  WATCHDOG_USEC, and CREDENTIALS_DIRECTORY (an env:NAME secret whose variable is unset is read\n"
                 "  from the credential file NAME, see LoadCredential=)\n"
                 "see also: sitemaild(8), sitemailctl(8), sitemail-settings(5)\n";
    return kExitOk;
  }
  if (vm.count("version")) {
    std::cout << "sitemaild " << SITEMAIL_VERSION << "\n";
    return kExitOk;
  }
  try {
    DaemonConf conf = resolve_conf(vm);
    {
      PgConn db(require_database(conf));  // unreachable at start: exit 2
      if (!db.table_exists("outbox")) throw UsageError("the database has no sitemail schema; run: sitemailctl db migrate");
      if (int v = schema_version(db); v < latest_schema_version())
        throw UsageError("the database schema is at version " + std::to_string(v) + ", this sitemaild needs version " +
                         std::to_string(latest_schema_version()) + "; run: sitemailctl db migrate");
      if (vm.count("check-config")) {
        // A one-shot process whose heap only grows: in steps of 16 MiB instead of glibc's
        // 128 KiB (each step is an mprotect or brk call; 10,000 sites take ~30 MiB).
        // (Not for the daemon: a fixed top pad also fixes glibc's mmap threshold.)
        mallopt(M_TOP_PAD, 16 << 20);
        auto table = load_sites(db, conf, false);  // problems and verdicts need no explanations
        auto problems = collect_problems(*table, "");
        std::cout << format_check(problems);
        std::cout << format_sites(*table);
        // The process ends here: the table stays reachable until exit rather than being
        // freed site by site (at 10,000 sites that teardown is a tenth of the whole check).
        static const auto* kept = new std::shared_ptr<const SiteTable>(std::move(table));
        (void)kept;
        return has_errors(problems) ? kExitFailed : kExitOk;
      }
      // CONTRACT §11: a pooler in transaction mode would break the instance lock and LISTEN.
      PgConn second(conf.database_url);
      if (auto why = session_pooling_problem(db, second); !why.empty()) throw UsageError("database: " + why);
    }
    return run_daemon(conf, vm.count("once") > 0);
  } catch (const UsageError& e) {
    std::cerr << "sitemaild: " << e.what() << "\n";
    return kExitUsage;
  } catch (const PgError& e) {
    std::cerr << "sitemaild: database: " << e.what() << "\n";
    return kExitUsage;
  }
}
