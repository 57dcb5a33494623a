#!/usr/bin/python3
"""smtp_server.py — an aiosmtpd test relay for sitemail's integration tests.

Writes one JSON file per received message into --out (envelope, exact data bytes,
the AUTH mechanism used, whether TLS was on, the client certificate subject, and the
peer address), one line per AUTH attempt into --out/auth.log, and CONNECT/QUIT lines
into --out/sessions.log.
Modes: --tls none|starttls|implicit; --client-ca CA requires a client certificate;
--user U:P enables AUTH (PLAIN, LOGIN built in, CRAM-MD5 added here);
--mechs limits the offered mechanisms. Prints "READY <port>" when listening.
"""
import argparse, asyncio, base64, hashlib, hmac, json, os, secrets, ssl, sys, time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--out", required=True)
p.add_argument("--tls", choices=["none", "starttls", "implicit"], default="none")
p.add_argument("--cert"); p.add_argument("--key")
p.add_argument("--client-ca")
p.add_argument("--user")
p.add_argument("--mechs", default="PLAIN,LOGIN,CRAM-MD5")
p.add_argument("--token", help="accept XOAUTH2 with this bearer token (offers XOAUTH2)")
p.add_argument("--tokens-file", help="accept the bearer tokens listed in this file, re-read at every AUTH (offers the --bearer mechanisms)")
p.add_argument("--bearer", default="XOAUTH2", help="bearer mechanisms offered with --tokens-file: XOAUTH2,OAUTHBEARER")
p.add_argument("--basic-retired", action="store_true", help="refuse passwords like Exchange Online: 535 5.7.139")
p.add_argument("--close-after-message", action="store_true", help="drop the connection after each accepted message")
p.add_argument("--auth-require-tls", action="store_true")
p.add_argument("--size", type=int, default=33554432, help="SIZE announced and enforced (RFC 1870)")
p.add_argument("--log-credentials", action="store_true",
               help="also write every login and password received to auth.log (tests that check no secret leaks)")
a = p.parse_args()
os.makedirs(a.out, exist_ok=True)
USER, PASS = (a.user.split(":", 1) if a.user else (None, None))
counter = 0

def auth_log(line):
    with open(os.path.join(a.out, "auth.log"), "a") as f:
        f.write(line + "\n")

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == USER and auth_data.password.decode() == PASS
    auth_log(f"{mechanism} {'ok' if ok else 'fail'}")
    if a.log_credentials and isinstance(auth_data, LoginPassword):
        auth_log("CREDENTIALS %r %r" % (auth_data.login, auth_data.password))
    if a.basic_retired:
        return AuthResult(success=False, handled=False,
                          message="535 5.7.139 Authentication unsuccessful, basic authentication is disabled.")
    if ok:
        session.sm_mechanism = mechanism
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd sends the 535

def session_log(line):
    with open(os.path.join(a.out, "sessions.log"), "a") as f:
        f.write(line + "\n")
def bearer_ok(auth):
    if not auth.startswith("Bearer "):
        return False
    tok = auth[len("Bearer "):]
    if a.token and tok == a.token:
        return True
    if a.tokens_file and os.path.exists(a.tokens_file):
        with open(a.tokens_file) as f:
            return tok in {l.strip() for l in f if l.strip()}
    return False

def token_note(auth):
    return " token=" + auth[len("Bearer "):] if a.tokens_file and auth.startswith("Bearer ") else ""

def tls_info(server):
    obj = server.transport.get_extra_info("ssl_object")
    if obj is None:
        return False, None
    cert = obj.getpeercert()
    subject = None
    if cert:
        subject = ",".join("%s=%s" % kv for rdn in cert.get("subject", ()) for kv in rdn)
    return True, subject

class Handler:
    async def handle_DATA(self, server, session, envelope):
        global counter
        counter += 1
        tls, client_subject = tls_info(server)
        rec = {
            "mail_from": envelope.mail_from,
            "mail_options": envelope.mail_options,
            "rcpt_tos": envelope.rcpt_tos,
            "data_b64": base64.b64encode(envelope.original_content or envelope.content).decode(),
            "auth": getattr(session, "sm_mechanism", None),
            "tls": tls,
            "client_subject": client_subject,
            "peer": list(session.peer) if session.peer else None,
            "session": "%s:%s" % tuple(session.peer[:2]) if session.peer else str(id(session)),
        }
        name = os.path.join(a.out, "msg-%06d.json" % counter)
        with open(name + ".tmp", "w") as f:
            json.dump(rec, f)
        os.rename(name + ".tmp", name)
        if a.close_after_message:
            asyncio.get_event_loop().call_soon(server.transport.close)
        return "250 2.0.0 Ok: queued as %d" % counter

