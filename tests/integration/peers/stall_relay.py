#!/usr/bin/python3
"""stall_relay.py — a relay that ties up its clients, for scheduling tests.

--mode silent: accept every connection and never say anything.
--mode drip:   send an endless greeting line, one byte every 0.5 s, so no per-read
               inactivity timeout ever fires (only an overall deadline ends it).
Counts connections in ./connections.log (one line each).
"""
import argparse, socket, threading, time

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--mode", choices=["silent", "drip"], required=True)
a = p.parse_args()

def serve(conn):
    with open("connections.log", "a") as f:
        f.write("connection\n")
    try:
        while True:
            if a.mode == "drip":
                conn.sendall(b"2")
            time.sleep(0.5)
    except OSError:
        pass
    finally:
        conn.close()

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", a.port))
s.listen(128)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
