"""pg_pair.py — two PostgreSQL 15 nodes for the failover drill: a primary and a streaming
standby (pg_basebackup -R), each in its own directory with its Unix socket there and no TCP
listener (nothing to race for), synchronous (synchronous_standby_names = '*') or
asynchronous. A node is killed with `pg_ctl stop -m immediate`, the standby promoted with
`pg_ctl promote`, and the old primary rebuilt as a standby of the new one (a fresh base
backup: small and simple), so a drill can fail over back and forth.
With `hosts` (vanish_net.Hosts, drill.py --vanish) each node runs in its own network
namespace and also listens on TCP port 5432 there, at its private address: clients on this
host reach it over TCP (what a vanished host can hang), while the standby streams and the
harness administers over the Unix sockets, as always.
PostgreSQL refuses to run as root: as root every command runs as user `postgres`."""
import glob, os, shutil, subprocess, time

BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1] if glob.glob("/usr/lib/postgresql/*/bin") else None
AS_ROOT = os.getuid() == 0
USER = "postgres" if AS_ROOT else os.environ.get("USER", "postgres")
PORT = 5432  # only names the socket file (.s.PGSQL.5432) in each node's own directory


def as_pg(cmd, check=True, timeout=120, netns=None):
    if AS_ROOT:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    if netns:
        cmd = ["ip", "netns", "exec", netns] + cmd
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s%s" % (" ".join(cmd), r.returncode, r.stdout, r.stderr))
    return r


class Node:
    def __init__(self, work, name, netns=None, address=None, client_net=None):
        self.name = name
        self.netns, self.address, self.client_net = netns, address, client_net
        self.dir = os.path.join(work, name)
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "server.log")
        os.makedirs(self.dir, exist_ok=True)
        if AS_ROOT:
            shutil.chown(self.dir, "postgres", "postgres")

    def dsn(self, dbname="postgres"):
        return "host=%s port=%d dbname=%s user=%s" % (self.dir, PORT, dbname, USER)

    def host(self):
        """What a client's conninfo names: the TCP address in a namespace, else the socket directory."""
        return self.address or self.dir

    def initdb(self):
        as_pg([os.path.join(BIN, "initdb"), "-D", self.data, "-A", "trust", "-U", USER, "-E", "UTF8", "--locale=C.UTF-8"])
        if self.client_net:  # clients come over TCP from this host's side of the veth pairs
            with open(os.path.join(self.data, "pg_hba.conf"), "a") as f:
                f.write("host all all %s trust\nhost replication all %s trust\n" % (self.client_net, self.client_net))

    def start(self):
        # synchronous_standby_names is not set here: it lives in postgresql.auto.conf
        # (ALTER SYSTEM, Pair.set_sync), which a command-line -c would override.
        opts = ("-c listen_addresses='%s' -c unix_socket_directories='%s' -c port=%d -c max_connections=100"
                " -c fsync=off -c full_page_writes=off -c wal_level=replica -c max_wal_senders=5"
                " -c wal_keep_size=256MB -c hot_standby=on -c synchronous_commit=on" % (self.address or "", self.dir, PORT))
        # in its namespace: the postmaster, and every backend it forks, stays there
        as_pg([os.path.join(BIN, "pg_ctl"), "-D", self.data, "-l", self.log, "-w", "-t", "60", "-o", opts, "start"],
              netns=self.netns)

    def running(self):
        return os.path.exists(os.path.join(self.data, "postmaster.pid"))

    def kill(self):
        """A crash: no checkpoint, sessions cut."""
        as_pg([os.path.join(BIN, "pg_ctl"), "-D", self.data, "-m", "immediate", "-w", "stop"])

    def stop(self):
        if os.path.exists(os.path.join(self.data, "PG_VERSION")) and self.running():
            as_pg([os.path.join(BIN, "pg_ctl"), "-D", self.data, "-m", "immediate", "-w", "stop"], check=False)

    def promote(self):
        as_pg([os.path.join(BIN, "pg_ctl"), "-D", self.data, "-w", "-t", "60", "promote"])

    def base_backup_from(self, primary):
        if os.path.exists(self.data):
            shutil.rmtree(self.data)
        as_pg([os.path.join(BIN, "pg_basebackup"), "-h", primary.dir, "-p", str(PORT), "-U", USER, "-D", self.data,
               "-R", "-X", "stream", "-c", "fast"])
        # The copy carries the primary's synchronous_standby_names: a promoted standby with no
        # standby of its own would then wait for one at every commit. Pair.set_sync sets it
        # again once a standby streams from this node.
        auto = os.path.join(self.data, "postgresql.auto.conf")
        with open(auto) as f:
            lines = [ln for ln in f if not ln.startswith(("synchronous_standby_names", "default_transaction_read_only"))]
        with open(auto, "w") as f:
            f.writelines(lines)


