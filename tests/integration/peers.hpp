// peers.hpp — real protocol peers for integration tests, started on 127.0.0.1 and stopped
// when the object goes away: aiosmtpd relays (peers/smtp_server.py), Postfix smtp-sink,
// microsocks, dante, tinyproxy, the STARTTLS-injection server; certificates made at test
// time; and the messages a relay received.
#pragma once
#include <string>
#include <vector>

#include "ports.hpp"  // free_port(): a port that is yours to start a peer on

namespace sitemail::test {

[[nodiscard]] std::string certs_dir();  // made once per test binary by make_certs.sh, removed at exit

class Peer {
 public:
  // Runs `command` (a shell command line, exec'd, in a process group of its own) and waits
  // until a process of that group listens on `port` (another process on the port does not
  // count). When it does not, the group is killed, its directory removed, and this throws.
  Peer(const std::string& name, const std::string& command, int port);
  ~Peer();
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::string log() const;  // what the peer wrote to stdout/stderr
  [[nodiscard]] const std::string& dir() const { return dir_; }

 private:
  void stop() noexcept;
  int pid_ = -1, port_;
  std::string dir_;
};

struct Received {
  std::string mail_from;
  std::vector<std::string> rcpt_tos;
  std::vector<std::string> mail_options;  // MAIL FROM parameters (SIZE=, BODY=8BITMIME, ...)
  std::string data;                       // exact bytes the relay received (after dot-unstuffing)
  std::string auth;                       // AUTH mechanism, empty when none
  bool tls = false;
  std::string client_subject;
  std::string session;
};

// An aiosmtpd relay; `args` are extra smtp_server.py options.
class PyRelay : public Peer {
 public:
  explicit PyRelay(const std::string& args, int port = free_port());
  [[nodiscard]] std::vector<Received> received() const;
  [[nodiscard]] std::string auth_log() const;
  [[nodiscard]] std::string session_log() const;  // "CONNECT" / "QUIT tls=..." lines
};

// smtp-sink with fault flags, e.g. "-f rcpt"; -d writes one file per message (dir()/msg-*).
class SmtpSink : public Peer {
 public:
  explicit SmtpSink(const std::string& flags = "", int port = free_port());
  [[nodiscard]] int messages() const;  // files dumped with -d
};

}  // namespace sitemail::test