class Smtp(SMTP):
    # sessions.log: "CONNECT" per SMTP session (its first EHLO/HELO: probes that only
    # open the port are not sessions), "QUIT tls=True|False" per QUIT received, so tests
    # can check that every session the client opened ended with QUIT.
    def _sm_session(self):
        if not getattr(self, "_sm_seen", False):
            self._sm_seen = True
            session_log("CONNECT")

    async def smtp_EHLO(self, hostname):
        self._sm_session()
        await super().smtp_EHLO(hostname)

    async def smtp_HELO(self, hostname):
        self._sm_session()
        await super().smtp_HELO(hostname)

    async def smtp_QUIT(self, arg):
        session_log("QUIT tls=%s" % (self.transport.get_extra_info("ssl_object") is not None))
        await super().smtp_QUIT(arg)

    async def auth_XOAUTH2(self, server, args):
        # RFC-less but documented by Google/Microsoft: base64("user=U\x01auth=Bearer T\x01\x01");
        # on failure a 334 with a JSON error, the client answers with an empty line, then 535.
        try:
            raw = base64.b64decode(args[1]).decode() if len(args) > 1 else ""
        except Exception:
            raw = ""
        fields = dict(f.split("=", 1) for f in raw.split("\x01") if "=" in f)
        ok = fields.get("user") == USER and bearer_ok(fields.get("auth", ""))
        auth_log(f"XOAUTH2 {'ok' if ok else 'fail'}" + token_note(fields.get("auth", "")))
        if ok:
            self.session.sm_mechanism = "XOAUTH2"
            return AuthResult(success=True, handled=False)
        err = base64.b64encode(b'{"status":"401","schemes":"bearer","scope":"mail"}').decode()
        await self.challenge_auth(err, encode_to_b64=False)
        return AuthResult(success=False, handled=False)

    async def auth_OAUTHBEARER(self, server, args):
        # RFC 7628: "n,a=USER,^Aauth=Bearer T^A^A"; failure: 334 JSON error, client sends ^A, then 535.
        try:
            raw = base64.b64decode(args[1]).decode() if len(args) > 1 else ""
        except Exception:
            raw = ""
        gs2, _, rest = raw.partition("\x01")
        fields = dict(f.split("=", 1) for f in rest.split("\x01") if "=" in f)
        authzid = gs2.split(",")[1][2:] if gs2.startswith("n,a=") else None
        ok = authzid == USER and bearer_ok(fields.get("auth", ""))
        auth_log(f"OAUTHBEARER {'ok' if ok else 'fail'}" + token_note(fields.get("auth", "")))
        if ok:
            self.session.sm_mechanism = "OAUTHBEARER"
            return AuthResult(success=True, handled=False)
        err = base64.b64encode(b'{"status":"invalid_token","scope":"mail"}').decode()
        resp = await self.challenge_auth(err, encode_to_b64=False)
        auth_log("OAUTHBEARER answer %r" % (resp,))
        return AuthResult(success=False, handled=False)

    async def auth_CRAM__MD5(self, server, args):
        challenge = ("<%s.%d@test>" % (secrets.token_hex(4), int(time.time()))).encode()
        resp = await self.challenge_auth(base64.b64encode(challenge).decode(), encode_to_b64=False)
        if resp is None or not isinstance(resp, bytes):
            return AuthResult(success=False, handled=False)
        try:
            user, digest = resp.decode().rsplit(" ", 1)
        except ValueError:
            return AuthResult(success=False, handled=False)
        want = hmac.new(PASS.encode(), challenge, hashlib.md5).hexdigest()
        ok = user == USER and hmac.compare_digest(digest, want)
        auth_log(f"CRAM-MD5 {'ok' if ok else 'fail'}")
        if ok:
            self.session.sm_mechanism = "CRAM-MD5"
        return AuthResult(success=ok, handled=False)

def make_ctx():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    if a.client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(a.client_ca)
    return ctx

class Ctl(Controller):
    def factory(self):
        kw = dict(hostname="relay.test", decode_data=False, enable_SMTPUTF8=True, data_size_limit=a.size)
        if a.tls == "starttls":
            kw["tls_context"] = make_ctx()
            kw["require_starttls"] = False
        if USER:
            kw["authenticator"] = authenticator
            kw["auth_require_tls"] = a.auth_require_tls
            offered = set(a.mechs.split(","))
            all_mechs = {"PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER"}
            if a.token:
                offered.add("XOAUTH2")
            if a.tokens_file:
                offered |= set(a.bearer.split(","))
            kw["auth_exclude_mechanism"] = list(all_mechs - offered)
        return Smtp(self.handler, **kw)

kwargs = {}
if a.tls == "implicit":
    kwargs["ssl_context"] = make_ctx()
ctl = Ctl(Handler(), hostname="127.0.0.1", port=a.port, ready_timeout=10, **kwargs)
ctl.start()
print("READY %d" % a.port, flush=True)
try:
    while True:
        time.sleep(3600)
except KeyboardInterrupt:
    pass
finally:
    ctl.stop()
