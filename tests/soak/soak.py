#!/usr/bin/python3
"""soak.py — sitemail's soak proof (issue 8): two sitemaild instances with the shipped
defaults deliver mail inserted in waves for many sites to real SMTP relays that count a
unique token per message, while a random instance is SIGKILLed (and restarted) every few
seconds and PostgreSQL is restarted mid-delivery. At the end it asserts that nothing was
lost, nothing is left `sending`, everything settled, and that every duplicate belongs to a
row a killed instance held when it died; it prints the recovery delay after each kill.

Run through deploy/soak.sh (--short: the CI version, about 2 minutes once crash recovery
takes seconds; --full: 200 sites, 20,000 messages). Exit 0 when every assertion holds,
1 when one is violated, 2 when the run could not be set up.
PostgreSQL runs with its durable defaults (fsync, synchronous_commit on): one restart is
a clean fast shutdown, the other an immediate shutdown (a crash, then WAL recovery).
"""
import argparse, os, random, shutil, signal, sys, tempfile, time

from soak_checks import recovery_table, verify
from soak_processes import Daemon, Db, PgCluster, Relay, run_checked

PROFILES = {
    # sites, messages, waves, seconds between waves, kills (spread over the waves),
    # PostgreSQL restarts (mode, after the wave at this fraction of the waves)
    "short": dict(sites=40, messages=3000, waves=6, wave_every=4.0, kills=4, pg_restarts=[("immediate", 0.5)]),
    "full": dict(sites=200, messages=20000, waves=20, wave_every=3.0, kills=10,
                 pg_restarts=[("fast", 0.3), ("immediate", 0.75)]),
}

ap = argparse.ArgumentParser(description="sitemail soak test (see docs/development.md, 'Soak test')")
ap.add_argument("--profile", choices=sorted(PROFILES), default="short")
ap.add_argument("--sitemaild", required=True)
ap.add_argument("--sitemailctl", required=True)
ap.add_argument("--work", help="work directory (default: a new one under /tmp; kept when the run fails)")
ap.add_argument("--settle-timeout", type=float, default=900,
                help="seconds to wait, after the last kill/restart, for the queue to settle (default 900: "
                     "enough for a 300 s lease to run out)")
ap.add_argument("--restart-delay", type=float, default=1.0, help="seconds between a SIGKILL and the restart")
ap.add_argument("--flaky-fraction", type=float, default=0.25, help="share of sites whose relay injects faults")
ap.add_argument("--fault-rate", type=float, default=0.10, help="share of messages a flaky relay faults once")
ap.add_argument("--conn-fault-rate", type=float, default=0.03, help="share of connections a flaky relay faults")
ap.add_argument("--relay-delay-ms", type=float, default=100, help="relays wait 0..this before each 250 to DATA")
ap.add_argument("--reject-rate", type=float, default=0.005, help="share of messages to a recipient refused with 550")
ap.add_argument("--cancel", type=int, default=5, help="messages queued for later and cancelled with sitemailctl")
ap.add_argument("--seed", type=int, default=None)
ap.add_argument("--daemon-conf-extra", default="",
                help="lines appended to the daemons' sitemaild.conf (development only; the default is "
                     "the shipped defaults)")
args = ap.parse_args()
P = PROFILES[args.profile]
seed = args.seed if args.seed is not None else int(time.time()) % 100000
rng = random.Random(seed)
T0 = time.monotonic()


def now():
    return time.monotonic() - T0


def say(text):
    print("[%7.1f] %s" % (now(), text), flush=True)


work = args.work or tempfile.mkdtemp(prefix="sitemail-soak.")
if os.path.exists(work):
    PgCluster(os.path.join(work, "pg")).stop()  # a cluster left running by an interrupted run
    shutil.rmtree(work)
