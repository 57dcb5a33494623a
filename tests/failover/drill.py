#!/usr/bin/python3
"""drill.py — sitemail's PostgreSQL failover drill (CONTRACT §11, issue 18).

A primary and a streaming standby (synchronous by default, --async for asynchronous
replication) are started on private Unix sockets (tests/failover/pg_pair.py); two sitemaild
instances reach them through a multi-host conninfo with target_session_attrs=read-write
(one by --database in key=value form, the other by `[database] url` in URI form) and
drain a few thousand messages for ~40 sites through delayed token-counting relays
(tests/soak/relay.py, one loopback port per site, bound to port 0). Mid-drain the primary
is killed (`pg_ctl stop -m immediate`) and, a few seconds later, the standby promoted
(`pg_ctl promote`); for more failovers the old primary is rebuilt as the new standby and
the next failover goes back the other way. New mail keeps being inserted throughout.

--vanish: the primary's host vanishes instead (tests/failover/vanish_net.py): each node runs
in its own network namespace, reached over TCP through a veth pair (the daemons' url names
both private addresses, with nothing but libpq's defaults from sitemail), and mid-drain the
primary's namespace gets a blackhole route back to this host and is then powered off
(pg_ctl stop -m immediate behind the blackhole): no reply, FIN or RST ever comes back, so
only sitemail's keepalive and tcp_user_timeout defaults can tell the daemons that the host
is gone. A third sitemaild (C, on a database of its own) has them switched off
(keepalives=0 tcp_user_timeout=0): that it notices nothing during the run shows the vanish
was silent (without the defaults a connection hangs until the kernel gives up, ~15 min).
The same verdict, and the daemons' own log of the detection (`event=database status=down`)
with the time from the vanish, and their reconnection to the promoted host. Exit 77 (skip)
when this machine cannot make network namespaces.

--auto-failover: a pg_auto_failover formation instead (tests/failover/auto_failover.py: a
monitor and two nodes, primary and synchronous secondary, in a network namespace); daemon
B's url is what `pg_autoctl show uri` prints, and the failover is `pg_autoctl perform
failover` (the monitor demotes the primary and promotes the secondary). The same verdict;
"resumed" counts from the end of the failover, and the time from its start is printed too.
Exit 77 (skip) without pg_autoctl (Debian: postgresql-15-auto-failover) or namespaces.

Verdict (exit 0 when every assertion holds, 1 when one fails, 2 when the run could not be
set up): every message whose INSERT was acknowledged has its row (asynchronous replication:
counted, not asserted); 0 lost (every row ends `sent` and its token reached a relay);
0 stuck in `sending`; every token received twice belongs to a row in flight at a failover
(asynchronous: counted); delivery resumed within 30 s of each promotion (a message that was
queued at the promotion reached a relay); both daemons ran throughout; sitemailctl works with
the multi-host url from --database, $SITEMAIL_DATABASE and [database] url. Every temporary
file and process is removed at the end, also on failure (--keep keeps a failed run's files).
"""
import argparse, datetime, os, random, shutil, signal, subprocess, sys, tempfile, time
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "soak"))
import psycopg2  # noqa: E402
import psycopg2.extras  # noqa: E402
from pg_pair import USER, Node, Pair  # noqa: E402
from soak_processes import Relay  # noqa: E402

PROFILES = {
    # sites; messages inserted at the start (the first wave) and after each rebuilt standby
    # (the next waves); messages trickled in throughout (so inserts are in flight at a
    # failover); per failover how the primary goes (kill: pg_ctl stop -m immediate; demote:
    # it turns read-only and stays up); the share of its wave sent before it; seconds
    # between that and the promotion (the failover manager's detection time)
    "short": dict(sites=40, initial=1500, wave=1000, trickle=500, kinds=["kill", "demote"], frac=0.35, gap=6.0),
    "long": dict(sites=40, initial=1500, wave=1200, trickle=1500, kinds=["kill", "demote", "kill", "kill"], frac=0.35,
                 gap=3.0),
    # --vanish: one failover, the primary's host vanishing
    "vanish": dict(sites=40, initial=1500, wave=0, trickle=300, kinds=["vanish"], frac=0.35, gap=3.0),
    # --auto-failover: one `pg_autoctl perform failover` (the monitor takes its own time)
    "auto": dict(sites=40, initial=1500, wave=0, trickle=300, kinds=["auto"], frac=0.35, gap=0.0),
}

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--profile", choices=sorted(PROFILES), default="short")
ap.add_argument("--async", dest="asynchronous", action="store_true", help="asynchronous replication (measure only)")
ap.add_argument("--lag", type=float, default=None,
                help="asynchronous only: replication lag to emulate at each failover, seconds (the standby's WAL "
                     "receiver is paused this long before the primary goes; default 1.0; on one machine the lag "
                     "is otherwise a fraction of a millisecond and a failover loses nothing)")
