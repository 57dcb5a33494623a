// ports.hpp — TCP ports for test peers, safe while many test processes run at once
// (ctest -j, several checkouts on one host), and a readiness check tied to the peer itself.
#pragma once

namespace sitemail::test {

// A port that is yours to start a peer on (or to leave closed, for "connection refused"
// tests): outside the kernel's ephemeral range, so no outgoing connection can be given it,
// and reserved against every other test process on the host until this process exits.
// Never the same port twice in one process.
[[nodiscard]] int free_port();

// True when a process of process group `pgid` holds a TCP socket listening on `port`
// (/proc/net/tcp{,6} inode matched against /proc/PID/fd): another process listening on the
// same port does not count.
[[nodiscard]] bool group_listens_on(int pgid, int port);
// The same for the one process `pid`.
[[nodiscard]] bool pid_listens_on(int pid, int port);

}  // namespace sitemail::test
