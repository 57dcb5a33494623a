#!/usr/bin/python3
"""hostile_relay.py — an SMTP relay that attacks its client, for the bounded-parser tests
(issue 9). It greets, answers EHLO, and then misbehaves according to --mode:

  ntlm-evil     offers AUTH NTLM; the type-2 challenge's TargetInfo offset is near 2^32
  huge-ehlo     answers EHLO with --megabytes of "250-" continuation lines (streamed, never
                held in memory), then a final "250 OK"
  endless-line  answers EHLO with one reply line that never ends (no CRLF), streamed
  drip          answers EHLO with a valid reply, one byte a second
  silent        accepts the connection and never says anything

Every accepted connection is served in its own thread. What the client sent is appended to
--log; "SERVED <mode> <bytes sent>" lines there tell the test how far the relay got.
"""
import argparse
import base64
import socket
import struct
import threading
import time

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--mode", required=True, choices=["ntlm-evil", "huge-ehlo", "endless-line", "drip", "silent"])
p.add_argument("--megabytes", type=int, default=300)
p.add_argument("--log", default="relay.log")
a = p.parse_args()
log_lock = threading.Lock()


def log(text):
    with log_lock, open(a.log, "a") as f:
        f.write(text + "\n")


def evil_challenge():
    # NTLMSSP CHALLENGE: signature, type 2, target name (empty), flags, server challenge,
    # reserved, and a TargetInfo field of 32 bytes at offset 0xFFFFFFF0: off + len wraps to 16.
    m = b"NTLMSSP\0" + struct.pack("<I", 2)
    m += struct.pack("<HHI", 0, 0, 56)          # target name: empty
    m += struct.pack("<I", 0x00808205)          # flags
    m += b"\x01\x23\x45\x67\x89\xab\xcd\xef"    # server challenge
    m += b"\0" * 8                              # reserved
    m += struct.pack("<HHI", 32, 32, 0xFFFFFFF0)  # target info: len 32, offset 2^32 - 16
    m += b"\0" * 8                              # version
    return m


def lines(f):
    while True:
        line = f.readline()
        if not line:
            return
        log("C: " + line.decode("latin-1").rstrip("\r\n"))
        yield line.strip()


def serve(c):
    sent = 0
    try:
        if a.mode == "silent":
            while c.recv(4096):
                pass
            return
        f = c.makefile("rb")
        c.sendall(b"220 hostile.example ESMTP\r\n")
        for line in lines(f):
            cmd = line.upper()
            if cmd.startswith(b"EHLO"):
                if a.mode == "ntlm-evil":
                    c.sendall(b"250-hostile.example\r\n250-AUTH NTLM\r\n250 8BITMIME\r\n")
                elif a.mode == "huge-ehlo":
                    chunk = b"250-" + b"X" * 60 + b"\r\n"
                    block = chunk * (65536 // len(chunk))
                    c.sendall(b"250-hostile.example\r\n")
                    while sent < a.megabytes * 1024 * 1024:
                        c.sendall(block)
                        sent += len(block)
                    c.sendall(b"250 OK\r\n")
                elif a.mode == "endless-line":
                    c.sendall(b"250-hostile.example\r\n250-")
                    block = b"A" * 65536
                    while sent < a.megabytes * 1024 * 1024:
                        c.sendall(block)
                        sent += len(block)
                elif a.mode == "drip":
                    for b in b"250-hostile.example\r\n250 OK\r\n":
                        c.sendall(bytes([b]))
                        sent += 1
                        time.sleep(1)
            elif cmd.startswith(b"AUTH NTLM"):
                c.sendall(b"334 " + base64.b64encode(evil_challenge()) + b"\r\n")
            elif cmd == b"QUIT":
                c.sendall(b"221 bye\r\n")
                return
            elif a.mode == "ntlm-evil" and line and not cmd.startswith(b"MAIL"):
                c.sendall(b"535 5.7.8 authentication failed\r\n")
            else:
                c.sendall(b"250 ok\r\n")
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
