#!/usr/bin/python3
"""hostile_proxy.py — a proxy that attacks its client during the handshake, for the bounded
proxy-reply tests (issue 9). It never connects anywhere. --mode:

  http-endless-headers  answers CONNECT with "HTTP/1.1 200" and header lines without end
  http-endless-line     answers CONNECT with a status line that never ends (no CRLF)
  http-garbage          answers CONNECT with something that is not HTTP
  socks5-bad-atyp       SOCKS5: method "none", then a CONNECT reply with address type 9
  socks5-bad-version    SOCKS5: method "none", then a CONNECT reply of version 4
  socks4-bad-version    SOCKS4: an 8-byte reply whose version byte is 'H' (an HTTP server)

Streams are written in blocks (never held whole); "SERVED <mode> <bytes sent>" goes to --log.
"""
import argparse
import socket
import threading

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--mode", required=True)
p.add_argument("--megabytes", type=int, default=100)
p.add_argument("--log", default="proxy.log")
a = p.parse_args()
lock = threading.Lock()


def log(text):
    with lock, open(a.log, "a") as f:
        f.write(text + "\n")


def stream(c, head, block):
    sent = len(head)
    c.sendall(head)
    while sent < a.megabytes * 1024 * 1024:
        c.sendall(block)
        sent += len(block)
    return sent


def serve(c):
    sent = 0
    try:
        first = c.recv(4096)
        if not first:
            return
        if a.mode == "http-endless-headers":
            sent = stream(c, b"HTTP/1.1 200 Connection established\r\n", b"X-Filler: " + b"y" * 50 + b"\r\n")
        elif a.mode == "http-endless-line":
            sent = stream(c, b"HTTP/1.1 200 ", b"z" * 65536)
        elif a.mode == "http-garbage":
            c.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
        elif a.mode.startswith("socks5"):
            c.sendall(b"\x05\x00")  # no authentication
            c.recv(4096)            # the CONNECT request
            if a.mode == "socks5-bad-atyp":
                c.sendall(b"\x05\x00\x00\x09" + b"\x00" * 6 + b"220 not really a relay\r\n")
            else:
                c.sendall(b"\x04\x00\x00\x01" + b"\x00" * 6)
        elif a.mode == "socks4-bad-version":
            c.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n")
        c.recv(4096)  # wait until the client gives up
    except OSError as e:
        log("ERROR %s" % e)
    finally:
        log("SERVED %s %d" % (a.mode, sent))
        c.close()


s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", a.port))
s.listen(64)
print("READY %d" % a.port, flush=True)
while True:
    conn, _ = s.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
