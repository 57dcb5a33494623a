#!/usr/bin/python3
"""inject_server.py — a hostile relay for the STARTTLS-injection test: it answers STARTTLS
with "220 ready" and, in the same segment, a forged "250" reply (CVE-2011-0411 class).
Logs every line it receives to --log."""
import argparse, socket

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--log", required=True)
a = p.parse_args()
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", a.port)); s.listen(5)
print("READY %d" % a.port, flush=True)
while True:
    c, _ = s.accept()
    f = c.makefile("rb")
    c.sendall(b"220 hostile ESMTP\r\n")
    with open(a.log, "ab") as log:
        for line in f:
            log.write(line); log.flush()
            cmd = line.strip().upper()
            if cmd.startswith(b"EHLO"):
                c.sendall(b"250-hostile\r\n250 STARTTLS\r\n")
            elif cmd == b"STARTTLS":
                c.sendall(b"220 ready\r\n250 injected\r\n")
            elif cmd == b"QUIT":
                c.sendall(b"221 bye\r\n"); break
            else:
                c.sendall(b"250 ok\r\n")
    c.close()
