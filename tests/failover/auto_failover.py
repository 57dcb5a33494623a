"""auto_failover.py — a pg_auto_failover formation for the failover drill (drill.py
--auto-failover): a monitor and two PostgreSQL nodes, each kept by its own `pg_autoctl run`,
all in one private network namespace (vanish_net.Hosts) on ports 5400 (monitor), 5401 and
5402 of its address: nothing listens on this host's own addresses, so no port is raced for.
The monitor makes the nodes a primary and a synchronous secondary (pg_auto_failover's
default with one standby: replication-quorum true, number_sync_standbys 0 means "ANY 1").
A failover is `pg_autoctl perform failover`: the monitor demotes the primary, promotes the
secondary, and the old primary rejoins as the new secondary (pg_rewind).

The same interface as pg_pair.Pair as far as drill.py uses it. PostgreSQL refuses to run
as root: as root everything runs as user `postgres`; pg_autoctl's own files (configuration
and state, normally under ~postgres) go to the work directory (XDG_CONFIG_HOME, XDG_DATA_HOME)."""
import json, os, shutil, subprocess, time

from pg_pair import AS_ROOT, BIN, USER

MONITOR_PORT = 5400


class AutoNode:
    def __init__(self, formation, name, port):
        self.f, self.name, self.port = formation, name, port
        self.pgdata = os.path.join(formation.work, name, "data")
        self.keeper = None  # Popen of `pg_autoctl run`
        self.log = None

    def host(self):
        return self.f.address

    def running(self):
        return self.keeper is not None and self.keeper.poll() is None


