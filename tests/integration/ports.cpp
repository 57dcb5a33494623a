// ports.cpp — ports for test peers that no other process can take, and a readiness check
// that no other process can fool (see ports.hpp).
//
// Why not "bind port 0, close, hand the number on": the kernel gives that number to the next
// process that connects anywhere (every outgoing connection takes an ephemeral port), and to
// the next test process that asks for port 0, so a peer started on it a moment later can find
// it taken, and a probe that merely connects can reach the other process.
//
// Instead, free_port() hands out ports *outside* the kernel's ephemeral range
// (/proc/sys/net/ipv4/ip_local_port_range), which the kernel never picks by itself, and
// reserves each one for every test process on the host for as long as this process lives, by
// binding the abstract Unix socket "\0sitemail-test-port-N" (abstract names vanish with the
// process: nothing to clean up, not even after a crash or SIGKILL). A port some unrelated
// program already holds is skipped (a plain bind without SO_REUSEADDR fails while anything,
// even a TIME_WAIT connection, uses it).
#include "ports.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace sitemail::test {

namespace {

struct Range {
  int lo, hi;  // inclusive
};

Range ephemeral_range() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  Range r{32768, 60999};
  if (!(in >> r.lo >> r.hi)) r = {32768, 60999};
  return r;
}

// The ports we hand out: the widest stretch of [10000, 65535] outside the ephemeral range.
Range candidate_range() {
  const Range e = ephemeral_range();
  const Range below{10000, e.lo - 1}, above{e.hi + 1, 65535};
  const int nb = below.hi - below.lo + 1, na = above.hi - above.lo + 1;
  if (nb < 1000 && na < 1000) return {10000, 65535};  // odd host: fall back on the reservation alone
  return nb >= na ? below : above;
}

// Holds "\0sitemail-test-port-N" for this process; -1 when another process holds it.
int reserve(int port) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  const std::string name = "sitemail-test-port-" + std::to_string(port);
  std::memcpy(a.sun_path + 1, name.data(), name.size());  // sun_path[0] = '\0': abstract namespace
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Nothing on the host uses the port (a bind without SO_REUSEADDR fails on any use, TIME_WAIT included).
bool unused(int port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  const bool ok = bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(s);
  return ok;
}

// Inodes of the TCP sockets listening on `port` (any address, IPv4 and IPv6).
std::set<unsigned long> listening_inodes(int port) {
  std::set<unsigned long> out;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      std::istringstream f(line);
      std::string sl, local, remote, st, queues, timer, retr, uid, timeout;
      unsigned long inode = 0;
      if (!(f >> sl >> local >> remote >> st >> queues >> timer >> retr >> uid >> timeout >> inode)) continue;
      if (st != "0A") continue;  // TCP_LISTEN
      const auto colon = local.rfind(':');
      if (colon == std::string::npos || std::stoi(local.substr(colon + 1), nullptr, 16) != port) continue;
      out.insert(inode);
    }
  }
  return out;
}

// Process group of `pid` (field 5 of /proc/PID/stat), -1 when it is gone.
long pgrp_of(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return -1;
  const auto close_paren = stat.rfind(')');  // the command name may hold spaces and parentheses
  if (close_paren == std::string::npos) return -1;
  std::istringstream f(stat.substr(close_paren + 1));
  std::string state;
  long ppid = 0, pgrp = -1;
  f >> state >> ppid >> pgrp;
  return pgrp;
}

bool holds_socket(const std::string& pid, const std::set<unsigned long>& inodes) {
  const std::string fd_dir = "/proc/" + pid + "/fd";
  DIR* d = opendir(fd_dir.c_str());
  if (!d) return false;
  bool found = false;
  while (dirent* e = readdir(d)) {
    char target[64];
    const std::string link = fd_dir + "/" + e->d_name;
    const ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
    if (n <= 0) continue;
    target[n] = '\0';
    unsigned long inode = 0;
    if (std::sscanf(target, "socket:[%lu]", &inode) == 1 && inodes.count(inode)) {
      found = true;
      break;
    }
  }
  closedir(d);
  return found;
}

}  // namespace

int free_port() {
  static std::mutex mutex;
  static std::vector<int> held;  // reservations, kept open until the process ends
  static const Range range = candidate_range();
  static std::uint32_t next = [] {
    std::random_device rd;
    return rd() ^ static_cast<std::uint32_t>(getpid()) * 2654435761u;
  }();
  std::lock_guard lock(mutex);
  const int size = range.hi - range.lo + 1;
  for (int tries = 0; tries < size; ++tries) {
    const int port = range.lo + static_cast<int>(next++ % static_cast<std::uint32_t>(size));
    const int fd = reserve(port);
    if (fd < 0) continue;  // another test process has it
    if (!unused(port)) {   // some other program uses it
      close(fd);
      continue;
    }
    held.push_back(fd);
    return port;
  }
  throw std::runtime_error("free_port: no free port in " + std::to_string(range.lo) + "-" + std::to_string(range.hi));
}

bool pid_listens_on(int pid, int port) {
  const auto inodes = listening_inodes(port);
  return !inodes.empty() && holds_socket(std::to_string(pid), inodes);
}

bool group_listens_on(int pgid, int port) {
  const auto inodes = listening_inodes(port);
  if (inodes.empty()) return false;
  DIR* proc = opendir("/proc");
  if (!proc) return false;
  bool found = false;
  while (dirent* e = readdir(proc)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    if (pgrp_of(e->d_name) != pgid) continue;
    if (holds_socket(e->d_name, inodes)) {
      found = true;
      break;
    }
  }
  closedir(proc);
  return found;
}

}  // namespace sitemail::test
