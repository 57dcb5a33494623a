"""soak_processes.py — the processes a soak run starts and stops: the private PostgreSQL
cluster (deploy/pg-cluster.sh), the token-counting relays (relay.py), the sitemaild
instances, and a database handle that reconnects after PostgreSQL restarts."""
import json, os, re, signal, subprocess, sys, time

import psycopg2
import psycopg2.extras

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
PG_SCRIPT = os.path.join(SOURCE, "deploy", "pg-cluster.sh")


class Db:
    """One psycopg2 connection in autocommit mode, reopened when PostgreSQL went away."""

    def __init__(self, dsn):
        self.dsn = dsn
        self.conn = None

    def _connect(self):
        if self.conn is None or self.conn.closed:
            self.conn = psycopg2.connect(self.dsn, connect_timeout=5)
            self.conn.autocommit = True

    def query(self, sql, args=None, retry_for=60.0):
        """Rows of one statement; retries (reconnecting) for up to retry_for seconds while
        the server is unreachable. Only for statements that are safe to repeat."""
        deadline = time.monotonic() + retry_for
        while True:
            try:
                self._connect()
                with self.conn.cursor() as cur:
                    cur.execute(sql, args)
                    return cur.fetchall() if cur.description else []
            except psycopg2.Error as e:
                if not self._gone(e):
                    raise
                self.close()
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.3)

    def _gone(self, e):
        """The error means the server went away (not that the statement was wrong)."""
        return (isinstance(e, (psycopg2.OperationalError, psycopg2.InterfaceError)) or e.pgcode is None
                or self.conn is None or self.conn.closed != 0)

    def try_query(self, sql, args=None):
        """Rows, or None when PostgreSQL is down right now (no waiting)."""
        try:
            return self.query(sql, args, retry_for=0)
        except psycopg2.Error as e:
            if self._gone(e):
                return None
            raise

    def insert_rows(self, rows):
        """INSERT many outbox rows in one transaction. Never retried: the caller only
        inserts while PostgreSQL is up and not being restarted, so a failure is an error."""
        self._connect()
        with self.conn.cursor() as cur:
            psycopg2.extras.execute_values(
                cur,
                "INSERT INTO outbox (nvtgc, to_addrs, subject, body_text, headers, next_attempt_at) VALUES %s",
                rows, template="(%s, %s, %s, %s, %s, now() + make_interval(secs => %s))", page_size=1000)

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except psycopg2.Error:
                pass
        self.conn = None


class PgCluster:
    def __init__(self, directory):
        self.dir = directory
        self.restarting = None  # Popen of a restart in progress
        self.restart_mode = None
        self.restart_started = 0.0

    def start(self):
        out = subprocess.run([PG_SCRIPT, "start", self.dir], check=True, capture_output=True, text=True)
        return out.stdout.strip().splitlines()[-1]

    def begin_restart(self, mode):
        """Start `pg-cluster.sh restart DIR MODE` (fast: clean shutdown; immediate: a crash
        followed by WAL recovery) without waiting for it."""
        self.restart_mode = mode
        self.restart_started = time.monotonic()
        self.restarting = subprocess.Popen([PG_SCRIPT, "restart", self.dir, mode],
                                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def restart_done(self):
        """None while restarting; else the seconds it took (raises if it failed)."""
        if self.restarting is None or self.restarting.poll() is None:
            return None
        out = self.restarting.stdout.read()
        rc = self.restarting.returncode
        self.restarting = None
        if rc != 0:
            raise RuntimeError("PostgreSQL restart (%s) failed: %s" % (self.restart_mode, out))
        return time.monotonic() - self.restart_started

    def stop(self):
        if self.restarting is not None:  # let a restart finish, or it starts the server again
            self.restarting.wait()
        subprocess.run([PG_SCRIPT, "stop", self.dir], capture_output=True)


class Relay:
    """relay.py with `plain` + `flaky` ports; `ports` maps kind -> list of ports."""

    def __init__(self, work, plain, flaky, fault_rate, conn_fault_rate, delay_ms, seed):
        self.log = os.path.join(work, "relay-messages.log")
        self.faults_log = os.path.join(work, "relay-faults.log")
        self.stats_file = os.path.join(work, "relay-stats.json")
        ready = os.path.join(work, "relay-ready.json")
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", "-B", os.path.join(HERE, "relay.py"), "--plain", str(plain), "--flaky", str(flaky),
             "--fault-rate", str(fault_rate), "--conn-fault-rate", str(conn_fault_rate), "--delay-ms", str(delay_ms), "--seed", str(seed),
             "--log", self.log, "--faults-log", self.faults_log, "--ready-file", ready, "--stats-file", self.stats_file],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "relay.stderr"), "w"))
        deadline = time.monotonic() + 60
        while not os.path.exists(ready):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("relay.py did not start (see relay.stderr)")
            time.sleep(0.1)
        with open(ready) as f:
            self.ports = json.load(f)

    def heal(self):
        """No more faults from now on (SIGUSR1)."""
        self.proc.send_signal(signal.SIGUSR1)

    def stop(self):
        """Stop the relay; returns its counters."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
        with open(self.stats_file) as f:
            return json.load(f)

    def received(self):
        """[(time, port, header token, recipient token)] for every accepted message."""
        out = []
        with open(self.log) as f:
            for ln in f:
                t, port, htok, rtok = ln.split()
                out.append((float(t), int(port), htok, rtok))
        return out


OWNER = re.compile(r"\bowner=(\S+)")


class Daemon:
    """One sitemaild instance slot (A, B): started, SIGKILLed and started again."""

    def __init__(self, name, binary, conf, dsn, config_dir, logdir):
        self.name, self.binary, self.conf, self.dsn, self.config_dir, self.logdir = name, binary, conf, dsn, config_dir, logdir
        self.proc = None
        self.incarnation = 0
        self.log_path = None
        self.unexpected_exits = []  # (incarnation, return code)

    def start(self):
        self.incarnation += 1
        self.log_path = os.path.join(self.logdir, "sitemaild-%s.%d.log" % (self.name, self.incarnation))
        self.proc = subprocess.Popen(
            [self.binary, "--config", self.conf, "--database", self.dsn, "--config-dir", self.config_dir],
            stdout=subprocess.DEVNULL, stderr=open(self.log_path, "w"))

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self):
        """Notes an exit nobody asked for (e.g. a crash); returns True while running."""
        if self.proc is not None and self.proc.poll() is not None:
            self.unexpected_exits.append((self.incarnation, self.proc.returncode))
            self.proc = None
        return self.running()

    def owners(self):
        """Lease owner names this incarnation logged (`event=database ... owner=X`)."""
        try:
            with open(self.log_path, errors="replace") as f:
                return sorted(set(OWNER.findall(f.read())))
        except OSError:
            return []

    def kill(self):
        """SIGKILL; returns the pid that died."""
        pid = self.proc.pid
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None
        return pid

    def stop(self, timeout):
        """SIGTERM and wait; returns the exit code (None when it had to be killed)."""
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        self.proc = None
        return rc


def run_checked(cmd, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.stderr.write("soak: %s failed (%d): %s%s" % (" ".join(cmd), r.returncode, r.stdout, r.stderr))
        raise RuntimeError("command failed: %s" % cmd[0])
    return r.stdout