os.makedirs(os.path.join(work, "config"))
os.makedirs(os.path.join(work, "logs"))
os.chmod(work, 0o755)
os.environ.pop("SITEMAIL_PG_FAST", None)  # durable PostgreSQL settings
sites = ["S%03d" % i for i in range(P["sites"])]
flaky_sites = [s for i, s in enumerate(sites) if rng.random() < args.flaky_fraction]
print("soak: profile %s, seed %d, work dir %s" % (args.profile, seed, work))
print("soak: %d sites (%d with fault-injecting relays), %d messages in %d waves every %.0f s, two sitemaild, "
      "%d SIGKILLs (restart after %.1f s), PostgreSQL restarts: %s; settle timeout %.0f s"
      % (len(sites), len(flaky_sites), P["messages"], P["waves"], P["wave_every"], P["kills"], args.restart_delay,
         ", ".join(m for m, _ in P["pg_restarts"]), args.settle_timeout))
print("soak: sitemaild config: shipped defaults%s" % (" + development overrides: " + args.daemon_conf_extra.replace("\\n", "; ")
                                                      if args.daemon_conf_extra else " (metrics off)"), flush=True)

signal.signal(signal.SIGTERM, lambda *_: sys.exit(2))  # stop everything through `finally`
pg = PgCluster(os.path.join(work, "pg"))
relay = None
daemons = []
result = 2
try:
    # --- setup: database, relays, site files, daemons
    dsn = pg.start()
    env = dict(os.environ, SITEMAIL_DATABASE=dsn, SITEMAIL_CONFIG_DIR=os.path.join(work, "config"))
    run_checked([args.sitemailctl, "db", "migrate"], env)
    db = Db(dsn)
    db.query("INSERT INTO customization (custkey, value, nvtgc) VALUES ('EMailSMTPServer','127.0.0.1','ILL'),"
             "('EMailFromAddress','soak@lib.example','ILL'),('Helo','soak.example','ILL')")
    relay = Relay(work, len(sites) - len(flaky_sites), len(flaky_sites), args.fault_rate, args.conn_fault_rate,
                  args.relay_delay_ms, seed)
    plain_ports, flaky_ports = list(relay.ports["plain"]), list(relay.ports["flaky"])
    port_of = {s: (flaky_ports.pop() if s in flaky_sites else plain_ports.pop()) for s in sites}
    for s in sites:
        with open(os.path.join(work, "config", s + ".config"), "w") as f:
            f.write("<MailSettings><EMailSMTPPort>%d</EMailSMTPPort></MailSettings>\n" % port_of[s])
    conf = os.path.join(work, "sitemaild.conf")
    with open(conf, "w") as f:
        f.write("[metrics]\nlisten =\n" + (args.daemon_conf_extra.replace("\\n", "\n") + "\n" if args.daemon_conf_extra else ""))
    daemons = [Daemon(n, args.sitemaild, conf, dsn, os.path.join(work, "config"), os.path.join(work, "logs")) for n in "AB"]
    for d in daemons:
        d.start()

    # --- the plan: waves, kills, PostgreSQL restarts (seconds after the daemons started)
    t_run = now()
    # Kills and restarts follow a wave by a moment, while both daemons are busy with it.
    wave_at = [2.0 + w * P["wave_every"] for w in range(P["waves"])]
    events = [(at, "wave", w) for w, at in enumerate(wave_at)]
    for k in range(P["kills"]):
        w = 1 + round(k * (P["waves"] - 1) / P["kills"])
        events.append((wave_at[w] + rng.uniform(0.2, 1.0), "kill", k + 1))
    for mode, frac in P["pg_restarts"]:
        events.append((wave_at[round(frac * (P["waves"] - 1))] + rng.uniform(0.5, 2.0), "pg", mode))
    events = sorted(((t_run + at, kind, arg) for at, kind, arg in events), key=lambda e: e[0])

    weights = [5 if i < max(1, len(sites) // 10) else 1 for i in range(len(sites))]  # a few busy sites
    expected = {}
    body = ("soak message body line, padding the message to about one KiB. " * 14 + "\n")
    seq = 0
    cancel_tokens = []

    def insert_wave(w):
        global seq
        n = P["messages"] // P["waves"] + (1 if w < P["messages"] % P["waves"] else 0)
        rows = []
        for _ in range(n):
            seq += 1
            token = "%06d%04x" % (seq, rng.randrange(1 << 16))
            site = rng.choices(sites, weights)[0]
            kind, delay = "ok", 0
            if w == 0 and len(cancel_tokens) < args.cancel:
                kind, delay = "cancel", 3600
                cancel_tokens.append(token)
            elif rng.random() < args.reject_rate:
                kind = "reject"
            local = ("reject-" if kind == "reject" else "t") + token
            rows.append((site, "%s@%s.soak.example" % (local, site.lower()), "soak " + token, body,
                         "X-Soak-Token: " + token, delay))
            expected[token] = kind
        db.insert_rows(rows)
        say("wave %d: inserted %d messages" % (w + 1, n))
        if w == 0 and cancel_tokens:
            ids = [str(r[0]) for r in db.query("SELECT id FROM outbox WHERE subject = ANY(%s)",
                                                (["soak " + t for t in cancel_tokens],))]
            run_checked([args.sitemailctl, "queue", "cancel"] + ids, env)
            say("cancelled %d queued messages with sitemailctl queue cancel" % len(ids))

    held_sql = ("SELECT id FROM outbox WHERE status = 'sending' AND (lease_owner = ANY(%s) "
                "OR (cardinality(%s::text[]) = 0 AND lease_owner LIKE %s))")

    def held_by(owners, pid):
        return {r[0] for r in db.query(held_sql, (owners, owners, "%:" + str(pid) + ":%"))}

    kills, restarts_due = [], []

    def kill_one(n):
        live = [d for d in daemons if d.running()]
        if not live:
            return
        d = rng.choice(live)
        owners = d.owners()
        pid = d.proc.pid
        before = held_by(owners, pid)
        d.kill()
        at = now()
        owners = d.owners() or owners
        stranded = held_by(owners, pid)
        kills.append(dict(n=n, victim=d.name, pid=pid, owners=owners, at=at, ids=before | stranded,
                          stranded=stranded, released=None, settled=None))
        restarts_due.append((at + args.restart_delay, d))
        say("kill #%d: SIGKILL sitemaild %s (pid %d), which held %d rows" % (n, d.name, pid, len(stranded)))

    def poll_recovery():
        for k in kills:
            if k["settled"] is not None:
                continue
            if not k["stranded"]:
                k["released"] = k["settled"] = 0.0
                continue
            r = db.try_query("SELECT count(*) FILTER (WHERE status = 'sending' AND (lease_owner = ANY(%s) "
                             "OR (cardinality(%s::text[]) = 0 AND lease_owner LIKE %s))),"
                             " count(*) FILTER (WHERE status NOT IN ('sent', 'failed', 'cancelled'))"
                             " FROM outbox WHERE id = ANY(%s)",
                             (k["owners"], k["owners"], "%:" + str(k["pid"]) + ":%", list(k["stranded"])))
            if r is None:
                return
            held, open_rows = r[0]
            t = now() - k["at"]
            if held == 0 and k["released"] is None:
                k["released"] = t
                say("kill #%d: all %d rows of the dead instance re-claimed/settled by others after %.1f s"
                    % (k["n"], len(k["stranded"]), t))
            if open_rows == 0:
                k["settled"] = t

    def progress():
        r = db.try_query("SELECT status, count(*) FROM outbox GROUP BY status")
        counts = dict(r) if r is not None else "PostgreSQL down"
        say("queue %s; sitemaild up: %s" % (counts, "".join(d.name for d in daemons if d.running()) or "none"))

    # --- the run
    last_progress = last_poll = 0.0
    pg_restarts_done = []
    while events or restarts_due or pg.restarting:
        t = now()
        if pg.restarting:
            took = pg.restart_done()
            if took is not None:
                pg_restarts_done.append((pg.restart_mode, took))
                say("PostgreSQL restarted (%s) in %.1f s" % (pg.restart_mode, took))
        if not pg.restarting:
            for due, d in list(restarts_due):
                if due <= t:
                    restarts_due.remove((due, d))
                    d.start()
                    say("sitemaild %s restarted (incarnation %d)" % (d.name, d.incarnation))
            while events and events[0][0] <= t and not pg.restarting:
                _, kind, arg = events.pop(0)
                if kind == "wave":
                    insert_wave(arg)
                elif kind == "kill":
                    kill_one(arg)
                else:
                    say("restarting PostgreSQL (%s)" % arg)
                    pg.begin_restart(arg)
        for d in daemons:
            if d.proc is not None and not d.check_alive():
                say("sitemaild %s exited on its own (code %s)" % (d.name, d.unexpected_exits[-1][1]))
                restarts_due.append((now() + args.restart_delay, d))
        if t - last_poll >= 0.25:
            poll_recovery()
            last_poll = t
        if t - last_progress >= 5:
            progress()
            last_progress = t
        time.sleep(0.05)

    # --- settle: the relays heal (so a retry interval bounds the rest), wait until nothing
    # is queued or sending
    relay.heal()
    say("all waves, kills and restarts done; relays healed; waiting up to %.0f s for the queue to settle"
        % args.settle_timeout)
    settle_start = now()
    settled = False
    while now() - settle_start < args.settle_timeout:
        poll_recovery()
        for d in daemons:
            if d.proc is not None and not d.check_alive():
                say("sitemaild %s exited on its own (code %s); restarting it" % (d.name, d.unexpected_exits[-1][1]))
                d.start()
        left = db.query("SELECT count(*) FROM outbox WHERE status IN ('queued', 'sending')")[0][0]
        if left == 0:
            settled = True
            break
        if now() - last_progress >= 10:
            progress()
            last_progress = now()
        time.sleep(0.5)
    poll_recovery()
    say("queue %s after %.1f s of settling" % ("settled" if settled else "NOT settled", now() - settle_start))

    # --- stop everything, then judge
    stop_codes = [(d.name, d.stop(timeout=60)) for d in daemons]
    stats = relay.stop()
    received = relay.received()
    rows = db.query("SELECT id, nvtgc, status, attempts, substr(subject, 6), coalesce(last_error, '') FROM outbox")
    db.close()
    print()
    print("relays: %d connections, %d messages accepted, %d QUIT, %d refused with 550, faults injected: %s"
          % (stats["connections"], stats["messages"], stats["quit"], stats["rejected_550"],
             ", ".join("%s %d" % kv for kv in sorted(stats["faults"].items())) or "none"))
    print("PostgreSQL restarts: %s" % (", ".join("%s (%.1f s)" % r for r in pg_restarts_done) or "none"))
    recovery_table(kills)
    verdict = verify(expected, rows, received, kills, settled)
    for d in daemons:
        for inc, rc in d.unexpected_exits:
            verdict.fail("sitemaild %s incarnation %d exited on its own with code %s (see logs/sitemaild-%s.%d.log)"
                         % (d.name, inc, rc, d.name, inc))
    for name, rc in stop_codes:
        verdict.check(rc == 0, "sitemaild %s stopped cleanly on SIGTERM" % name,
                      "sitemaild %s did not exit 0 on SIGTERM (code %s)" % (name, rc))
    verdict.check(len(pg_restarts_done) == len(P["pg_restarts"]) and len(kills) == P["kills"],
                  "%d kills and %d PostgreSQL restarts happened" % (len(kills), len(pg_restarts_done)),
                  "the plan did not run: %d kills, %d PostgreSQL restarts" % (len(kills), len(pg_restarts_done)))
    print("soak: %s in %.0f s (%d violations)" % ("PASSED" if not verdict.failures else "FAILED", now(),
                                                   len(verdict.failures)))
    result = 1 if verdict.failures else 0
except Exception as e:  # setup or harness failure: not a verdict on sitemail
    import traceback
    traceback.print_exc()
    print("soak: could not run: %s" % e)
    result = 2
finally:
    for d in daemons:
        if d.proc is not None:
            d.proc.kill()
            d.proc.wait()
    if relay is not None and relay.proc.poll() is None:
        relay.proc.kill()
    pg.stop()
    if result == 0 and not args.work:
        shutil.rmtree(work, ignore_errors=True)
    elif result != 0:
        print("soak: logs kept in %s" % work)
sys.exit(result)