class AutoFailover:
    def __init__(self, work, hosts):
        self.work = os.path.join(work, "auto")
        self.hosts = hosts
        self.ns, self.address = hosts.namespace(0), hosts.address(0)
        self.sync = True
        self.monitor = AutoNode(self, "monitor", MONITOR_PORT)
        self.nodes = [AutoNode(self, "node1", MONITOR_PORT + 1), AutoNode(self, "node2", MONITOR_PORT + 2)]
        self.primary, self.standby = self.nodes
        self.failing_over = None  # Popen of `pg_autoctl perform failover`

    # --- running pg_autoctl as postgres in the namespace
    def _cmd(self, args):
        env = ["env", "PATH=%s:/usr/bin:/bin" % BIN, "XDG_CONFIG_HOME=%s" % os.path.join(self.work, "config"),
               "XDG_DATA_HOME=%s" % os.path.join(self.work, "share"),
               # Unix sockets in a directory of our own (the default one is shared by every cluster on the host)
               "PG_REGRESS_SOCK_DIR=%s" % os.path.join(self.work, "sock")]
        cmd = env + ["pg_autoctl"] + args
        if AS_ROOT:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        return ["ip", "netns", "exec", self.ns] + cmd

    def autoctl(self, args, check=True, timeout=120):
        r = subprocess.run(self._cmd(args), capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError("pg_autoctl %s failed (%d): %s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def _run(self, node, create_args):
        node.log = open(os.path.join(os.path.dirname(node.pgdata), "pg_autoctl.log"), "w")
        node.keeper = subprocess.Popen(self._cmd(create_args + ["--run"]), stdout=node.log, stderr=subprocess.STDOUT)

    def monitor_uri(self):
        return "postgres://autoctl_node@%s:%d/pg_auto_failover?sslmode=disable" % (self.address, MONITOR_PORT)

    def states(self):
        """{node name: (reported_state, assigned_state)} as the monitor sees them."""
        r = self.autoctl(["show", "state", "--pgdata", self.monitor.pgdata, "--json"], check=False, timeout=30)
        try:
            rows = json.loads(r.stdout)
        except ValueError:
            return {}
        if not isinstance(rows, list):
            return {}
        if rows and "nodename" not in rows[0]:
            raise RuntimeError("pg_autoctl show state --json: unexpected fields %s" % sorted(rows[0]))
        return {row["nodename"]: (row["current_group_state"], row["assigned_group_state"]) for row in rows}

    def wait_states(self, want, timeout=180):
        """want: {node name: state}, each node both reporting and assigned that state."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st = self.states()
            if all(st.get(n) == (s, s) for n, s in want.items()):
                return
            for n in self.nodes:
                if n.keeper is not None and n.keeper.poll() is not None:
                    raise RuntimeError("pg_autoctl run for %s exited %s" % (n.name, n.keeper.returncode))
            time.sleep(0.5)
        raise RuntimeError("pg_auto_failover: nodes did not reach %s in %d s (now %s)" % (want, timeout, self.states()))

    def start(self):
        os.makedirs(self.work, exist_ok=True)
        for d in ["config", "share", "sock"] + [n.name for n in [self.monitor] + self.nodes]:
            os.makedirs(os.path.join(self.work, d), exist_ok=True)
        if AS_ROOT:
            for root, dirs, _ in os.walk(self.work):
                shutil.chown(root, "postgres", "postgres")
            shutil.chown(self.work, "postgres", "postgres")
        common = ["--auth", "trust", "--no-ssl", "--hostname", self.address, "--pgctl", os.path.join(BIN, "pg_ctl")]
        self._run(self.monitor, ["create", "monitor", "--pgdata", self.monitor.pgdata, "--pgport", str(MONITOR_PORT)]
                  + common)
        deadline = time.monotonic() + 120
        while self.autoctl(["show", "state", "--pgdata", self.monitor.pgdata], check=False, timeout=30).returncode:
            if time.monotonic() > deadline or self.monitor.keeper.poll() is not None:
                raise RuntimeError("the pg_auto_failover monitor did not start")
            time.sleep(0.5)
        for i, node in enumerate(self.nodes):
            # --pghost: pg_autoctl's own connections use our socket directory; --pg-hba-lan:
            # the daemons come from this host's side of the veth pair, in the same /30
            self._run(node, ["create", "postgres", "--pgdata", node.pgdata, "--pgport", str(node.port),
                             "--name", node.name, "--listen", "*", "--pghost", os.path.join(self.work, "sock"),
                             "--username", USER, "--dbname", "postgres", "--pg-hba-lan",
                             "--monitor", self.monitor_uri()] + common)
            if i == 0:
                self.wait_states({node.name: "single"})
        self.wait_states({self.nodes[0].name: "primary", self.nodes[1].name: "secondary"})

    def uri(self):
        """What `pg_autoctl show uri --formation default` prints: the url to give sitemail."""
        r = self.autoctl(["show", "uri", "--pgdata", self.monitor.pgdata, "--formation", "default"], timeout=30)
        return r.stdout.strip()

    def multi_host_dsn(self, dbname="postgres"):
        return "host=%s,%s port=%d,%d dbname=%s user=%s target_session_attrs=read-write" % (
            self.address, self.address, self.nodes[0].port, self.nodes[1].port, dbname, USER)

    def multi_host_uri(self, dbname="postgres"):
        return "postgresql://%s:%d,%s:%d/%s?user=%s&target_session_attrs=read-write" % (
            self.address, self.nodes[0].port, self.address, self.nodes[1].port, dbname, USER)

    def start_failover(self):
        """`pg_autoctl perform failover`, in the background: the monitor demotes the primary."""
        self.failing_over = subprocess.Popen(
            self._cmd(["perform", "failover", "--pgdata", self.monitor.pgdata, "--wait", "120"]),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def promote_standby(self):
        """Waits for the failover to finish: the old secondary is the primary."""
        out, _ = self.failing_over.communicate(timeout=180)
        if self.failing_over.returncode != 0:
            raise RuntimeError("pg_autoctl perform failover exited %d: %s" % (self.failing_over.returncode, out))
        self.primary, self.standby = self.standby, self.primary
        self.wait_states({self.primary.name: "primary"}, timeout=60)

    def stop(self):
        for group in (self.nodes, [self.monitor]):  # the nodes first: they report to the monitor
            for n in group:
                if n.keeper is not None and n.keeper.poll() is None:
                    n.keeper.terminate()
            for n in group:
                if n.keeper is not None:
                    try:
                        n.keeper.wait(timeout=60)
                    except subprocess.TimeoutExpired:
                        n.keeper.kill()
                        n.keeper.wait()
                if n.log is not None:
                    n.log.close()
        if self.failing_over is not None and self.failing_over.poll() is None:
            self.failing_over.kill()
            self.failing_over.wait()
        # whatever postgres the keepers left: Hosts.cleanup kills every process in the namespace