ap.add_argument("--vanish", action="store_true",
                help="the primary's host vanishes (no FIN/RST: a blackhole route, then power-off) instead of a kill "
                     "or demotion; nodes in network namespaces, one failover (profile vanish)")
ap.add_argument("--auto-failover", action="store_true",
                help="a pg_auto_failover formation (monitor + two nodes) and `pg_autoctl perform failover`; "
                     "one failover (profile auto)")
ap.add_argument("--sitemaild", required=True)
ap.add_argument("--sitemailctl", required=True)
ap.add_argument("--delay-ms", type=float, default=150, help="relays wait 0..this before each 250 to DATA")
ap.add_argument("--settle-timeout", type=float, default=120)
ap.add_argument("--seed", type=int, default=None)
ap.add_argument("--keep", action="store_true", help="keep the work directory of a failed run")
args = ap.parse_args()
if (args.vanish or args.auto_failover) and args.asynchronous:
    ap.error("--vanish and --auto-failover run with synchronous replication only")
if args.vanish and args.auto_failover:
    ap.error("--vanish or --auto-failover, not both")
profile = "vanish" if args.vanish else "auto" if args.auto_failover else args.profile
P = PROFILES[profile]
seed = args.seed if args.seed is not None else int(time.time()) % 100000
rng = random.Random(seed)
T0 = time.monotonic()
lag = (1.0 if args.lag is None else args.lag) if args.asynchronous else 0.0
mode = "asynchronous (emulated lag %.1f s)" % lag if args.asynchronous else "synchronous"


def now():
    return time.monotonic() - T0


def say(text):
    print("[%6.1f] %s" % (now(), text), flush=True)


class Db:
    """A psycopg2 connection (libpq: the multi-host conninfo works as is), reopened on loss."""

    def __init__(self, dsn):
        self.dsn, self.conn = dsn, None

    def query(self, sql, params=None, retry_for=60.0):
        deadline = time.monotonic() + retry_for
        while True:
            try:
                if self.conn is None or self.conn.closed:
                    self.conn = psycopg2.connect(self.dsn, connect_timeout=3)
                    self.conn.autocommit = True
                with self.conn.cursor() as cur:
                    cur.execute(sql, params)
                    return cur.fetchall() if cur.description else []
            except (psycopg2.OperationalError, psycopg2.InterfaceError, psycopg2.errors.ReadOnlySqlTransaction):
                self.close()
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.2)

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except psycopg2.Error:
                pass
        self.conn = None


def database_events(text):
    """(wall-clock seconds, line) of each `event=database` line of a sitemaild log."""
    out = []
    for line in text.splitlines():
        if " event=database " not in line or not line.startswith("ts="):
            continue
        stamp = line[3:].split(" ", 1)[0]
        try:
            t = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            continue
        out.append((t.timestamp(), line))
    return out


def field(line, key):
    """A logfmt field's value (quoted or bare)."""
    at = line.find(" %s=" % key)
    if at < 0:
        return None
    v = line[at + len(key) + 2:]
    if v.startswith('"'):
        end = 1
        while end < len(v) and not (v[end] == '"' and v[end - 1] != "\\"):
            end += 1
        return v[1:end]
    return v.split(" ", 1)[0]


