// submission_fixture.hpp — the submission door under test: a real sitemaild with [submission]
// listeners (STARTTLS and implicit TLS with certificates made at test time), and the clients
// that talk to it: Python's smtplib and raw bytes (peers/submit_client.py), swaks, msmtp.
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <filesystem>

#include "codec.hpp"
#include "daemon_fixture.hpp"

namespace sitemail::test {

inline std::string submit_client() {
  return std::string("/usr/bin/python3 ") + SITEMAIL_SOURCE_DIR + "/tests/integration/peers/submit_client.py";
}

struct Door {
  Env env;
  TempDir tmp;
  int port = free_port();
  int tls_port = free_port();
  std::unique_ptr<Daemon> daemon;
  explicit Door(const std::string& name, const std::string& extra = "") : env(name), tmp("door_" + name) {
    const auto certs = certs_dir();
    daemon = std::make_unique<Daemon>(env.db, env.cfg.path(),
                                      "[submission]\nlisten = 127.0.0.1:" + std::to_string(port) +
                                          "\ntls_listen = 127.0.0.1:" + std::to_string(tls_port) + "\ntls_cert = " + certs +
                                          "/relay.pem\ntls_key = " + certs + "/relay.key\n" + extra,
                                      name);
  }
  [[nodiscard]] std::string ca() const { return certs_dir() + "/ca.pem"; }
  // sitemailctl with `stdin_text` on its standard input.
  RunResult ctl(const std::string& args, const std::string& stdin_text = "") const {
    tmp.write("stdin", stdin_text);
    return run(test::ctl() + " --database " + env.db.quoted() + " " + args + " < " + tmp.path() + "/stdin");
  }
  // How many times the daemon has (re)read a changed account/network directory.
  [[nodiscard]] std::size_t directory_loads() const {
    std::size_t n = 0;
    const auto log = daemon->log();
    for (auto p = log.find("event=submission_directory"); p != std::string::npos;
         p = log.find("event=submission_directory", p + 1))
      ++n;
    return n;
  }
  // sitemailctl that changes accounts or networks, then waits until the daemon has the change.
  RunResult change(const std::string& args, const std::string& stdin_text = "") const {
    auto before = directory_loads();
    auto r = ctl(args, stdin_text);
    if (r.code == 0) Daemon::wait_for([&] { return directory_loads() > before; }, 10, "the daemon to read: " + args);
    return r;
  }
  // SIGHUP, then wait for the reload it causes (a second config_loaded): a site file written
  // after the start is read.
  void reload() const {
    daemon->hup();
    Daemon::wait_for(
        [&] {
          const auto log = daemon->log();
          return log.find("event=config_loaded") != log.rfind("event=config_loaded");
        },
        20, "the reload after the site file");
  }
  void add_user(const std::string& user, const std::string& pw, const std::string& opts) const {
    auto r = change("submission add " + user + " " + opts, pw + "\n");
    BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  }
  // smtplib: "SENT 250 2.0.0 Ok: queued as ID" or "REFUSED step code text".
  RunResult send(const std::string& args, const std::string& data = "Subject: test\r\n\r\nhello\r\n") const {
    tmp.write("data.eml", data);
    return run(submit_client() + " send --port " + std::to_string(port) + " --ca " + ca() + " --data-file " + tmp.path() +
               "/data.eml " + args);
  }
  RunResult send_tls(const std::string& args, const std::string& data = "Subject: test\r\n\r\nhello\r\n") const {
    tmp.write("data.eml", data);
    return run(submit_client() + " send --tls implicit --port " + std::to_string(tls_port) + " --ca " + ca() + " --data-file " +
               tmp.path() + "/data.eml " + args);
  }
  // Raw bytes after the greeting; everything the server said.
  [[nodiscard]] std::string raw(const std::string& script, const std::string& opts = "") const {
    tmp.write("script", script);
    return run(submit_client() + " raw --port " + std::to_string(port) + " --ca " + ca() + " --script " + tmp.path() +
               "/script " + opts)
        .out;
  }
  [[nodiscard]] long long rows(const std::string& where = "true") {
    return count(env.db, "submitted_by IS NOT NULL AND " + where);
  }
};

// The row id named by "250 2.0.0 Ok: queued as ID", or -1.
inline long long queued_id(const std::string& out) {
  auto p = out.find("queued as ");
  return p == std::string::npos ? -1 : std::stoll(out.substr(p + 10));
}

inline std::string plain_auth(const std::string& u, const std::string& p) {
  return codec::base64(std::string(1, '\0') + u + std::string(1, '\0') + p);
}

// The certificates certs_dir() made for this test process are removed when it ends, also
// after a failed test case (peers.cpp makes them once per process and leaves them).
struct RemoveTestCerts {
  ~RemoveTestCerts() {
    std::error_code ec;
    std::filesystem::remove_all(std::filesystem::temp_directory_path() / ("sitemail_certs_" + std::to_string(getpid())), ec);
  }
};

}  // namespace sitemail::test

using SitemailRemoveTestCerts = sitemail::test::RemoveTestCerts;
BOOST_TEST_GLOBAL_FIXTURE(SitemailRemoveTestCerts);
