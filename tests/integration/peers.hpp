// peers.hpp — real protocol peers for integration tests, started on 127.0.0.1 and stopped
// when the object goes away: aiosmtpd relays (peers/smtp_server.py), Postfix smtp-sink,
// a private Postfix instance, microsocks, dante, tinyproxy, the STARTTLS-injection server;
// certificates made at test time; and the messages a relay received.
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

// A private Postfix instance (needs root, as `postfix start` does): its own config, queue,
// data and mail directories under dir() (the test's temporary root), an smtpd on
// 127.0.0.1:port(), every service unchrooted, its log in dir()/maillog. The default
// instance's /etc/postfix is not touched (as root, `postfix -c DIR` and the tools' -c/-C
// need no alternate_config_directories entry). Ready when its own master listens on the port
// and its smtpd greets with 220; stopped (`postfix stop`, then SIGKILL for anything left in
// its process group) and its directory removed when the object goes away, also when a test
// fails. Another instance, a bench's or another test's, shares nothing with it.
struct PostfixOptions {
  std::string main_cf;                                     // more main.cf lines (they win over the base ones)
  std::vector<std::pair<std::string, std::string>> files;  // written into config_dir() before the start
  // Addresses whose mail Postfix stores itself: virtual(8) delivers each to the Maildir
  // dir()/mail/ADDRESS/ (one file per message); other addresses of their domains are refused.
  std::vector<std::string> mailboxes;
};

class Postfix {
 public:
  explicit Postfix(const std::string& name, const PostfixOptions& options = {}, int port = free_port());
  ~Postfix();
  Postfix(const Postfix&) = delete;
  Postfix& operator=(const Postfix&) = delete;
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] const std::string& dir() const { return dir_; }
  [[nodiscard]] std::string config_dir() const { return dir_ + "/etc"; }
  [[nodiscard]] std::string log() const;  // dir()/maillog
  // Writes config_dir()/NAME and restarts the instance (`postfix stop`, every process gone,
  // `postfix start`). Not `postfix reload`: after a reload, a process of the old generation
  // still holds the service's socket and can take the next delivery with the old tables
  // (texthash: maps are read when a process starts).
  void write_and_restart(const std::string& name, const std::string& content);
  void restart();
  void flush() const;                       // postqueue -f: deliver the deferred mail now
  [[nodiscard]] std::string queue() const;  // postqueue -p
  [[nodiscard]] int queued() const;         // messages in its queue (incoming, active, deferred, hold, maildrop)
  // Hands a message to Postfix as a local program does: sendmail -C DIR -f FROM TO...
  void sendmail(const std::string& from, const std::vector<std::string>& to, const std::string& message) const;
  // The messages stored for `address` (one of options.mailboxes), oldest first, as files.
  [[nodiscard]] std::vector<std::string> mailbox_files(const std::string& address) const;

 private:
  void start();                    // postfix start; waits for its smtpd's greeting
  void stop_processes() noexcept;  // postfix stop; waits until its process group is gone
  int port_;
  int master_ = -1;  // the master's pid, also its process group
  std::string dir_;
};

}  // namespace sitemail::test
