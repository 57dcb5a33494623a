// peers.cpp — see peers.hpp.
#include "peers.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <thread>

#include "codec.hpp"
#include "support.hpp"
#include "text_util.hpp"

namespace sitemail::test {

namespace fs = std::filesystem;

std::string certs_dir() {
  static const std::string dir = [] {
    std::string d = test_tmp_path("certs");
    auto r = run(std::string(SITEMAIL_SOURCE_DIR) + "/tests/integration/make_certs.sh " + d);
    if (r.code != 0) throw std::runtime_error("make_certs.sh failed: " + r.err);
    return d;
  }();
  return dir;
}

Peer::Peer(const std::string& name, const std::string& command, int port) : port_(port) {
  dir_ = test_tmp_path("peer_" + name + "_" + std::to_string(port));
  fs::remove_all(dir_);
  fs::create_directories(dir_);
  fs::permissions(dir_, fs::perms::all);
  const std::string cmd = "cd " + dir_ + " && exec " + command + " >" + dir_ + "/peer.log 2>&1";
  pid_ = fork();
  if (pid_ == 0) {
    setpgid(0, 0);
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  if (pid_ < 0) throw std::runtime_error("peer " + name + ": fork failed");
  setpgid(pid_, pid_);  // also from here, so the group exists before the first check
  std::string why;
  for (int i = 0; i < 400; ++i) {
    if (group_listens_on(pid_, port_)) return;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      why = "peer " + name + " exited at start: " + log();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  if (why.empty()) why = "peer " + name + " did not listen on port " + std::to_string(port_) + ": " + log();
  stop();  // the destructor does not run for a constructor that throws
  throw std::runtime_error(why);
}

Peer::~Peer() { stop(); }

void Peer::stop() noexcept {
  if (pid_ > 0) {
    kill(-pid_, SIGTERM);
    kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100 && waitpid(pid_, &status, WNOHANG) == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    kill(-pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string Peer::log() const { return slurp(dir_ + "/peer.log"); }

PyRelay::PyRelay(const std::string& args, int port)
    : Peer("aiosmtpd",
           "/usr/bin/python3 " + std::string(SITEMAIL_SOURCE_DIR) + "/tests/integration/peers/smtp_server.py --port " +
               std::to_string(port) + " --out out " + args,
           port) {}

std::vector<Received> PyRelay::received() const {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir() + "/out"))
    if (e.path().extension() == ".json") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  std::vector<Received> out;
  for (const auto& f : files) {
    boost::property_tree::ptree t;
    boost::property_tree::read_json(f, t);
    Received r;
    r.mail_from = t.get<std::string>("mail_from");
    for (const auto& [k, v] : t.get_child("rcpt_tos")) r.rcpt_tos.push_back(v.data());
    if (auto opts = t.get_child_optional("mail_options"))
      for (const auto& [k, v] : *opts) r.mail_options.push_back(v.data());
    r.data = codec::unbase64(t.get<std::string>("data_b64")).value_or("");
    r.auth = t.get<std::string>("auth", "");
    if (r.auth == "null") r.auth.clear();
    r.tls = t.get<std::string>("tls") == "true";
    r.client_subject = t.get<std::string>("client_subject", "");
    if (r.client_subject == "null") r.client_subject.clear();
    r.session = t.get<std::string>("session");
    out.push_back(std::move(r));
  }
  return out;
}

std::string PyRelay::auth_log() const { return slurp(dir() + "/out/auth.log"); }
std::string PyRelay::session_log() const { return slurp(dir() + "/out/sessions.log"); }

SmtpSink::SmtpSink(const std::string& flags, int port)
    : Peer("smtp-sink",
           "/usr/sbin/smtp-sink " + std::string(getuid() == 0 ? "-u nobody " : "") + "-d msg- " + flags +
               " 127.0.0.1:" + std::to_string(port) + " 100",
           port) {}

int SmtpSink::messages() const {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir()))
    if (e.path().filename().string().starts_with("msg-")) ++n;
  return n;
}

namespace {

// True when something on 127.0.0.1:port answers with an SMTP greeting ("220 ..." as its last
// greeting line) within two seconds; says QUIT and hangs up.
bool smtp_greets(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    std::string got;
    char buf[512];
    for (;;) {
      const auto n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
      const auto end = got.rfind("\r\n");
      if (end == std::string::npos) continue;
      const auto start = got.rfind("\r\n", end == 0 ? 0 : end - 1);
      const auto last = got.substr(start == std::string::npos || start == end ? 0 : start + 2);
      if (last.size() >= 4 && last[3] == '-') continue;  // more greeting lines follow
      ok = last.starts_with("220 ");
      break;
    }
    if (ok) (void)send(fd, "QUIT\r\n", 6, MSG_NOSIGNAL);
  }
  close(fd);
  return ok;
}

std::pair<uid_t, gid_t> user_ids(const char* name) {
  const passwd* pw = getpwnam(name);
  if (pw == nullptr) throw std::runtime_error(std::string("no user ") + name);
  return {pw->pw_uid, pw->pw_gid};
}

bool group_alive(int pgid) { return ::kill(-pgid, 0) == 0 || errno != ESRCH; }

}  // namespace

Postfix::Postfix(const std::string& name, const PostfixOptions& options, int port) : port_(port) {
  if (geteuid() != 0) throw std::runtime_error("a private Postfix instance needs root (postfix start)");
  dir_ = test_tmp_path("postfix_" + name + "_" + std::to_string(port));
  try {
    fs::remove_all(dir_);
    for (const char* sub : {"etc", "data", "queue", "mail"}) fs::create_directories(dir_ + "/" + sub);
    const auto [pf_uid, pf_gid] = user_ids("postfix");
    const auto [mail_uid, mail_gid] = user_ids("nobody");  // virtual(8) stores mail with these ids
    if (chown((dir_ + "/data").c_str(), pf_uid, pf_gid) != 0 || chown((dir_ + "/mail").c_str(), mail_uid, mail_gid) != 0)
      throw std::runtime_error("postfix " + name + ": chown failed");
    const std::string etc = config_dir();
    std::string main_cf = "compatibility_level = 3.6\nqueue_directory = " + dir_ + "/queue\ndata_directory = " + dir_ +
                          "/data\nmail_owner = postfix\nsetgid_group = postdrop\nmyhostname = pf" + std::to_string(port) +
                          ".test.example\nmydomain = test.example\nmydestination =\nalias_maps =\nalias_database =\n"
                          "inet_interfaces = loopback-only\ninet_protocols = ipv4\nmynetworks = 127.0.0.0/8\n"
                          "smtp_tls_security_level = none\nsmtpd_tls_security_level = none\nbiff = no\n"
                          "delay_warning_time = 0\nmaillog_file = " +
                          dir_ + "/maillog\nmaillog_file_prefixes = " + dir_ + "\n";
    if (!options.mailboxes.empty()) {
      std::set<std::string> domains;
      std::string map;
      for (const auto& a : options.mailboxes) {
        domains.insert(a.substr(a.find('@') + 1));
        map += a + " " + a + "/\n";  // a trailing slash: Maildir
      }
      std::string list;
      for (const auto& d : domains) list += (list.empty() ? "" : " ") + d;
      main_cf += "virtual_mailbox_domains = " + list + "\nvirtual_mailbox_base = " + dir_ +
                 "/mail\nvirtual_mailbox_maps = texthash:" + etc +
                 "/mailboxes\nvirtual_uid_maps = static:" + std::to_string(mail_uid) +
                 "\nvirtual_gid_maps = static:" + std::to_string(mail_gid) + "\n";
      std::ofstream(etc + "/mailboxes") << map;
    }
    // A setting the options give replaces the base line (Postfix would warn about the override).
    std::set<std::string> given;
    for (const auto& line : split(options.main_cf, '\n'))
      if (auto eq = line.find('='); eq != std::string::npos) given.insert(std::string(trim(line.substr(0, eq))));
    std::string merged;
    for (const auto& line : split(main_cf, '\n'))
      if (!line.empty() && !given.contains(std::string(trim(line.substr(0, line.find('=')))))) merged += line + "\n";
    std::ofstream(etc + "/main.cf") << merged << options.main_cf << "\n";
    for (const auto& [file, content] : options.files) std::ofstream(etc + "/" + file, std::ios::binary) << content;
    fs::copy_file(fs::exists("/etc/postfix/master.cf") ? "/etc/postfix/master.cf" : "/usr/share/postfix/master.cf.dist",
                  etc + "/master.cf");
    // The smtpd on our own port instead of port 25, and no service in a chroot jail (the
    // queue directory is not set up as one: no copies of /etc files, no SASL plugins).
    const std::string pc = "/usr/sbin/postconf -c " + etc;
    const std::string inet = "127.0.0.1:" + std::to_string(port);
    auto r = run(pc + " -M# smtp/inet && " + pc + " -Me '" + inet + "/inet = " + inet + " inet n - n - - smtpd' && " + pc +
                 " -Fe '*/*/chroot = n'");
    if (r.code != 0) throw std::runtime_error("postfix " + name + ": postconf: " + r.err);
    start();
  } catch (...) {
    stop_processes();  // the destructor does not run for a constructor that throws
    std::error_code ec;
    fs::remove_all(dir_, ec);
    throw;
  }
}

Postfix::~Postfix() {
  stop_processes();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void Postfix::start() {
  auto r = run("/usr/sbin/postfix -c " + config_dir() + " start");
  if (r.code != 0) throw std::runtime_error("postfix " + dir_ + " did not start: " + r.out + r.err + log());
  master_ = std::stoi(slurp(dir_ + "/queue/pid/master.pid"));
  for (int i = 0; i < 400; ++i) {
    // Its own master holds the port (not another program's listener), and smtpd answers.
    if (pid_listens_on(master_, port_) && smtp_greets(port_)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("postfix " + dir_ + ": no smtpd greeting on port " + std::to_string(port_) + ": " + log());
}

void Postfix::stop_processes() noexcept {
  try {
    if (fs::exists(config_dir() + "/main.cf")) (void)run("/usr/sbin/postfix -c " + config_dir() + " stop");
    if (master_ > 0) {
      // `postfix stop` waits for the master; its children leave a moment later.
      for (int i = 0; i < 200 && group_alive(master_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (group_alive(master_)) {
        ::kill(-master_, SIGKILL);
        for (int i = 0; i < 100 && group_alive(master_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      master_ = -1;
    }
  } catch (...) {
  }
}

void Postfix::restart() {
  stop_processes();
  start();
}

std::string Postfix::log() const { return slurp(dir_ + "/maillog"); }

void Postfix::write_and_restart(const std::string& name, const std::string& content) {
  std::ofstream(config_dir() + "/" + name, std::ios::binary) << content;
  restart();
}

void Postfix::flush() const { (void)run("/usr/sbin/postqueue -c " + config_dir() + " -f"); }

std::string Postfix::queue() const { return run("/usr/sbin/postqueue -c " + config_dir() + " -p").out; }

int Postfix::queued() const {
  int n = 0;
  for (const char* q : {"incoming", "active", "deferred", "hold", "maildrop"}) {
    std::error_code ec;
    for (fs::recursive_directory_iterator it(dir_ + "/queue/" + q, ec), end; !ec && it != end; it.increment(ec))
      if (it->is_regular_file()) ++n;
  }
  return n;
}

void Postfix::sendmail(const std::string& from, const std::vector<std::string>& to, const std::string& message) const {
  static int counter = 0;
  const std::string file = dir_ + "/sendmail-" + std::to_string(++counter) + ".eml";
  std::ofstream(file, std::ios::binary) << message;
  std::string cmd = "/usr/sbin/sendmail -C " + config_dir() + " -f " + shell_quote(from) + " --";
  for (const auto& t : to) cmd += " " + shell_quote(t);
  auto r = run(cmd + " < " + file);
  fs::remove(file);
  if (r.code != 0) throw std::runtime_error("sendmail: " + r.err);
}

std::vector<std::string> Postfix::mailbox_files(const std::string& address) const {
  std::vector<std::string> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir_ + "/mail/" + address + "/new", ec), end; !ec && it != end; it.increment(ec))
    files.push_back(it->path().string());
  std::sort(files.begin(), files.end());  // Maildir names begin with the delivery time
  return files;
}

}  // namespace sitemail::test
