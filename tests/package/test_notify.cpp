// test_notify.cpp — sitemaild speaks systemd's Type=notify protocol: the test plays the
// service manager (a NOTIFY_SOCKET unix datagram socket, WATCHDOG_USEC) against the real
// daemon and a real PostgreSQL, and asserts READY=1 after the configuration loaded,
// WATCHDOG=1 pings, RELOADING=1/READY=1 around a SIGHUP reload, STOPPING=1 on SIGTERM, and
// STATUS= lines. An env: secret resolved from $CREDENTIALS_DIRECTORY (LoadCredential=)
// keeps its site valid, in the daemon and in `sitemailctl check`.
#define BOOST_TEST_MODULE sitemail_integration_notify
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstring>

#include "support.hpp"

using namespace sitemail::test;

namespace {

// The service manager's end: an abstract unix datagram socket (no path length limits).
class NotifyListener {
 public:
  NotifyListener() {
    name_ = "@sitemail-test-notify-" + std::to_string(getpid());
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    BOOST_REQUIRE(fd_ >= 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path + 1, name_.data() + 1, name_.size() - 1);  // leading NUL: abstract
    auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name_.size());
    BOOST_REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&a), len) == 0);
  }
  ~NotifyListener() { close(fd_); }
  [[nodiscard]] const std::string& name() const { return name_; }
  // Every message until one contains `want` (returned last); throws after `seconds`.
  std::vector<std::string> until(const std::string& want, int seconds = 90) {
    std::vector<std::string> got;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 500) <= 0) continue;
      char buf[4096];
      auto n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) continue;
      got.emplace_back(buf, static_cast<std::size_t>(n));
      all_.push_back(got.back());
      if (got.back().find(want) != std::string::npos) return got;
    }
    std::string seen;
    for (const auto& m : all_) seen += "[" + m + "] ";
    throw std::runtime_error("no notification with '" + want + "' within " + std::to_string(seconds) + " s; got: " + seen);
  }

 private:
  int fd_ = -1;
  std::string name_;
  std::vector<std::string> all_;
};

struct Env {
  TestDb db{"notify"};
  TempDir cfg{"notify_cfg"};
  TempDir creds{"notify_creds"};
  Env() {
    auto r = run(ctl() + " db migrate --database " + db.quoted());
    BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
    db.conn().exec("INSERT INTO customization (custkey, value, nvtgc) VALUES ('EMailSMTPServer','127.0.0.1','ILL'),"
                   "('EMailFromAddress','ill@lib.example','ILL')");
    cfg.write("ACME.config", "<MailSettings><User>acme</User><Password>env:SITEMAIL_T_ACME_PW</Password></MailSettings>");
    creds.write("SITEMAIL_T_ACME_PW", "pw-from-credential\n");
    cfg.write("sitemaild.conf", "[database]\nurl = " + db.conninfo() + "\n[sites]\nconfig_dir = " + cfg.path() +
                                    "\n[metrics]\nlisten =\n[delivery]\npoll_interval = 1\n");
  }
};

bool has(const std::vector<std::string>& msgs, const std::string& part) {
  for (const auto& m : msgs)
    if (m.find(part) != std::string::npos) return true;
  return false;
}

pid_t start_daemon(const Env& e, const std::string& notify, const std::string& log) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    unsetenv("SITEMAIL_DATABASE");
    unsetenv("SITEMAIL_CONFIG_DIR");
    unsetenv("SITEMAIL_T_ACME_PW");
    setenv("NOTIFY_SOCKET", notify.c_str(), 1);
    setenv("WATCHDOG_USEC", "400000", 1);  // pings every 200 ms
    setenv("CREDENTIALS_DIRECTORY", e.creds.path().c_str(), 1);
    execl(daemon().c_str(), "sitemaild", "--config", (e.cfg.path() + "/sitemaild.conf").c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

int wait_exit(pid_t pid, int seconds) {
  int status = 0;
  for (int i = 0; i < seconds * 20; ++i) {
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    usleep(50000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

}  // namespace

BOOST_AUTO_TEST_CASE(ready_watchdog_reload_and_stopping_reach_the_service_manager) {
  Env e;
  NotifyListener sm;
  const std::string log = e.cfg.path() + "/daemon.log";
  pid_t pid = start_daemon(e, sm.name(), log);
  try {
    auto boot = sm.until("READY=1");
    BOOST_TEST(has(boot, "STATUS=connecting to the database"));
    // READY=1 comes with the result of the first load: 2 sites (ILL, ACME), none held,
    // so ACME's env: password was found in $CREDENTIALS_DIRECTORY.
    BOOST_TEST(boot.back().find("STATUS=2 sites loaded (0 invalid, held); delivering") != std::string::npos, boot.back());
    BOOST_TEST(slurp(log).find("event=config_loaded") != std::string::npos);
    auto pings = sm.until("WATCHDOG=1");
    BOOST_TEST(pings.back() == "WATCHDOG=1");
    sm.until("WATCHDOG=1");  // and it keeps pinging

    kill(pid, SIGHUP);
    auto reload = sm.until("RELOADING=1");
    BOOST_TEST(reload.back().find("MONOTONIC_USEC=") != std::string::npos);
    auto reloaded = sm.until("READY=1");
    BOOST_TEST(reloaded.back().find("STATUS=2 sites loaded") != std::string::npos, reloaded.back());

    kill(pid, SIGTERM);
    auto stop = sm.until("STOPPING=1");
    BOOST_TEST(stop.back().find("STATUS=stopping") != std::string::npos);
  } catch (...) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    BOOST_TEST_MESSAGE("daemon log:\n" << slurp(log));
    throw;
  }
  BOOST_TEST(wait_exit(pid, 60) == 0, slurp(log));
}

BOOST_AUTO_TEST_CASE(env_secret_from_credentials_directory_in_check) {
  Env e;
  const std::string base =
      "env -u SITEMAIL_T_ACME_PW " + ctl() + " check --site ACME --database " + e.db.quoted() + " --config-dir " + e.cfg.path();
  auto with = run("CREDENTIALS_DIRECTORY=" + shell_quote(e.creds.path()) + " " + base);
  BOOST_TEST(with.code == 0, with.out + with.err);
  auto without = run("env -u CREDENTIALS_DIRECTORY " + base);
  BOOST_TEST(without.code == 1);
  BOOST_TEST(without.out.find("environment variable SITEMAIL_T_ACME_PW is not set") != std::string::npos, without.out);
}
