#!/usr/bin/python3
"""relay.py — the soak test's SMTP relays: one asyncio process listening on many loopback
ports, one port per site, counting the unique token of every message it accepts.

Every accepted message is one line in --log, written and flushed before the 250 reply:
    <unix time> <port> <token from the X-Soak-Token header> <token from the recipient>
so a row the daemon records as sent always has its line, and a token seen twice is a
duplicate delivery. A message is only counted when its 250 is about to be sent: a
transaction that ends in a 4xx or a dropped connection is never counted.

Each message waits a random 0..--delay-ms before it is counted and answered, as a real
relay does some work, so a kill finds mail in flight. Plain ports accept everything (except recipients `reject-...`, refused with 550). Flaky
ports also inject faults, at most one per token (so every message gets through on its
second attempt) and never on two connections in a row of the same port:
  per token, with probability --fault-rate, at the token's first RCPT:
    rcpt_450 (450 to RCPT), drop_after_rcpt (close without a reply), drop_in_data (close
    in the middle of DATA), data_451 (451 after the whole message);
  per connection, with probability --conn-fault-rate:
    drop_at_connect (close before the greeting), greet_421 (421 greeting, close).
Every fault is one line in --faults-log. SIGUSR1 heals the flaky ports (no more faults),
so a run's settle time is bounded by one retry interval after it.
Writes {"plain": [ports], "flaky": [ports]} to --ready-file when listening; on SIGTERM
writes counters to --stats-file and exits.
"""
import argparse, asyncio, json, os, random, re, signal, socket, sys, time

p = argparse.ArgumentParser()
p.add_argument("--plain", type=int, required=True, help="number of plain ports")
p.add_argument("--flaky", type=int, default=0, help="number of fault-injecting ports")
p.add_argument("--fault-rate", type=float, default=0.1)
p.add_argument("--conn-fault-rate", type=float, default=0.03)
p.add_argument("--seed", type=int, default=1)
p.add_argument("--delay-ms", type=float, default=100, help="each message waits 0..this before its 250 (a relay's work)")
p.add_argument("--log", required=True)
p.add_argument("--faults-log", required=True)
p.add_argument("--ready-file", required=True)
p.add_argument("--stats-file", required=True)
a = p.parse_args()

rng = random.Random(a.seed)
TOKEN_HDR = re.compile(rb"^X-Soak-Token:\s*(\S+)", re.I | re.M)
RCPT = re.compile(r"^RCPT TO:\s*<([^>]*)>", re.I)
TOKEN_KINDS = ["rcpt_450", "drop_after_rcpt", "drop_in_data", "data_451"]
CONN_KINDS = ["drop_at_connect", "greet_421"]

log = open(a.log, "a", buffering=1 << 16)
faults_log = open(a.faults_log, "a", buffering=1)
faulted_tokens = set()          # tokens that already had their one fault
last_conn_faulted = {}          # port -> the previous connection was a connection fault
stats = {"connections": 0, "messages": 0, "quit": 0, "rejected_550": 0, "faults": {}}
healed = False                  # set by SIGUSR1: flaky ports stop injecting faults


def heal():
    global healed
    healed = True


def write_fault(port, kind, token="-"):
    stats["faults"][kind] = stats["faults"].get(kind, 0) + 1
    faults_log.write("%.3f %d %s %s\n" % (time.time(), port, kind, token))


class Drop(Exception):
    """Close the connection now, without a reply."""