def connection_verdict(f, logs, control_logs, check):
    """The daemons' own log of the failover (event=database), timed from its start (the vanish,
    or `pg_autoctl perform failover`): they went on with the promoted host; after a vanish,
    those with sitemail's defaults noticed it by themselves and C, without them, noticed nothing."""
    v, promoted_wall = f["start_wall"], f["promoted_wall"]
    vanish = f["kind"] == "vanish"
    what = "the vanish" if vanish else "the start of the failover"
    want = f["new_primary"]
    print("failover #%d: %s %.1f s after %s" % (
        f["n"], "the standby was promoted" if vanish else "`pg_autoctl perform failover` returned", promoted_wall - v, what))
    for name, text in sorted(logs.items()):
        ev = [(t, line) for t, line in database_events(text) if t >= v]
        down = next(((t, line) for t, line in ev if "status=down" in line), None)
        up = next(((t, line) for t, line in ev if (down or not vanish) and t >= (down[0] if down else v)
                   and "status=connected" in line), None)
        for t, line in ev[:8]:  # the daemon's own account: detection, attempts, reconnection
            extra = field(line, "server") if "status=connected" in line else field(line, "problem")
            print("  sitemaild %s, %s + %4.1f s: event=database status=%s%s" % (
                name, "vanish" if vanish else "failover", t - v, field(line, "status"),
                "" if extra is None else " %s=%s" % ("server" if "status=connected" in line else "problem", extra[:160])))
        if up:
            print("  sitemaild %s: reconnected %.1f s after %s, %+.1f s from the %s"
                  % (name, up[0] - v, what, up[0] - promoted_wall, "promotion" if vanish else "end of the failover"))
        if vanish:
            check(down is not None, "sitemaild %s noticed the vanished host by itself (event=database status=down, "
                  "%.1f s after the vanish)" % (name, down[0] - v if down else 0),
                  "sitemaild %s never logged event=database status=down after the vanish" % name)
        check(up is not None and field(up[1], "server") == want,
              "sitemaild %s reconnected to the promoted host %s" % (name, want),
              "sitemaild %s did not reconnect to the promoted host %s (%s)" % (name, want, up and up[1][:200]))
    for name, text in sorted(control_logs.items()):
        ev = database_events(text)
        before = [line for t, line in ev if t < v and "status=connected" in line]
        after = [(t, line) for t, line in ev if t >= v and "status=down" in line]
        quiet = time.time() - v
        if not before:
            bad = "sitemaild %s (keepalives=0 tcp_user_timeout=0) never connected" % name
        elif after:
            bad = ("sitemaild %s (keepalives=0 tcp_user_timeout=0) noticed the vanish %.1f s after it: %s — a FIN, RST "
                   "or ICMP got through, so the vanish was not silent" % (name, after[0][0] - v, after[0][1][:200]))
        else:
            bad = ""
        check(not bad,
              "the vanish was silent: sitemaild %s (keepalives=0 tcp_user_timeout=0) noticed nothing in the %.0f s "
              "from the vanish to the end (the kernel's retransmission limit would end its wait after ~15 min)"
              % (name, quiet), bad)


def sweep_stale_work():
    """Work directories of runs killed with SIGKILL (no `finally` ran): their clusters stopped, files removed.
    The directory names carry the run's process id; only those of processes gone are touched."""
    base = tempfile.gettempdir()
    for d in os.listdir(base):
        parts = d.split(".")
        if not (d.startswith("sitemail-failover.") and len(parts) == 3 and parts[1].isdigit()):
            continue
        if os.path.exists("/proc/%s" % parts[1]):
            continue
        path = os.path.join(base, d)
        for data in sorted(os.listdir(path)) if os.path.isdir(path) else []:
            node = os.path.join(path, data, "data")
            if os.path.exists(os.path.join(node, "postmaster.pid")):
                Node(path, data).stop()
        shutil.rmtree(path, ignore_errors=True)


hosts = None
if args.vanish or args.auto_failover:
    import vanish_net
    why = vanish_net.probe()
    if not why and args.auto_failover and not shutil.which("pg_autoctl"):
        why = "pg_autoctl is not installed (Debian: postgresql-15-auto-failover)"
    if why:
        print("failover drill --%s: SKIPPED: this machine cannot make the private hosts it needs: %s"
              % (profile if profile == "vanish" else "auto-failover", why))
        sys.exit(77)  # ctest: SKIP_RETURN_CODE
    vanish_net.sweep_stale()
    hosts = vanish_net.Hosts(2 if args.vanish else 1)
