// daemon_fixture.hpp — running the real sitemaild as a child process against a test
// database and config dir: start, SIGTERM/SIGKILL/SIGHUP, wait for rows, scrape metrics.
#pragma once
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <functional>
#include <set>
#include <thread>

#include "peers.hpp"
#include "support.hpp"

namespace sitemail::test {

class Daemon {
 public:
  // extra_conf: more INI lines (sections included). Starts at once; waits until loaded.
  Daemon(const TestDb& db, const std::string& config_dir, const std::string& extra_conf = "", const std::string& tag = "d")
      : dir_("daemon_" + tag), metrics_port_(free_port()) {
    dir_.write("sitemaild.conf", "[database]\nurl = " + db.conninfo() + "\n[sites]\nconfig_dir = " + config_dir +
                                     "\n[metrics]\nlisten = 127.0.0.1:" + std::to_string(metrics_port_) +
                                     "\n[retry]\ninitial = 1\nmax = 2\n" + extra_conf);
    start();
  }
  ~Daemon() { kill_now(); }
  void start() {
    log_ = dir_.path() + "/daemon.log";
    const std::string cmd = daemon() + " --config " + dir_.path() + "/sitemaild.conf";
    pid_ = fork();
    if (pid_ == 0) {
      int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      dup2(fd, 2);
      dup2(fd, 1);
      execl("/bin/sh", "sh", "-c", ("exec env -u SITEMAIL_DATABASE -u SITEMAIL_CONFIG_DIR " + cmd).c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    wait_for([&] { return log().find("event=config_loaded") != std::string::npos; }, 20, "daemon start");
    // metrics()/healthz() talk to this port: make sure it is this daemon listening there.
    wait_for([&] { return pid_listens_on(pid_, metrics_port_); }, 10, "the daemon's metrics listener");
  }
  int signal_and_wait(int sig, int seconds = 30) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    int status = 0;
    for (int i = 0; i < seconds * 20; ++i) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -2;
  }
  void kill_now() {
    if (pid_ > 0) signal_and_wait(SIGKILL, 5);
  }
  void hup() { ::kill(pid_, SIGHUP); }
  [[nodiscard]] std::string log() const { return slurp(log_); }
  [[nodiscard]] int pid() const { return pid_; }
  [[nodiscard]] int metrics_port() const { return metrics_port_; }
  [[nodiscard]] std::string metrics() const {
    return run("/usr/bin/python3 -c \"import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:" +
               std::to_string(metrics_port_) + "/metrics').read().decode())\"")
        .out;
  }
  [[nodiscard]] std::string healthz() const {
    return run("/usr/bin/python3 -c \"import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:" +
               std::to_string(metrics_port_) + "/healthz').read().decode())\"")
        .out;
  }
  static void wait_for(const std::function<bool()>& cond, int seconds, const std::string& what) {
    for (int i = 0; i < seconds * 20; ++i) {
      if (cond()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("timed out waiting for " + what);
  }

 private:
  TempDir dir_;
  int metrics_port_;
  int pid_ = -1;
  std::string log_;
};

inline long long count(TestDb& db, const std::string& where) {
  return db.conn().exec("SELECT count(*) FROM outbox WHERE " + where).get_int(0, 0);
}

inline void enqueue(TestDb& db, const std::string& site, int n, const std::string& to = "rcpt@dest.example") {
  db.conn().exec("INSERT INTO outbox (nvtgc, to_addrs, subject, body_text) SELECT $1, $2, 'msg ' || g, 'body ' || g "
                 "FROM generate_series(1, $3::int) g",
                 {site, to, std::to_string(n)});
}

// A test database with the schema and ILL's base keys, and a config dir for site files.
struct Env {
  TestDb db;
  TempDir cfg;
  explicit Env(const std::string& name) : db(name), cfg("cfg_" + name) {
    auto r = run(ctl() + " db migrate --database " + db.quoted());
    BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
    db.conn().exec("INSERT INTO customization (custkey, value, nvtgc) VALUES ('EMailSMTPServer','127.0.0.1','ILL'),"
                   "('EMailFromAddress','ill@lib.example','ILL'),('Helo','client.example','ILL'),('Timeout','5','ILL')");
  }
  void site(const std::string& code, const std::string& xml) const {
    cfg.write(code + ".config", "<MailSettings>" + xml + "</MailSettings>");
  }
  RunResult ctl_cmd(const std::string& args) const {
    return run(ctl() + " --database " + db.quoted() + " --config-dir " + cfg.path() + " " + args);
  }
  RunResult once(const std::string& extra_conf = "") const {  // extra_conf: more INI lines, sections included
    cfg.write("once.conf", "[retry]\ninitial = 1\nmax = 2\n[metrics]\nlisten =\n" + extra_conf);
    return run(daemon() + " --once --database " + db.quoted() + " --config-dir " + cfg.path() + " --config " + cfg.path() +
               "/once.conf");
  }
};

inline std::string port(int p, const std::string& suffix = "") {
  return "<EMailSMTPPort>" + std::to_string(p) + suffix + "</EMailSMTPPort>";
}

inline std::multiset<std::string> message_ids(const std::vector<Received>& got) {
  std::multiset<std::string> ids;
  for (const auto& r : got) {
    auto p = r.data.find("Message-ID: <");
    if (p != std::string::npos) ids.insert(r.data.substr(p + 13, r.data.find('>', p) - p - 13));
  }
  return ids;
}

}  // namespace sitemail::test