class Pair:
    """Two nodes; `primary` and `standby` swap at each failover."""

    def __init__(self, work, synchronous, hosts=None):
        self.sync = synchronous
        if hosts is None:
            self.nodes = [Node(work, "n1"), Node(work, "n2")]
        else:
            self.nodes = [Node(work, "n%d" % (i + 1), hosts.namespace(i), hosts.address(i), "10.213.0.0/16")
                          for i in range(2)]
        self.primary, self.standby = self.nodes

    def multi_host_dsn(self, dbname="postgres"):
        """The key=value form with both nodes, as a site's [database] url would name them."""
        return "host=%s,%s port=%d,%d dbname=%s user=%s target_session_attrs=read-write" % (
            self.nodes[0].host(), self.nodes[1].host(), PORT, PORT, dbname, USER)

    def multi_host_uri(self, dbname="postgres"):
        """The URI form: socket directories percent-encoded as hosts."""
        enc = lambda p: p.replace("/", "%2F")
        return "postgresql://%s:%d,%s:%d/%s?user=%s&target_session_attrs=read-write" % (
            enc(self.nodes[0].host()), PORT, enc(self.nodes[1].host()), PORT, dbname, USER)

    def start(self):
        self.primary.initdb()
        self.primary.start()  # no standby yet: a sync primary would wait for it
        self.attach_standby()

    def attach_standby(self):
        self.standby.stop()  # a demoted old primary still runs (read-only)
        self.standby.base_backup_from(self.primary)
        self.standby.start()
        self.wait_streaming()
        if self.sync:
            self.set_sync(self.primary, True)

    def set_sync(self, node, on):
        as_pg([os.path.join(BIN, "psql"), "-X", "-q", "-h", node.dir, "-p", str(PORT), "-U", USER, "-d", "postgres",
               "-c", "ALTER SYSTEM SET synchronous_standby_names = '%s'" % ("*" if on else ""),
               "-c", "SELECT pg_reload_conf()"])

    def wait_streaming(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = as_pg([os.path.join(BIN, "psql"), "-X", "-At", "-h", self.primary.dir, "-p", str(PORT), "-U", USER,
                       "-d", "postgres", "-c", "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"],
                      check=False)
            if r.returncode == 0 and r.stdout.strip() not in ("", "0"):
                return
            time.sleep(0.2)
        raise RuntimeError("the standby did not start streaming")

    def walreceiver_pid(self):
        """The standby's WAL receiver process (None when it is not streaming)."""
        r = as_pg([os.path.join(BIN, "psql"), "-X", "-At", "-h", self.standby.dir, "-p", str(PORT), "-U", USER, "-d",
                   "postgres", "-c", "SELECT pid FROM pg_stat_wal_receiver"], check=False)
        return int(r.stdout.strip()) if r.returncode == 0 and r.stdout.strip().isdigit() else None

    def kill_primary(self):
        self.primary.kill()

    def demote_primary(self):
        """The primary stops accepting writes but stays up (what a failover manager does to
        a primary it demotes): every new transaction is read-only, a write fails with
        SQLSTATE 25006, and libpq's target_session_attrs=read-write passes it over."""
        as_pg([os.path.join(BIN, "psql"), "-X", "-q", "-h", self.primary.dir, "-p", str(PORT), "-U", USER, "-d",
               "postgres", "-c", "ALTER SYSTEM SET default_transaction_read_only = on", "-c", "SELECT pg_reload_conf()"])

    def promote_standby(self):
        """Promotes the standby; the killed primary becomes the standby slot (not running)."""
        self.standby.promote()
        self.primary, self.standby = self.standby, self.primary

    def stop(self):
        for n in self.nodes:
            try:
                n.stop()
            except Exception:
                pass
