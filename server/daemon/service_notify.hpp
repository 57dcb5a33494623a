// service_notify.hpp — sitemaild's side of systemd's Type=notify protocol (sd_notify via
// libsystemd): READY=1 once the first configuration is loaded (which implies the database
// is connected), RELOADING=1 / READY=1 around later loads, STOPPING=1 on shutdown,
// WATCHDOG=1 from an io-thread timer when the service manager set WatchdogSec=, and STATUS=
// lines an admin sees in `systemctl status`. Without $NOTIFY_SOCKET every call is a no-op,
// so the daemon behaves the same outside systemd.
#pragma once
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>

#include "asio.hpp"
#include "metrics.hpp"

namespace sitemail {

class ServiceNotifier {
 public:
  ServiceNotifier(asio::io_context& io, const Metrics& metrics);

  // From any thread (the database thread calls these around configuration loads).
  void config_loading();
  void config_loaded(std::size_t sites, int invalid, const std::string& error);
  void stopping();
  void status(const std::string& text);

  // io thread: WATCHDOG=1 every half of $WATCHDOG_USEC, and a STATUS= update when the
  // database goes away or comes back. Returns the watchdog interval (0 = no watchdog).
  std::chrono::microseconds start();
  void cancel();

 private:
  void tick();
  void send(const std::string& state);

  asio::steady_timer timer_;
  const Metrics& metrics_;
  std::chrono::microseconds watchdog_{0};
  std::chrono::milliseconds period_{0};
  std::atomic<bool> ready_{false}, stopping_{false};
  bool db_up_seen_ = true;
  std::string last_loaded_;  // the STATUS= text of the last load, repeated when the DB recovers
  std::mutex mu_;
};

// Core dumps would write secrets (SMTP passwords, tokens) to disk: the daemon makes itself
// non-dumpable (prctl PR_SET_DUMPABLE 0) and sets RLIMIT_CORE to 0. Returns false when the
// process could not be made non-dumpable (skipped under AddressSanitizer, whose leak checker
// must ptrace the process at exit).
bool disable_core_dumps();

}  // namespace sitemail
