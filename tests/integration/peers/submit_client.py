#!/usr/bin/python3
"""submit_client.py — a client of sitemail's submission door for the integration tests.

send: Python's smtplib as an application would use it:
  submit_client.py send --port P [--tls none|starttls|implicit] [--ca F] [--bind IP]
                        [--user U --password PW] --from A --to B [--to C] [--data-file F]
  prints one line per outcome: "SENT <code> <text>" or "REFUSED <step> <code> <text>"; exit 0 only when sent.
raw: bytes exactly as given (after the greeting, and after STARTTLS when asked), everything the
  server answers printed as is, until it closes or is silent for --wait seconds:
  submit_client.py raw --port P [--starttls] [--ca F] [--bind IP] --script F [--chunk N --delay S]
"""
import argparse
import smtplib
import socket
import ssl
import sys
import time


def tls_context(ca):
    ctx = ssl.create_default_context(cafile=ca) if ca else ssl._create_unverified_context()
    return ctx


def send(a):
    data = open(a.data_file, "rb").read() if a.data_file else b"Subject: test\r\n\r\nhello\r\n"
    src = (a.bind, 0) if a.bind else None
    step = "connect"
    try:
        if a.tls == "implicit":
            s = smtplib.SMTP_SSL("127.0.0.1", a.port, context=tls_context(a.ca), source_address=src, timeout=20)
        else:
            s = smtplib.SMTP("127.0.0.1", a.port, source_address=src, timeout=20)
        step = "ehlo"
        s.ehlo("client.example")
        if a.tls == "starttls":
            step = "starttls"
            s.starttls(context=tls_context(a.ca))
            s.ehlo("client.example")
        if a.user:
            step = "auth"
            # One mechanism, one attempt (smtplib's login() would try every mechanism in turn).
            s.user, s.password = a.user, a.password
            s.auth(a.mech, s.auth_plain if a.mech == "PLAIN" else s.auth_login, initial_response_ok=a.mech == "PLAIN")
        step = "mail"
        code, text = s.mail(a.from_addr, ["SIZE=%d" % len(data)] if a.declare_size is None else ["SIZE=%d" % a.declare_size])
        if code != 250:
            raise smtplib.SMTPResponseException(code, text)
        step = "rcpt"
        for r in a.to:
            code, text = s.rcpt(r)
            if code not in (250, 251):
                raise smtplib.SMTPResponseException(code, text)
        step = "data"
        code, text = s.data(data)
        if code != 250:
            raise smtplib.SMTPDataError(code, text)
        print("SENT %d %s" % (code, text.decode(errors="replace")))
        s.quit()
        return 0
    except smtplib.SMTPResponseException as e:
        msg = e.smtp_error.decode(errors="replace") if isinstance(e.smtp_error, bytes) else str(e.smtp_error)
        print("REFUSED %s %d %s" % (step, e.smtp_code, msg))
        return 1
    except smtplib.SMTPRecipientsRefused as e:
        code, text = list(e.recipients.values())[0]
        print("REFUSED rcpt %d %s" % (code, text.decode(errors="replace")))
        return 1
    except (smtplib.SMTPException, OSError) as e:
        print("ERROR %s %s" % (step, e))
        return 2


def raw(a):
    script = open(a.script, "rb").read()
    sock = socket.create_connection(("127.0.0.1", a.port), timeout=a.wait, source_address=(a.bind, 0) if a.bind else None)
    out = bytearray()

    def read_reply():
        buf = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return buf
            buf += chunk
            lines = buf.split(b"\r\n")
            if len(lines) >= 2 and len(lines[-2]) >= 4 and lines[-2][3:4] == b" ":
                return buf

    out += read_reply()
    if a.starttls:
        sock.sendall(b"EHLO client.example\r\n")
        out += read_reply()
        sock.sendall(b"STARTTLS\r\n")
        out += read_reply()
        sock = tls_context(a.ca).wrap_socket(sock, server_hostname="localhost")
    if a.chunk:
        for i in range(0, len(script), a.chunk):
            sock.sendall(script[i:i + a.chunk])
            time.sleep(a.delay)
    else:
        sock.sendall(script)
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            out += chunk
    except (socket.timeout, ConnectionResetError, ssl.SSLError):
        pass
    sys.stdout.write(out.decode("latin-1"))
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("send")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--tls", default="none", choices=["none", "starttls", "implicit"])
    s.add_argument("--ca")
    s.add_argument("--bind")
    s.add_argument("--user")
    s.add_argument("--password")
    s.add_argument("--mech", default="PLAIN", choices=["PLAIN", "LOGIN"])
    s.add_argument("--from", dest="from_addr", required=True)
    s.add_argument("--to", action="append", required=True)
    s.add_argument("--data-file")
    s.add_argument("--declare-size", type=int)
    r = sub.add_parser("raw")
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--starttls", action="store_true")
    r.add_argument("--ca")
    r.add_argument("--bind")
    r.add_argument("--script", required=True)
    r.add_argument("--wait", type=float, default=3)
    r.add_argument("--chunk", type=int, default=0)
    r.add_argument("--delay", type=float, default=0)
    a = p.parse_args()
    sys.exit(send(a) if a.mode == "send" else raw(a))


if __name__ == "__main__":
    main()
