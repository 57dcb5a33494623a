#!/usr/bin/python3
"""pooler.py — sitemail behind PgBouncer (CONTRACT §11, issue 18), with Debian's pgbouncer
on private Unix sockets in front of a private PostgreSQL (tests/failover/pg_pair.py):
  - pool_mode = session: `sitemailctl db migrate`, then sitemaild delivers through it
    (all messages sent, each received once by the relay) and stops cleanly;
  - pool_mode = transaction: sitemaild refuses to start, exit 2, saying why and that
    pool_mode = session is what to set.
Exit 0 when both hold, 1 when one fails, 2 when the run could not be set up, 77 when
pgbouncer is not installed (ctest: skipped). Removes every file and process it made."""
import os, shutil, signal, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "soak"))
import psycopg2  # noqa: E402
from pg_pair import AS_ROOT, USER, Node  # noqa: E402
from soak_processes import Relay  # noqa: E402

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
if not os.path.exists(PGBOUNCER):
    print("pooler: pgbouncer is not installed (deploy/install-deps.sh); skipped")
    sys.exit(77)
sitemaild, sitemailctl = sys.argv[1], sys.argv[2]
work = tempfile.mkdtemp(prefix="sitemail-pooler.")
os.chmod(work, 0o755)
node = Node(work, "pg")
bouncers, failures, result = [], [], 2
relay = None
signal.signal(signal.SIGTERM, lambda *_: sys.exit(2))  # clean up through `finally`


def check(cond, good, bad):
    print(("ok:   " + good) if cond else ("FAIL: " + bad), flush=True)
    if not cond:
        failures.append(bad)


def start_bouncer(mode):
    d = os.path.join(work, "bouncer-" + mode)
    os.makedirs(d)
    with open(os.path.join(d, "users.txt"), "w") as f:
        f.write('"%s" ""\n' % USER)
    ini = os.path.join(d, "pgbouncer.ini")
    with open(ini, "w") as f:
        f.write("[databases]\npostgres = host=%s port=5432 dbname=postgres\n"
                "[pgbouncer]\nlisten_addr =\nlisten_port = 6432\nunix_socket_dir = %s\nauth_type = trust\n"
                "auth_file = %s/users.txt\npool_mode = %s\ndefault_pool_size = 20\nmax_client_conn = 200\n"
                "logfile = %s/pgbouncer.log\npidfile = %s/pgbouncer.pid\n" % (node.dir, d, d, mode, d, d))
    if AS_ROOT:
        for p in (d, ini, os.path.join(d, "users.txt")):
            shutil.chown(p, "postgres", "postgres")
    cmd = [PGBOUNCER, ini]
    if AS_ROOT:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "stderr"), "w"))
    bouncers.append(p)
    dsn = "host=%s port=6432 dbname=postgres user=%s" % (d, USER)
    deadline = time.monotonic() + 20
    while True:
        try:
            psycopg2.connect(dsn, connect_timeout=2).close()
            return dsn
        except psycopg2.Error:
            if p.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("pgbouncer (%s) did not start: %s" % (mode, open(os.path.join(d, "stderr")).read()))
            time.sleep(0.2)


try:
    node.initdb()
    node.start()
    config_dir = os.path.join(work, "config")
    os.makedirs(config_dir)
    conf = os.path.join(work, "sitemaild.conf")
    with open(conf, "w") as f:
        f.write("[metrics]\nlisten =\n")
    env = dict(os.environ, SITEMAIL_CONFIG_DIR=config_dir)
    env.pop("SITEMAIL_DATABASE", None)

    # --- session mode: everything works
    dsn = start_bouncer("session")
    r = subprocess.run([sitemailctl, "--database", dsn, "db", "migrate"], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("db migrate through pgbouncer failed: " + r.stderr)
    relay = Relay(work, 1, 0, 0.0, 0.0, 20, 1)
    with open(os.path.join(config_dir, "POOL.config"), "w") as f:
        f.write("<MailSettings><EMailSMTPServer>127.0.0.1</EMailSMTPServer><EMailSMTPPort>%d</EMailSMTPPort>"
                "<EMailFromAddress>pool@lib.example</EMailFromAddress></MailSettings>\n" % relay.ports["plain"][0])
    db = psycopg2.connect(node.dsn())
    db.autocommit = True
    cur = db.cursor()
    cur.executemany("INSERT INTO outbox (nvtgc, to_addrs, subject, body_text, headers) VALUES ('POOL', %s, 'pool', 'x', %s)",
                    [("t%04d@pool.example" % i, "X-Soak-Token: %04d" % i) for i in range(20)])
    log_path = os.path.join(work, "sitemaild-session.log")
    d = subprocess.Popen([sitemaild, "--config", conf, "--database", dsn], env=env, stdout=subprocess.DEVNULL,
                         stderr=open(log_path, "w"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and d.poll() is None:
        cur.execute("SELECT count(*) FROM outbox WHERE status = 'sent'")
        if cur.fetchone()[0] == 20:
            break
        time.sleep(0.2)
    cur.execute("SELECT count(*) FROM outbox WHERE status = 'sent'")
    sent = cur.fetchone()[0]
    alive = d.poll() is None
    d.send_signal(signal.SIGTERM)
    rc = d.wait(timeout=60)
    tokens = [h for _, _, h, _ in relay.received()]
    check(alive and sent == 20 and sorted(set(tokens)) == ["%04d" % i for i in range(20)] and len(tokens) == 20,
          "pool_mode = session: sitemaild delivered 20 of 20, each once, through pgbouncer",
          "pool_mode = session: alive %s, %d of 20 sent, %d receipts; log: %s"
          % (alive, sent, len(tokens), open(log_path).read()[-1500:]))
    check(rc == 0, "pool_mode = session: sitemaild stopped cleanly", "pool_mode = session: exit code %s" % rc)

    # --- transaction mode: refused at start, exit 2, with the reason and the fix
    dsn = start_bouncer("transaction")
    r = subprocess.run([sitemaild, "--config", conf, "--database", dsn], env=env, capture_output=True, text=True, timeout=60)
    check(r.returncode == 2 and "pool_mode = session" in r.stderr and "transaction" in r.stderr,
          "pool_mode = transaction: sitemaild refused to start (exit 2): " + r.stderr.strip()[:160] + "...",
          "pool_mode = transaction: exit %d, stderr: %s" % (r.returncode, r.stderr.strip()))
    db.close()
    result = 1 if failures else 0
    print("pooler: %s" % ("PASSED" if not failures else "FAILED"))
except Exception as e:
    import traceback
    traceback.print_exc()
    print("pooler: could not run: %s" % e)
    result = 2
finally:
    for p in bouncers:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    if relay is not None and relay.proc.poll() is None:
        relay.proc.kill()
        relay.proc.wait()
    for d in os.listdir(work) if os.path.isdir(work) else []:  # runuser may not pass SIGTERM on
        pidfile = os.path.join(work, d, "pgbouncer.pid")
        if d.startswith("bouncer-") and os.path.exists(pidfile):
            try:
                os.kill(int(open(pidfile).read().strip()), signal.SIGKILL)
            except (OSError, ValueError):
                pass
    node.stop()
    shutil.rmtree(work, ignore_errors=True)
sys.exit(result)
