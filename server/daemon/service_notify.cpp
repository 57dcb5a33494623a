// service_notify.cpp — see service_notify.hpp.
#include "service_notify.hpp"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstdlib>

#include "log.hpp"

namespace sitemail {

namespace {

bool notify_socket_set() {
  const char* s = std::getenv("NOTIFY_SOCKET");
  return s && *s;
}

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

}  // namespace

ServiceNotifier::ServiceNotifier(asio::io_context& io, const Metrics& metrics) : timer_(io), metrics_(metrics) {}

void ServiceNotifier::send(const std::string& state) {
  if (!notify_socket_set()) return;
  int r = sd_notify(0, state.c_str());
  if (r < 0) log::warn("sd_notify", {{"problem", "cannot reach the service manager"}, {"errno", std::to_string(-r)}});
}

void ServiceNotifier::status(const std::string& text) { send("STATUS=" + one_line(text)); }

void ServiceNotifier::config_loading() {
  if (!ready_ || stopping_) return;  // the first load is part of starting up
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  long long usec = static_cast<long long>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec) + "\nSTATUS=reloading configuration");
}

void ServiceNotifier::config_loaded(std::size_t sites, int invalid, const std::string& error) {
  std::string text;
  if (error.empty()) text = std::to_string(sites) + " sites loaded (" + std::to_string(invalid) + " invalid, held); delivering";
  else if (ready_) text = "reload failed: " + one_line(error) + "; the previous configuration stays in use";
  else text = "configuration not loaded: " + one_line(error) + "; nothing is delivered until a reload succeeds";
  {
    std::lock_guard lock(mu_);
    last_loaded_ = text;
  }
  if (stopping_) return;
  ready_ = true;
  send("READY=1\nSTATUS=" + text);
}

void ServiceNotifier::stopping() {
  stopping_ = true;
  send("STOPPING=1\nSTATUS=stopping: finishing or releasing in-flight mail");
}

std::chrono::microseconds ServiceNotifier::start() {
  if (!notify_socket_set()) return watchdog_;
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    watchdog_ = std::chrono::microseconds(usec);
    period_ = std::max(std::chrono::milliseconds(1), std::chrono::duration_cast<std::chrono::milliseconds>(watchdog_ / 2));
    log::info("watchdog", {{"interval_ms", std::to_string(period_.count())}});
  } else {
    period_ = std::chrono::milliseconds(5000);  // only the database status
  }
  send("STATUS=connecting to the database, loading the configuration");
  tick();
  return watchdog_;
}

void ServiceNotifier::cancel() { timer_.cancel(); }

void ServiceNotifier::tick() {
  // The watchdog is fed from the io thread, so a wedged event loop (deliveries, signals,
  // metrics) stops the pings and systemd restarts the daemon.
  if (watchdog_.count() > 0) send("WATCHDOG=1");
  bool up = metrics_.db_up();
  if (ready_ && !stopping_ && up != db_up_seen_) {
    std::string last;
    {
      std::lock_guard lock(mu_);
      last = last_loaded_;
    }
    status(up ? last : "database unreachable; reconnecting (outcomes are kept in memory)");
  }
  db_up_seen_ = up;
  timer_.expires_after(period_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) tick();
  });
}

bool disable_core_dumps() {
  rlimit none{0, 0};
  setrlimit(RLIMIT_CORE, &none);
#if defined(__SANITIZE_ADDRESS__)
  return false;  // LeakSanitizer attaches to the process with ptrace at exit
#else
  return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0;
#endif
}

}  // namespace sitemail
