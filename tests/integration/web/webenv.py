"""webenv.py — what the web console's tests share: a private database on the test cluster
(deploy/pg-cluster.sh, ctest fixture "pg"), a temporary config dir, sitemailctl, a running
sitemaild serving the console on 127.0.0.1, Postfix smtp-sink as a real relay, and a small
cookie-keeping HTTP client. Everything is removed on exit, also when a test fails.

Ports: a free port is picked by binding port 0; when a peer or sitemaild then fails to bind
it (another test took it meanwhile) it is started again on a new port, so there is no race.
"""
import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.parse

CTL = os.environ.get("SITEMAIL_CTL", "sitemailctl")
DAEMON = os.environ.get("SITEMAIL_DAEMON", "sitemaild")


def cluster_conninfo():
    pg_dir = os.environ["SITEMAIL_TEST_PG_DIR"]
    with open(os.path.join(pg_dir, "conninfo")) as f:
        return f.read().strip()


def psql(conninfo, sql):
    return subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-c", sql],
                          check=True, capture_output=True, text=True).stdout.strip()


def pick_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, seconds=15.0):
    end = time.time() + seconds
    while time.time() < end:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class WebEnv:
    """with WebEnv("name") as env: env.ctl(...), env.start_daemon(), env.client() ..."""

    def __init__(self, name):
        self.name = "web_%s_%d" % (name, os.getpid())
        self.tmp = tempfile.mkdtemp(prefix="sitemail-web-")
        self.config_dir = os.path.join(self.tmp, "config")
        os.makedirs(self.config_dir)
        self.procs = []
        self.daemon = None
        self.log_path = os.path.join(self.tmp, "sitemaild.log")
        base = cluster_conninfo()
        psql(base, 'DROP DATABASE IF EXISTS "%s"' % self.name)
        psql(base, 'CREATE DATABASE "%s"' % self.name)
        self.db_created = True
        self.conninfo = re.sub(r"dbname=\S+", "dbname=" + self.name, base)
        self.ctl("db", "migrate")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.procs.clear()
        if self.db_created:
            try:
                psql(cluster_conninfo(), 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % self.name)
            except Exception:
                pass
            self.db_created = False
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- programs ----------------------------------------------------------------------------

    def ctl(self, *args, input=None, check=True):
        env = dict(os.environ, SITEMAIL_DATABASE=self.conninfo, SITEMAIL_CONFIG_DIR=self.config_dir)
        r = subprocess.run([CTL] + list(args), input=input, capture_output=True, text=True, env=env)
        if check and r.returncode not in (0,):
            raise AssertionError("sitemailctl %s: exit %d\n%s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def sql(self, statement):
        return psql(self.conninfo, statement)

    def smtp_sink(self):
        """Postfix smtp-sink on a free port; returns the port."""
        for _ in range(10):
            port = pick_port()
            cmd = ["/usr/sbin/smtp-sink"] + (["-u", "nobody"] if os.getuid() == 0 else []) + ["127.0.0.1:%d" % port, "100"]
            p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if wait_port(port, p, 5):
                self.procs.append(p)
                return port
            p.kill()
            p.wait()
        raise AssertionError("smtp-sink did not start")

    def write_conf(self, web_listen, extra=""):
        path = os.path.join(self.tmp, "sitemaild.conf")
        with open(path, "w") as f:
            f.write("[database]\nurl = %s\n[sites]\nconfig_dir = %s\n[metrics]\nlisten =\n[web]\nlisten = %s\n%s"
                    % (self.conninfo, self.config_dir, web_listen, extra))
        return path

    def start_daemon(self, tls_cert="", tls_key=""):
        """sitemaild with the console on 127.0.0.1:<free port>; returns the port."""
        extra = ("tls_cert = %s\ntls_key = %s\n" % (tls_cert, tls_key)) if tls_cert else ""
        for _ in range(10):
            port = pick_port()
            conf = self.write_conf("127.0.0.1:%d" % port, extra)
            log = open(self.log_path, "a")
            env = dict(os.environ, SITEMAIL_DATABASE="", SITEMAIL_CONFIG_DIR="")
            p = subprocess.Popen([DAEMON, "--config", conf], stdout=log, stderr=log, env=env)
            log.close()
            if wait_port(port, p, 20):
                self.procs.append(p)
                self.daemon = p
                self.port = port
                self.tls = bool(tls_cert)
                return port
            if p.poll() is None:
                p.kill()
            p.wait()
        raise AssertionError("sitemaild did not start:\n" + self.log())

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    def client(self):
        return Client(self.port, self.tls)


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # list of (name, value)
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def csrf(self):
        m = re.search(r'<meta name="csrf-token" content="([^"]*)">', self.body)
        return m.group(1) if m else ""


class Client:
    """A cookie-keeping HTTP/1.1 client (one connection per request)."""

    def __init__(self, port, tls=False):
        self.port = port
        self.tls = tls
        self.cookies = {}

    def request(self, method, path, fields=None, raw_body=None, content_type="application/x-www-form-urlencoded"):
        if self.tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=60, context=ctx)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        body = None
        if fields is not None:
            body = urllib.parse.urlencode(fields)
        if raw_body is not None:
            body = raw_body
        if body is not None:
            headers["Content-Type"] = content_type
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        reply = Reply(r.status, r.getheaders(), r.read().decode("utf-8", "replace"))
        conn.close()
        for c in reply.all("Set-Cookie"):
            name, _, rest = c.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in c:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return reply

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, fields):
        return self.request("POST", path, fields=fields)

    def login(self, user, password):
        page = self.get("/login")
        return self.post("/login", {"user": user, "password": password, "csrf": page.csrf()})