async def session(reader, writer, port, flaky):
    stats["connections"] += 1

    async def reply(text):
        writer.write(text.encode() + b"\r\n")
        await writer.drain()

    async def line():
        data = await reader.readline()
        if not data:
            raise Drop()
        return data.decode("utf-8", "replace").rstrip("\r\n")

    flaky = flaky and not healed
    if flaky and not last_conn_faulted.get(port) and rng.random() < a.conn_fault_rate:
        last_conn_faulted[port] = True
        kind = rng.choice(CONN_KINDS)
        write_fault(port, kind)
        if kind == "greet_421":
            await reply("421 4.3.2 soak relay busy, try again later")
        return
    last_conn_faulted[port] = False
    await reply("220 soak.relay ESMTP soak relay")
    rcpts, token_fault = [], None
    while True:
        cmd = await line()
        verb = cmd[:4].upper()
        if verb in ("EHLO", "HELO"):
            rcpts, token_fault = [], None
            if verb == "EHLO":
                await reply("250-soak.relay\r\n250-8BITMIME\r\n250 SIZE 10485760")
            else:
                await reply("250 soak.relay")
        elif verb == "MAIL":
            rcpts, token_fault = [], None
            await reply("250 2.1.0 Ok")
        elif verb == "RCPT":
            m = RCPT.match(cmd)
            addr = m.group(1) if m else ""
            local = addr.split("@", 1)[0]
            if local.startswith("reject-"):
                stats["rejected_550"] += 1
                await reply("550 5.1.1 <%s>: recipient rejected by the soak relay" % addr)
                continue
            token = local[1:] if local.startswith("t") else local
            if flaky and not healed and token not in faulted_tokens and rng.random() < a.fault_rate:
                faulted_tokens.add(token)
                kind = rng.choice(TOKEN_KINDS)
                write_fault(port, kind, token)
                if kind == "rcpt_450":
                    await reply("450 4.2.1 <%s>: soak relay says try again later" % addr)
                    continue
                if kind == "drop_after_rcpt":
                    raise Drop()
                token_fault = kind
            rcpts.append(token)
            await reply("250 2.1.5 Ok")
        elif verb == "DATA":
            if not rcpts:
                await reply("503 5.5.1 no valid recipients")
                continue
            await reply("354 End data with <CR><LF>.<CR><LF>")
            chunks, n = [], 0
            while True:
                data = await reader.readline()
                if not data:
                    raise Drop()
                if data == b".\r\n":
                    break
                chunks.append(data)
                n += 1
                if token_fault == "drop_in_data" and n == 3:
                    raise Drop()
            if token_fault == "data_451":
                rcpts, token_fault = [], None
                await reply("451 4.3.0 soak relay: local error in processing")
                continue
            await asyncio.sleep(rng.uniform(0, a.delay_ms) / 1000)
            body = b"".join(chunks)
            m = TOKEN_HDR.search(body)
            header_token = m.group(1).decode("ascii", "replace") if m else "-"
            now = time.time()
            for t in rcpts:
                log.write("%.3f %d %s %s\n" % (now, port, header_token, t))
            log.flush()
            stats["messages"] += 1
            rcpts, token_fault = [], None
            await reply("250 2.0.0 Ok: queued")
        elif verb == "RSET":
            rcpts, token_fault = [], None
            await reply("250 2.0.0 Ok")
        elif verb == "NOOP":
            await reply("250 2.0.0 Ok")
        elif verb == "QUIT":
            stats["quit"] += 1
            await reply("221 2.0.0 Bye")
            return
        else:
            await reply("502 5.5.2 command not recognized")


def handler(port, flaky):
    async def run(reader, writer):
        try:
            await session(reader, writer, port, flaky)
        except (Drop, ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            writer.close()
    return run


async def main():
    servers, ready = [], {"plain": [], "flaky": []}
    for kind, count in (("plain", a.plain), ("flaky", a.flaky)):
        for _ in range(count):
            # Bind first to learn the port, then hand the socket to asyncio.
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            srv = await asyncio.start_server(handler(port, kind == "flaky"), sock=s, backlog=256)
            servers.append(srv)
            ready[kind].append(port)
    tmp = a.ready_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump(ready, f)
    os.rename(tmp, a.ready_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, heal)
    await stop.wait()
    for srv in servers:
        srv.close()
    log.flush()
    with open(a.stats_file, "w") as f:
        json.dump(stats, f)


asyncio.run(main())
sys.exit(0)
