"""soak_checks.py — the soak test's verdict: compares what was inserted, what the outbox
says and what the relays counted, and prints every violated assertion.

Assertions (each violation is one FAIL line; any FAIL makes the run fail):
  - every inserted token has exactly one outbox row (nothing lost in the database);
  - no row is left `sending` and none `queued` (all settled);
  - ordinary messages end `sent`, messages to `reject-...` recipients `failed`, the
    messages cancelled with `sitemailctl queue cancel` `cancelled`;
  - every `sent` token reached a relay, no failed/cancelled token did, no unknown token did,
    and the token in the header equals the one in the recipient;
  - a token received more than once belongs to a row that a killed instance held at the
    moment of its death (the only duplicate the contract allows); each duplicate is listed.
"""
from collections import Counter, defaultdict


class Verdict:
    def __init__(self):
        self.failures = []

    def fail(self, text):
        self.failures.append(text)
        print("FAIL: " + text)

    def ok(self, text):
        print("ok:   " + text)

    def check(self, cond, good, bad):
        if cond:
            self.ok(good)
        else:
            self.fail(bad)


def sample(items, n=10):
    items = sorted(items)
    more = " ... (%d in all)" % len(items) if len(items) > n else ""
    return ", ".join(str(i) for i in items[:n]) + more


def verify(expected, rows, received, kills, settled):
    """expected: token -> kind ('ok' | 'reject' | 'cancel');
    rows: [(id, site, status, attempts, token, last_error)] — the whole outbox;
    received: [(time, port, header token, recipient token)] from the relay log;
    kills: the kill records of the run (each with 'n' and 'ids', the rows the dead
    instance held); settled: whether the queue settled before the timeout.
    Returns a Verdict."""
    v = Verdict()
    by_token = defaultdict(list)
    for r in rows:
        by_token[r[4]].append(r)
    lost_rows = [t for t in expected if t not in by_token]
    doubled_rows = [t for t, rs in by_token.items() if len(rs) > 1]
    v.check(not lost_rows and not doubled_rows and len(rows) == len(expected),
            "%d rows in the outbox, one per inserted token" % len(rows),
            "outbox rows do not match the inserted tokens: %d rows for %d tokens; missing %s; doubled %s"
            % (len(rows), len(expected), sample(lost_rows), sample(doubled_rows)))

    status = Counter(r[2] for r in rows)
    v.check(status["sending"] == 0, "0 rows left sending",
            "%d rows left sending: ids %s" % (status["sending"], sample(r[0] for r in rows if r[2] == "sending")))
    v.check(status["queued"] == 0 and settled, "all rows settled (%s)" % dict(status),
            "not settled: %d rows still queued: ids %s" % (status["queued"], sample(r[0] for r in rows if r[2] == "queued")))

    want = {"ok": "sent", "reject": "failed", "cancel": "cancelled"}
    wrong = [(r[0], r[4], expected.get(r[4]), r[2], r[5]) for r in rows
             if r[4] in expected and r[2] in ("sent", "failed", "cancelled") and want[expected[r[4]]] != r[2]]
    v.check(not wrong, "every row ended as expected: sent, failed (550) or cancelled",
            "%d rows ended wrongly (id, token, kind, status, last_error): %s" % (len(wrong), sample(wrong, 5)))

    counts = Counter(h for _, _, h, _ in received)
    mismatched = [(h, t) for _, _, h, t in received if h != t]
    v.check(not mismatched, "header token = recipient token in all %d receipts" % len(received),
            "%d receipts whose header token differs from the recipient: %s" % (len(mismatched), sample(mismatched, 5)))
    sent_tokens = {r[4] for r in rows if r[2] == "sent"}
    lost = [t for t in sent_tokens if counts[t] == 0]
    v.check(not lost, "0 lost: all %d sent tokens were received" % len(sent_tokens),
            "%d rows are sent but their token never reached a relay: %s" % (len(lost), sample(lost)))
    settled_not_sent = {r[4] for r in rows if r[2] in ("failed", "cancelled")}
    leaked = [t for t in settled_not_sent if counts[t] > 0]
    v.check(not leaked, "no failed or cancelled message reached a relay",
            "%d failed/cancelled tokens reached a relay: %s" % (len(leaked), sample(leaked)))
    unknown = [t for t in counts if t not in expected]
    v.check(not unknown, "no unknown token received", "%d unknown tokens received: %s" % (len(unknown), sample(unknown)))

    # Duplicates: allowed only for rows a killed instance held when it died.
    held_by_kill = defaultdict(list)
    for k in kills:
        for i in k["ids"]:
            held_by_kill[i].append(k["n"])
    id_of = {r[4]: (r[0], r[1]) for r in rows}
    dups = sorted((t, c) for t, c in counts.items() if c > 1)
    outside = []
    print("duplicates: %d tokens received more than once (%d extra copies)" % (len(dups), sum(c - 1 for _, c in dups)))
    for t, c in dups:
        rid, site = id_of.get(t, (None, "?"))
        ks = held_by_kill.get(rid, [])
        where = "held by the instance killed in kill %s" % "/".join("#%d" % n for n in ks) if ks else "OUTSIDE any crash window"
        print("  duplicate: token %s id %s site %s received %d times; %s" % (t, rid, site, c, where))
        if not ks:
            outside.append(t)
    per_kill = Counter(n for t, _ in dups for n in held_by_kill.get(id_of.get(t, (None,))[0], []))
    if per_kill:
        print("duplicates per kill: " + ", ".join("#%d: %d" % kv for kv in sorted(per_kill.items())))
    v.check(not outside, "duplicates only within crash windows",
            "%d duplicates outside any crash window: %s" % (len(outside), sample(outside)))
    return v


def recovery_table(kills):
    """Prints one line per kill: how many rows the dead instance held and how long until
    none of them was still held by it (released: re-claimed, requeued or settled by
    someone) and until all of them were settled (sent/failed/cancelled)."""
    print("recovery after each SIGKILL (rows the dead instance held; time until re-claimed/settled by others; "
          "time until all of them settled):")
    for k in kills:
        rel = "%.1f s" % k["released"] if k["released"] is not None else "never"
        sett = "%.1f s" % k["settled"] if k["settled"] is not None else "never"
        print("  kill #%d at +%.1f s: sitemaild %s (pid %d) held %d rows; released after %s; all settled after %s"
              % (k["n"], k["at"], k["victim"], k["pid"], len(k["stranded"]), rel, sett))
    rels = sorted(k["released"] for k in kills if k["released"] is not None and k["stranded"])
    if rels:
        print("  recovery delay over %d kills that stranded rows: p50 %.1f s, max %.1f s"
              % (len(rels), rels[len(rels) // 2], rels[-1]))
