#!/usr/bin/python3
"""test_soak_checks.py — the soak verdict can fail: soak_checks.verify() on small made-up
runs, one per assertion, each expected to produce exactly the named failure (ctest
`soak_checks`, seconds, no processes)."""
import contextlib, io, os, sys, unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from soak_checks import verify  # noqa: E402

EXPECTED = {"a": "ok", "b": "ok", "c": "reject", "d": "cancel"}
ROWS = [(1, "S000", "sent", 1, "a", ""), (2, "S001", "sent", 2, "b", ""),
        (3, "S000", "failed", 1, "c", "550 rejected"), (4, "S001", "cancelled", 0, "d", "")]
RECEIVED = [(1.0, 2525, "a", "a"), (2.0, 2526, "b", "b")]
KILLS = [{"n": 1, "ids": {2}}]


def run(expected=EXPECTED, rows=ROWS, received=RECEIVED, kills=KILLS, settled=True):
    with contextlib.redirect_stdout(io.StringIO()):
        return verify(expected, rows, received, kills, settled).failures


class VerdictTest(unittest.TestCase):
    def test_a_clean_run_passes(self):
        self.assertEqual(run(), [])

    def test_duplicate_of_a_row_held_by_a_killed_instance_is_allowed(self):
        self.assertEqual(run(received=RECEIVED + [(3.0, 2526, "b", "b")]), [])

    def test_duplicate_outside_any_crash_window_fails(self):
        f = run(received=RECEIVED + [(3.0, 2525, "a", "a")])
        self.assertEqual(len(f), 1)
        self.assertIn("1 duplicates outside any crash window: a", f[0])

    def test_sent_row_whose_token_never_arrived_is_lost(self):
        f = run(received=RECEIVED[:1])
        self.assertEqual(len(f), 1)
        self.assertIn("1 rows are sent but their token never reached a relay: b", f[0])

    def test_row_left_sending_fails(self):
        rows = ROWS[:1] + [(2, "S001", "sending", 2, "b", "")] + ROWS[2:]
        f = run(rows=rows)
        self.assertTrue(any("1 rows left sending: ids 2" in x for x in f), f)

    def test_queued_row_or_timeout_means_not_settled(self):
        rows = ROWS[:1] + [(2, "S001", "queued", 2, "b", "")] + ROWS[2:]
        self.assertTrue(any("not settled: 1 rows still queued" in x for x in run(rows=rows)))
        self.assertTrue(any("not settled" in x for x in run(settled=False)))

    def test_missing_outbox_row_fails(self):
        f = run(rows=ROWS[1:], received=RECEIVED[1:])
        self.assertTrue(any("3 rows for 4 tokens; missing a" in x for x in f), f)

    def test_cancelled_message_that_reached_a_relay_fails(self):
        f = run(received=RECEIVED + [(3.0, 2525, "d", "d")])
        self.assertTrue(any("1 failed/cancelled tokens reached a relay: d" in x for x in f), f)

    def test_wrong_final_status_fails(self):
        rows = ROWS[:2] + [(3, "S000", "sent", 1, "c", "")] + ROWS[3:]
        f = run(rows=rows, received=RECEIVED + [(3.0, 2525, "c", "c")])
        self.assertTrue(any("1 rows ended wrongly" in x for x in f), f)

    def test_header_and_recipient_tokens_must_match(self):
        f = run(received=[(1.0, 2525, "a", "b"), (2.0, 2526, "b", "b")])
        self.assertTrue(any("header token differs from the recipient" in x for x in f), f)

    def test_unknown_token_fails(self):
        f = run(received=RECEIVED + [(3.0, 2525, "zz", "zz")])
        self.assertTrue(any("1 unknown tokens received: zz" in x for x in f), f)


if __name__ == "__main__":
    unittest.main(verbosity=2)
