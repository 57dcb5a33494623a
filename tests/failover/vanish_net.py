"""vanish_net.py — private hosts for the vanished-host drill (drill.py --vanish): one network
namespace per PostgreSQL node, each reached from this host over its own veth pair
(10.213.N.1 on this side, 10.213.N.2 in the namespace, a /30 per node). Nothing listens on
this host's own addresses, so no port is taken or raced for: each node listens on port 5432
of its own namespace.

A host *vanishes* when its namespace gets a blackhole route back to this side: whatever this
host sends still arrives, but nothing ever comes back — no reply, no FIN, no RST, no ICMP —
which is what a peer sees of a host that lost power or network behind a router. (There is
no netfilter or tc qdisc on every machine; a route needs neither.)

Names carry this process's id (sitemail-vanish-PID-N, veth smvPIDhN/smvPIDnN), so runs never
collide. cleanup() kills what runs inside, destroys the sockets left there, deletes the
links and the namespaces, and is safe to call twice. sweep_stale() does the same for what a
run killed with SIGKILL left behind: namespaces and links named after a process id that no
longer runs. iproute2 (ip, ss) is all it needs."""
import os, signal, subprocess, time

PREFIX = "sitemail-vanish-"


def _ip(*args, ns=None, check=True):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + ["ip"] + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr.strip()))
    return r


def _namespaces():
    r = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=30)
    return [line.split()[0] for line in r.stdout.splitlines() if line.strip()]


def _ns_pids(ns):
    r = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True, timeout=30)
    return [int(p) for p in r.stdout.split() if p.isdigit()]


def _kill_inside(ns):
    for pid in _ns_pids(ns):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    while _ns_pids(ns) and time.monotonic() < deadline:
        time.sleep(0.1)


def _dismantle(ns, links):
    """Processes, blackhole routes and TCP sockets inside ns, then the links on this side and ns.
    A vanished host's sockets outlive its processes (orphans retransmitting their FIN into the
    blackhole for minutes) and keep its namespace, and with it the veth pair, alive: without
    the blackhole they end at once, and ss -K destroys what is left."""
    if ns:
        _kill_inside(ns)
        r = _ip("route", "show", "type", "blackhole", ns=ns, check=False)
        for line in r.stdout.splitlines():
            if line.split()[1:]:
                _ip("route", "del", "blackhole", line.split()[1], ns=ns, check=False)
        subprocess.run(["ip", "netns", "exec", ns, "ss", "-K", "-t", "-a"], capture_output=True, timeout=30)
    for link in links:
        _ip("link", "del", link, check=False)
    if ns:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)


def _pid_gone(pid):
    return pid.isdigit() and not os.path.exists("/proc/%s" % pid)


def sweep_stale():
    """What runs whose process is gone left behind (a SIGKILL gives no chance to clean up):
    their namespaces, the processes inside, and the links on this side."""
    for ns in _namespaces():
        if ns.startswith(PREFIX) and _pid_gone(ns[len(PREFIX):].split("-")[0]):
            _dismantle(ns, [])
    r = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, timeout=30)
    for line in r.stdout.splitlines():
        name = line.split(":")[1].strip().split("@")[0] if line.count(":") >= 2 else ""
        if name.startswith("smv") and "h" in name[3:] and _pid_gone(name[3:].split("h")[0]):
            _ip("link", "del", name, check=False)


def probe():
    """None when this process can make a network namespace with a veth pair; else why not."""
    if os.geteuid() != 0:
        return "not root (network namespaces need CAP_SYS_ADMIN and CAP_NET_ADMIN)"
    try:
        subprocess.run(["ip", "-V"], capture_output=True, timeout=30)
    except OSError:
        return "iproute2 (ip) is not installed"
    ns = "%s%d-probe" % (PREFIX, os.getpid())
    r = subprocess.run(["ip", "netns", "add", ns], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        return "`ip netns add` failed: " + r.stderr.strip()
    try:
        r = subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"], capture_output=True, text=True,
                           timeout=30)
        if r.returncode != 0:
            return "`ip netns exec` failed: " + r.stderr.strip()
        v = "smv%dp" % os.getpid()
        r = subprocess.run(["ip", "link", "add", v, "type", "veth", "peer", "name", v + "n", "netns", ns],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            return "`ip link add ... type veth` failed: " + r.stderr.strip()
        subprocess.run(["ip", "link", "del", v], capture_output=True, timeout=30)
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
    return None


class Hosts:
    """count private hosts; host(i) gives (namespace, address) of the i-th."""

    def __init__(self, count):
        self.count = count
        self.made = []  # namespaces created (cleanup deletes them)
        self.subnets = []
        self.vanished = set()

    def _free_subnet_indices(self):
        taken = set()
        r = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True, timeout=30)
        r2 = subprocess.run(["ip", "-4", "route", "show"], capture_output=True, text=True, timeout=30)
        for tok in (r.stdout + " " + r2.stdout).split():
            if tok.startswith("10.213."):
                parts = tok.split("/")[0].split(".")
                if len(parts) == 4 and parts[2].isdigit() and parts[3].isdigit():
                    taken.add(int(parts[2]) * 64 + int(parts[3]) // 4)
        start = (os.getpid() * 7) % 16384  # spread concurrent runs apart
        for k in range(16384):
            i = (start + k) % 16384
            if i not in taken:
                yield i

    def start(self):
        pid = os.getpid()
        free = self._free_subnet_indices()
        for n in range(self.count):
            ns = "%s%d-%d" % (PREFIX, pid, n)
            here, there = "smv%dh%d" % (pid, n), "smv%dn%d" % (pid, n)
            idx = next(free)
            base = "10.213.%d.%d" % (idx // 64, (idx % 64) * 4)
            a = base.split(".")
            host_ip = "%s.%s.%s.%d" % (a[0], a[1], a[2], int(a[3]) + 1)
            ns_ip = "%s.%s.%s.%d" % (a[0], a[1], a[2], int(a[3]) + 2)
            subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True, timeout=30)
            self.made.append(ns)
            _ip("link", "add", here, "type", "veth", "peer", "name", there, "netns", ns)
            _ip("addr", "add", host_ip + "/30", "dev", here)
            _ip("link", "set", here, "up")
            _ip("addr", "add", ns_ip + "/30", "dev", there, ns=ns)
            _ip("link", "set", there, "up", ns=ns)
            _ip("link", "set", "lo", "up", ns=ns)
            self.subnets.append((ns, host_ip, ns_ip, here))

    def namespace(self, i):
        return self.subnets[i][0]

    def address(self, i):
        return self.subnets[i][2]

    def peer_address(self, i):
        """This host's side of the i-th link (the source address of our connections to it)."""
        return self.subnets[i][1]

    def vanish(self, i):
        """From now on nothing the i-th host sends reaches this host: silence, not a refusal."""
        ns, host_ip = self.subnets[i][:2]
        _ip("route", "add", "blackhole", host_ip + "/32", ns=ns)
        self.vanished.add(i)

    def cleanup(self):
        """Processes, sockets, links and namespaces: nothing is left (safe to call twice)."""
        linked = {ns: here for ns, _, _, here in self.subnets}
        for ns in self.made:
            _dismantle(ns, [linked[ns]] if ns in linked else [])
        self.made = []