sweep_stale_work()
work = tempfile.mkdtemp(prefix="sitemail-failover.%d." % os.getpid())
os.chmod(work, 0o755)
pair = None
relay = None
daemons = {}
control = {}  # --vanish: sitemaild C, without the keepalive defaults
result = 2
signal.signal(signal.SIGTERM, lambda *_: sys.exit(2))  # clean up through `finally`
print("failover drill: profile %s, %s replication, seed %d, work dir %s" % (profile, mode, seed, work), flush=True)
try:
    # --- setup
    if hosts is not None:
        hosts.start()
        print("private hosts: %s" % ", ".join("%s (%s, this side %s)" % (hosts.address(i), hosts.namespace(i),
                                                                        hosts.peer_address(i))
                                              for i in range(hosts.count)), flush=True)
    if args.auto_failover:
        from auto_failover import AutoFailover
        pair = AutoFailover(work, hosts)
        started = now()
        pair.start()
        say("pg_auto_failover: monitor, primary and synchronous secondary up in %.0f s: %s"
            % (now() - started, pair.states()))
    else:
        pair = Pair(work, synchronous=not args.asynchronous, hosts=hosts)
        pair.start()
    dsn, uri = pair.multi_host_dsn(), pair.multi_host_uri()
    if args.auto_failover:  # what the formation itself says to use; sitemail runs as another OS user
        uri = pair.uri() + "&user=" + USER
        say("daemon B's url, from `pg_autoctl show uri`: " + uri)
    sites = ["F%02d" % i for i in range(P["sites"])]
    config_dir = os.path.join(work, "config")
    os.makedirs(config_dir)
    os.makedirs(os.path.join(work, "logs"))
    env = dict(os.environ, SITEMAIL_DATABASE=uri, SITEMAIL_CONFIG_DIR=config_dir)
    env.pop("SITEMAIL_CONFIG", None)
    r = subprocess.run([args.sitemailctl, "db", "migrate"], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("sitemailctl db migrate (URI from $SITEMAIL_DATABASE) failed: " + r.stderr)
    # The harness's own connection must never hang on a vanished host either: it names the
    # keepalive defaults itself (psycopg2 does not add them); the daemons get the bare url.
    db = Db(dsn + (" keepalives=1 keepalives_idle=5 keepalives_interval=2 keepalives_count=3 tcp_user_timeout=10000"
                   if args.vanish else ""))
    db.query("INSERT INTO customization (custkey, value, nvtgc) VALUES ('EMailSMTPServer','127.0.0.1','ILL'),"
             "('EMailFromAddress','drill@lib.example','ILL'),('Helo','drill.example','ILL')")
    relay = Relay(work, len(sites), 0, 0.0, 0.0, args.delay_ms, seed)
    ports = list(relay.ports["plain"])
    for s, p in zip(sites, ports):
        with open(os.path.join(config_dir, s + ".config"), "w") as f:
            f.write("<MailSettings><EMailSMTPPort>%d</EMailSMTPPort></MailSettings>\n" % p)
    conf_a = os.path.join(work, "a.conf")
    with open(conf_a, "w") as f:
        f.write("[metrics]\nlisten =\n")
    conf_b = os.path.join(work, "b.conf")
    with open(conf_b, "w") as f:  # B finds the database in its config file, URI form
        f.write("[database]\nurl = %s\n[metrics]\nlisten =\n" % uri)
    daemon_env = dict(os.environ)
    daemon_env.pop("SITEMAIL_DATABASE", None)
    for name, cmd in (("A", ["--config", conf_a, "--database", dsn]), ("B", ["--config", conf_b])):
        log = open(os.path.join(work, "logs", "sitemaild-%s.log" % name), "w")
        daemons[name] = (subprocess.Popen([args.sitemaild, "--config-dir", config_dir] + cmd, env=daemon_env,
                                          stdout=subprocess.DEVNULL, stderr=log), log)
    if args.vanish:  # C: idle on a database of its own, keepalives and tcp_user_timeout switched off
        db.query("CREATE DATABASE vanish_ctl")
        dsn_c = pair.multi_host_dsn("vanish_ctl") + " keepalives=0 tcp_user_timeout=0"
        r = subprocess.run([args.sitemailctl, "--database", dsn_c, "db", "migrate"], env=env, capture_output=True,
                           text=True)
        if r.returncode != 0:
            raise RuntimeError("sitemailctl db migrate (database vanish_ctl) failed: " + r.stderr)
        empty_dir = os.path.join(work, "config-c")
        os.makedirs(empty_dir)
        log = open(os.path.join(work, "logs", "sitemaild-C.log"), "w")
        control["C"] = (subprocess.Popen([args.sitemaild, "--config-dir", empty_dir, "--config", conf_a, "--database",
                                          dsn_c], env=daemon_env, stdout=subprocess.DEVNULL, stderr=log), log)

    # --- inserts: every message carries a token (header and recipient), counted by the relays
    acked, ambiguous = set(), set()
    seq = [0]
    body = "failover drill message, padding it to about half a KiB. " * 8 + "\n"

    def insert(n):
        rows = []
        for _ in range(n):
            seq[0] += 1
            tok = "%07d%04x" % (seq[0], rng.randrange(1 << 16))
            site = rng.choice(sites)
            rows.append((site, "t%s@%s.drill.example" % (tok, site.lower()), "drill " + tok, body, "X-Soak-Token: " + tok))
        toks = [r[1][1:].split("@")[0] for r in rows]
        try:
            if db.conn is None or db.conn.closed:
                db.query("SELECT 1", retry_for=0)
            with db.conn.cursor() as cur:
                psycopg2.extras.execute_values(
                    cur, "INSERT INTO outbox (nvtgc, to_addrs, subject, body_text, headers) VALUES %s", rows, page_size=1000)
            acked.update(toks)
            return True
        except psycopg2.Error:
            db.close()
            ambiguous.update(toks)  # the commit may or may not have happened: never inserted again
            return False

    insert(P["initial"])
    say("inserted %d messages for %d sites; daemons A (--database, key=value) and B ([database] url, URI) started"
        % (P["initial"], len(sites)))
    trickle_left = P["trickle"]
    trickle_batch = max(1, P["trickle"] // (20 * len(P["kinds"])))

    def sent_count():
        return db.query("SELECT count(*) FROM outbox WHERE status = 'sent'", retry_for=0)[0][0]

    failovers = []  # dicts: at, killed, promoted, inflight ids, queued tokens, resume times
    fail_at = int(P["frac"] * P["initial"])  # sent count that triggers the next failover
    last_trickle = last_progress = 0.0
    while len(failovers) < len(P["kinds"]):
        t = now()
        if trickle_left > 0 and t - last_trickle >= 0.5:
            n = min(trickle_batch, trickle_left)
            if insert(n):
                trickle_left -= n
            last_trickle = t
        try:
            sent = sent_count()
        except psycopg2.Error:
            db.close()
            time.sleep(0.2)
            continue
        if t - last_progress >= 5:
            say("sent %d of %d inserted" % (sent, len(acked)))
            last_progress = t
        if t > 300:
            raise RuntimeError("the drain did not reach the next failover point in 300 s")
        if sent < fail_at:
            time.sleep(0.1)
            continue
        if failovers and pair.standby.running() is False:
            raise RuntimeError("no standby to fail over to")
        # --- the failover
        k = len(failovers) + 1
        inflight_before = {r[0] for r in db.query("SELECT id FROM outbox WHERE status = 'sending'")}
        db.close()
        old = pair.primary.name
        kind = P["kinds"][k - 1]
        paused = pair.walreceiver_pid() if lag > 0 else None
        if paused:  # async lag: what the primary commits from now on never reaches the standby
            os.kill(paused, signal.SIGSTOP)
            lag_end = time.monotonic() + lag
            while time.monotonic() < lag_end:  # the application goes on inserting meanwhile
                if trickle_left > 0 and insert(min(trickle_batch, trickle_left)):
                    trickle_left -= min(trickle_batch, trickle_left)
                time.sleep(0.1)
        start_wall = time.time()  # the daemons' log stamps are wall-clock time
        if kind == "vanish":
            hosts.vanish(pair.nodes.index(pair.primary))
            pair.kill_primary()  # powered off: whatever FIN or RST it sends goes nowhere
        elif kind == "auto":
            pair.start_failover()
        elif kind == "kill":
            pair.kill_primary()
        else:
            pair.demote_primary()
        killed = now()
        db.close()
        if paused:
            os.kill(paused, signal.SIGCONT)
        say("failover #%d: primary %s %s with %d rows sending, %d sent"
            % (k, old, {"kill": "killed (pg_ctl stop -m immediate)", "demote": "demoted (read-only, still up)",
                        "vanish": "vanished (nothing comes back from its host: a blackhole route, then power-off)",
                        "auto": "being failed over (pg_autoctl perform failover)"}[kind],
               len(inflight_before), sent))
        while now() - killed < P["gap"]:  # the failover manager's detection time
            time.sleep(0.1)
        pair.promote_standby()
        promoted, promoted_wall = now(), time.time()
        st = db.query("SELECT id, status, substr(subject, 7) FROM outbox WHERE status IN ('sending', 'queued')", retry_for=10)
        inflight_after = {r[0] for r in st if r[1] == "sending"}
        queued_tokens = {r[2] for r in st if r[1] == "queued"}
        queued_ids = {r[0] for r in st if r[1] == "queued"}
        sent_at_promotion = sent_count()
        # new mail right after the promotion (one message per site): delivery has resumed
        # when queued mail, this or older, reaches a relay
        before_probe = set(acked)
        while not insert(len(sites)):
            time.sleep(0.2)
        queued_tokens |= set(acked) - before_probe
        say("failover #%d: standby %s promoted %.1f s after; on it: %d rows sending, %d queued, %d sent"
            % (k, pair.primary.name, promoted - killed, len(inflight_after), len(queued_tokens), sent_at_promotion))
        fo = dict(n=k, kind=kind, killed=killed, promoted=promoted, inflight=inflight_before | inflight_after,
                  lost_claims=inflight_before & queued_ids, resume_record=None, resume_claim=None,
                  start_wall=start_wall, promoted_wall=promoted_wall,
                  new_primary="%s:%d" % (pair.primary.host(), getattr(pair.primary, "port", 5432)))
        # delivery resumed: a message queued at the promotion reached a relay; outcomes recorded again
        seen = len(relay.received())
        while now() - promoted < 60 and (fo["resume_claim"] is None or fo["resume_record"] is None):
            got = relay.received()
            if fo["resume_claim"] is None and any(h in queued_tokens for _, _, h, _ in got[seen:]):
                fo["resume_claim"] = now() - promoted
            seen = len(got) if fo["resume_claim"] is None else seen
            if fo["resume_record"] is None and sent_count() > sent_at_promotion:
                fo["resume_record"] = now() - promoted
            if not queued_tokens and fo["resume_record"] is not None:
                fo["resume_claim"] = fo["resume_record"]
            time.sleep(0.1)
        say("failover #%d: outcomes recorded again after %s, queued mail delivered after %s (from the promotion)"
            % (k, fo["resume_record"] is not None and "%.1f s" % fo["resume_record"] or "never",
               fo["resume_claim"] is not None and "%.1f s" % fo["resume_claim"] or "never"))
        # sitemailctl with the multi-host url, from each source (CONTRACT §1, §11)
        checks = [("--database key=value", [args.sitemailctl, "--database", dsn, "queue", "--limit", "1"], env),
                  ("$SITEMAIL_DATABASE URI", [args.sitemailctl, "queue", "--limit", "1"], env),
                  ("[database] url URI", [args.sitemailctl, "--config", conf_b, "sites"],
                   dict(daemon_env, SITEMAIL_CONFIG_DIR=config_dir))]
        fo["ctl"] = []
        for what, cmd, e in checks:
            r = subprocess.run(cmd, env=e, capture_output=True, text=True, timeout=60)
            fo["ctl"].append((what, r.returncode, r.stderr.strip()[:200]))
        failovers.append(fo)
        if len(failovers) < len(P["kinds"]):
            pair.attach_standby()  # the old primary, rebuilt as the new standby
            say("failover #%d: %s rebuilt as the standby of %s (%s)" % (k, pair.standby.name, pair.primary.name, mode))
            base = sent_count()
            while not insert(P["wave"]):
                time.sleep(0.2)
            fail_at = base + int(P["frac"] * P["wave"])
            say("inserted the next wave of %d messages" % P["wave"])

    # --- settle
    while trickle_left > 0:
        n = min(trickle_batch, trickle_left)
        if insert(n):
            trickle_left -= n
    say("waiting up to %.0f s for the queue to settle" % args.settle_timeout)
    settle_start = now()
    settled = False
    while now() - settle_start < args.settle_timeout:
        left = db.query("SELECT count(*) FROM outbox WHERE status IN ('queued', 'sending')")[0][0]
        if left == 0:
            settled = True
            break
        time.sleep(0.5)
    say("queue %s after %.1f s" % ("settled" if settled else "NOT settled", now() - settle_start))

    # --- stop, then judge
    stop_codes = {}
    for name, (p, log) in daemons.items():
        alive = p.poll() is None
        p.send_signal(signal.SIGTERM)
        try:
            stop_codes[name] = (alive, p.wait(timeout=60))
        except subprocess.TimeoutExpired:
            p.kill()
            stop_codes[name] = (alive, None)
        log.close()
    for name, (p, log) in control.items():
        # blocked on the vanished host (a SIGTERM would wait for the kernel's ~15 min)
        stop_codes[name] = (p.poll() is None, None)
        p.kill()
        p.wait()
        log.close()
    relay_stats = relay.stop()
    received = relay.received()
    rows = db.query("SELECT id, status, substr(subject, 7) FROM outbox")
    db.close()
    logs = {n: open(os.path.join(work, "logs", "sitemaild-%s.log" % n), errors="replace").read() for n in daemons}
    control_logs = {n: open(os.path.join(work, "logs", "sitemaild-%s.log" % n), errors="replace").read()
                    for n in control}

    failures = []

    def check(cond, good, bad):
        print(("ok:   " + good) if cond else ("FAIL: " + bad))
        if not cond:
            failures.append(bad)

    print()
    counts = Counter(h for _, _, h, _ in received)
    by_token = {r[2]: r for r in rows}
    missing = sorted(t for t in acked if t not in by_token)
    ambiguous_in = sum(1 for t in ambiguous if t in by_token)
    status = Counter(r[1] for r in rows)
    lost = sorted(t for t, r in by_token.items() if r[1] != "sent" or counts[t] == 0)
    dups = {t: c for t, c in counts.items() if c > 1}
    inflight = set().union(*(f["inflight"] for f in failovers)) if failovers else set()
    outside = sorted(t for t in dups if by_token.get(t, (None,))[0] not in inflight)
    unknown = [t for t in counts if t not in by_token]
    print("messages: %d inserted and acknowledged, %d inserts with an unknown outcome (%d of them committed), "
          "%d rows; relays: %d connections, %d messages accepted"
          % (len(acked), len(ambiguous), ambiguous_in, len(rows), relay_stats["connections"], relay_stats["messages"]))
    print("failovers: %d; in flight at them: %d rows; duplicates: %d tokens (%d extra copies), %d outside the "
          "in-flight rows; claims the new primary did not have (back to queued): %d"
          % (len(failovers), len(inflight), len(dups), sum(c - 1 for c in dups.values()), len(outside),
             sum(len(f["lost_claims"]) for f in failovers)))
    recovered = sum(l.count("event=recovered") for l in logs.values())
    lease_lost = sum(l.count("event=lease_lost") for l in logs.values())
    requeued = sum(l.count("event=requeued") for l in logs.values())
    print("daemon logs: %d event=recovered (a live instance's rows taken over), %d event=lease_lost, %d event=requeued"
          % (recovered, lease_lost, requeued))
    for f in failovers:
        print("  failover #%d (%s): promoted %.1f s after; outcomes recorded again after %s, queued mail delivered "
              "after %s (from the promotion)" % (f["n"], f["kind"], f["promoted"] - f["killed"],
                                                 "%.1f s" % f["resume_record"] if f["resume_record"] is not None else "never",
                                                 "%.1f s" % f["resume_claim"] if f["resume_claim"] is not None else "never"))
    if args.asynchronous:
        print("asynchronous replication (measured, not asserted): %d acknowledged inserts lost, %d rows not delivered "
              "or lost, %d duplicates (%d outside the rows in flight)" % (len(missing), len(lost), len(dups), len(outside)))
    else:
        check(not missing, "every acknowledged INSERT has its row (%d)" % len(acked),
              "%d acknowledged messages have no row: %s" % (len(missing), missing[:10]))
        check(not lost, "0 lost: all %d rows sent and received by a relay" % len(rows),
              "%d rows not sent or never received: %s" % (len(lost), lost[:10]))
        check(not outside, "duplicates only among the %d rows in flight at a failover (%d)" % (len(inflight), len(dups)),
              "%d duplicates of rows not in flight at any failover: %s" % (len(outside), outside[:10]))
        check(recovered == 0, "no live instance's rows were taken over (0 event=recovered)",
              "%d event=recovered: a live instance's rows were taken over" % recovered)
    check(status["sending"] == 0, "0 stuck in sending", "%d rows stuck in sending" % status["sending"])
    check(settled, "the queue settled (%s)" % dict(status), "the queue did not settle: %s" % dict(status))
    if args.asynchronous:
        print("asynchronous replication: %d messages delivered whose row the failover lost (inserted and sent on the "
              "old primary within the lag)" % len(unknown))
    else:
        check(not unknown, "no unknown token received", "%d unknown tokens received" % len(unknown))
    for f in failovers:
        check(f["resume_claim"] is not None and f["resume_claim"] <= 30,
              "failover #%d: delivery resumed %.1f s after the promotion" % (f["n"], f["resume_claim"] or 0),
              "failover #%d: delivery did not resume within 30 s of the promotion" % f["n"])
        for what, rc, err in f["ctl"]:
            check(rc == 0, "failover #%d: sitemailctl with the multi-host url from %s" % (f["n"], what),
                  "failover #%d: sitemailctl with the multi-host url from %s exited %d: %s" % (f["n"], what, rc, err))
    for f in failovers:
        if f["kind"] in ("vanish", "auto"):
            connection_verdict(f, logs, control_logs, check)
    for name, (alive, rc) in sorted(stop_codes.items()):
        if name in control:
            check(alive, "sitemaild %s was still waiting on the vanished host at the end (killed)" % name,
                  "sitemaild %s exited during the run" % name)
            continue
        check(alive and rc == 0, "sitemaild %s ran throughout and stopped cleanly" % name,
              "sitemaild %s: running at the end %s, exit code %s" % (name, alive, rc))
    check(len(failovers) == len(P["kinds"]), "%d failovers happened" % len(failovers), "only %d failovers" % len(failovers))
    print("failover drill (%s): %s in %.0f s" % (mode, "PASSED" if not failures else "FAILED", now()))
    result = 1 if failures else 0
except Exception as e:  # setup or harness failure: not a verdict on sitemail
    import traceback
    traceback.print_exc()
    print("failover drill: could not run: %s" % e)
    result = 2
finally:
    for p, log in list(daemons.values()) + list(control.values()):
        if p.poll() is None:
            p.kill()
            p.wait()
        log.close()
    if relay is not None and relay.proc.poll() is None:
        relay.proc.kill()
        relay.proc.wait()
    if pair is not None:
        pair.stop()
    if hosts is not None:
        hosts.cleanup()
    if result != 0 and args.keep:
        print("failover drill: files kept in %s" % work)
    else:
        if result != 0:
            for n in list(daemons) + list(control):  # the evidence, before the files go
                path = os.path.join(work, "logs", "sitemaild-%s.log" % n)
                if os.path.exists(path):
                    with open(path, errors="replace") as f:
                        tail = f.readlines()[-15:]
                    print("--- last lines of sitemaild %s:\n%s" % (n, "".join(tail)))
        shutil.rmtree(work, ignore_errors=True)
sys.exit(result)
