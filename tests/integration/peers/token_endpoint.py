#!/usr/bin/python3
"""token_endpoint.py — a local OAuth 2.0 token endpoint over HTTPS for sitemail's tests.

http.server + ssl with a certificate from the test CA (make_certs.sh). Serves
  POST /token   grant_type client_credentials, refresh_token (rotation with --rotate: the
                old refresh token becomes invalid_grant), urn:ietf:params:oauth:grant-type:device_code
  POST /device  RFC 8628 device authorization (user code, verification URI, interval 1 s)
  POST /huge    a response larger than sitemail's limit
Every request is appended to OUT/requests.log (one JSON object per line: path and form);
every access token issued is appended to --tokens-file (the test relay accepts exactly
the tokens listed there, so a token can be revoked by removing its line); the currently
valid refresh tokens are in OUT/refresh_tokens. --device-script lists what successive
device-code polls answer: pending, slow_down, denied, expired, ok.
"""
import argparse, json, os, secrets, ssl, sys, threading, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--out", required=True)
p.add_argument("--cert", required=True)
p.add_argument("--key", required=True)
p.add_argument("--client-id", default="sitemail-app")
p.add_argument("--client-secret", default="")
p.add_argument("--refresh-token", action="append", default=[])
p.add_argument("--rotate", action="store_true")
p.add_argument("--expires-in", type=int, default=3600)
p.add_argument("--tokens-file", required=True)
p.add_argument("--device-script", default="pending,slow_down,ok")
a = p.parse_args()
os.makedirs(a.out, exist_ok=True)
lock = threading.Lock()
valid_refresh = set(a.refresh_token)
device_steps = [s for s in a.device_script.split(",") if s]
device_codes = set()


def save_refresh():
    with open(os.path.join(a.out, "refresh_tokens"), "w") as f:
        f.write("\n".join(sorted(valid_refresh)) + "\n")


def issue(with_refresh=False, rotate_from=None):
    tok = "AT-" + secrets.token_hex(12)
    with open(a.tokens_file, "a") as f:
        f.write(tok + "\n")
    body = {"access_token": tok, "token_type": "Bearer", "expires_in": a.expires_in}
    if with_refresh:
        if rotate_from is not None:
            valid_refresh.discard(rotate_from)
        rt = "RT-" + secrets.token_hex(12)
        valid_refresh.add(rt)
        body["refresh_token"] = rt
        save_refresh()
    return 200, body


class H(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n).decode()
        form = {k: v[0] for k, v in urllib.parse.parse_qs(raw, keep_blank_values=True).items()}
        with lock:
            with open(os.path.join(a.out, "requests.log"), "a") as f:
                f.write(json.dumps({"path": self.path, "form": form,
                                    "content_type": self.headers.get("Content-Type")}) + "\n")
            status, body = self.handle_form(form)
        self.reply(status, body)

    def handle_form(self, form):
        if self.path == "/huge":
            return 200, b'{"access_token":"' + b"x" * 70000 + b'","expires_in":3600}'
        if form.get("client_id") != a.client_id or (a.client_secret and form.get("client_secret") != a.client_secret):
            return 401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."}
        if self.path == "/device":
            dc = "DC-" + secrets.token_hex(8)
            device_codes.add(dc)
            return 200, {"device_code": dc, "user_code": "WDJB-MJHT", "interval": 1, "expires_in": 120,
                         "verification_uri": "https://127.0.0.1:%d/verify" % a.port}
        if self.path != "/token":
            return 404, {"error": "not_found"}
        g = form.get("grant_type")
        if g == "client_credentials":
            return issue()
        if g == "refresh_token":
            rt = form.get("refresh_token")
            if rt not in valid_refresh:
                return 400, {"error": "invalid_grant", "error_description": "AADSTS70008: The refresh token has expired or was revoked."}
            return issue(with_refresh=a.rotate, rotate_from=rt if a.rotate else None)
        if g == "urn:ietf:params:oauth:grant-type:device_code":
            if form.get("device_code") not in device_codes:
                return 400, {"error": "invalid_grant"}
            step = device_steps.pop(0) if device_steps else "ok"
            if step == "pending":
                return 400, {"error": "authorization_pending"}
            if step == "slow_down":
                return 400, {"error": "slow_down"}
            if step == "denied":
                return 400, {"error": "access_denied", "error_description": "the user declined"}
            if step == "expired":
                return 400, {"error": "expired_token"}
            return issue(with_refresh=True)
        return 400, {"error": "unsupported_grant_type"}


save_refresh()
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(a.cert, a.key)
srv = ThreadingHTTPServer(("127.0.0.1", a.port), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("READY %d" % a.port, flush=True)
srv.serve_forever()
