// peers.cpp — see peers.hpp.
#include "peers.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "codec.hpp"
#include "support.hpp"

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

}  // namespace sitemail::test
