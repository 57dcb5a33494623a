// hostile_peers.hpp — our own hostile relay and proxy (peers/hostile_relay.py,
// peers/hostile_proxy.py) as test peers, and the memory high-water mark of a process
// (/proc/PID/status VmHWM) for the "memory stayed bounded" assertions of issue 9.
#pragma once
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "peers.hpp"
#include "support.hpp"

namespace sitemail::test {

// A relay that attacks: mode ntlm-evil | huge-ehlo | endless-line | drip | silent.
class HostileRelay : public Peer {
 public:
  explicit HostileRelay(const std::string& mode, const std::string& args = "", int port = free_port())
      : Peer("hostile_relay_" + mode,
             "/usr/bin/python3 " + std::string(SITEMAIL_SOURCE_DIR) + "/tests/integration/peers/hostile_relay.py --port " +
                 std::to_string(port) + " --mode " + mode + " --log relay.log " + args,
             port) {}
  [[nodiscard]] std::string served() const { return slurp(dir() + "/relay.log"); }
};

// A proxy that attacks during its handshake (modes in hostile_proxy.py).
class HostileProxy : public Peer {
 public:
  explicit HostileProxy(const std::string& mode, const std::string& args = "", int port = free_port())
      : Peer("hostile_proxy_" + mode,
             "/usr/bin/python3 " + std::string(SITEMAIL_SOURCE_DIR) + "/tests/integration/peers/hostile_proxy.py --port " +
                 std::to_string(port) + " --mode " + mode + " --log proxy.log " + args,
             port) {}
  [[nodiscard]] std::string served() const { return slurp(dir() + "/proxy.log"); }
};

// Peak resident memory of a process in KiB (VmHWM); -1 when it cannot be read.
inline long peak_rss_kib(long pid = -1) {
  std::ifstream in(pid < 0 ? std::string("/proc/self/status") : "/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with("VmHWM:")) return std::stol(line.substr(6));
  return -1;
}

// Peak resident memory of the largest child process waited for so far, in KiB.
inline long children_peak_rss_kib() {
  rusage u{};
  getrusage(RUSAGE_CHILDREN, &u);
  return u.ru_maxrss;
}

// The memory bound every hostile-input test asserts (generous for ASan/UBSan builds; the
// findings grew the process to ~600 MB).
constexpr long kRssBoundKib = 200 * 1024;

}  // namespace sitemail::test
