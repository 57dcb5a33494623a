#!/usr/bin/python3
"""socks4a_proxy.py — a minimal SOCKS4A proxy for the SOCKS4A test (Debian's dante-server
speaks SOCKS4 and SOCKS5 but not the 4A host-name extension). Logs each request as
"CONNECT <user> <host>:<port>" so the test can see the host name reached the proxy."""
import argparse, socket, struct, threading

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--log", required=True)
a = p.parse_args()

def pipe(src, dst):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            dst.sendall(b)
    except OSError:
        pass
    finally:
        try: dst.shutdown(socket.SHUT_WR)
        except OSError: pass

def read_cstr(c):
    out = b""
    while True:
        ch = c.recv(1)
        if not ch or ch == b"\0":
            return out.decode()
        out += ch

def serve(c):
    head = c.recv(8)
    vn, cd, port = struct.unpack(">BBH", head[:4])
    ip = head[4:8]
    user = read_cstr(c)
    host = read_cstr(c) if ip[:3] == b"\0\0\0" and ip[3] != 0 else socket.inet_ntoa(ip)
    with open(a.log, "a") as f:
        f.write("CONNECT %s %s:%d\n" % (user, host, port))
    try:
        up = socket.create_connection((host, port), timeout=5)
    except OSError:
        c.sendall(b"\0\x5b" + b"\0" * 6); c.close(); return
    c.sendall(b"\0\x5a" + b"\0" * 6)
    threading.Thread(target=pipe, args=(up, c), daemon=True).start()
    pipe(c, up)

s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", a.port)); s.listen(16)
while True:
    conn, _ = s.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
