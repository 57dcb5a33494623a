#!/usr/bin/env bash
# bench_large.sh BUILD_DIR [--quick] — large mail (issue 15, CONTRACT §8), SHIPPED DEFAULTS
# (the daemon's config only turns the metrics listener off), figures side by side in one
# run, targets beside them, never asserted:
#   100 messages, each with one 10 MiB attachment of random bytes, over 10 sites, each
#   inserted as an application does (the outbox row and its outbox_attachment row in one
#   transaction, the content read by pg_read_binary_file as in docs/attachments.md);
#   `sitemaild --once` delivers them to smtp-sink relays (one per site), then a private
#   Postfix delivers the same 100 messages to the same sinks: the same MIME layout and
#   octets (tests/bench/large_eml.py writes them as .eml files, injected into Postfix's
#   smtpd while its delivery is deferred, then released and timed like the drain benchmark).
#   Prints MB/s (10^6 octets of message as sent per second) for both, and sitemaild's peak
#   RSS (time(1), as bench_daemon.sh measures it).
# --quick: 20 messages of 10 MiB.
# Env: BENCH_LARGE_MESSAGES (100), BENCH_LARGE_MIB (10), BENCH_DRAIN_TIMEOUT (s, 600),
#      BENCH_KEEP_LOGS (a directory: sitemaild's logs are copied there).
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
quick=""; [ "${2:-}" = "--quick" ] && quick=1
N=${BENCH_LARGE_MESSAGES:-$([ -n "$quick" ] && echo 20 || echo 100)}
MIB=${BENCH_LARGE_MIB:-10}
SITES=10
DRAIN_TIMEOUT=${BENCH_DRAIN_TIMEOUT:-600}
work=$(mktemp -d /tmp/sitemail-bench-large.XXXXXX)
chmod 755 "$work"
source "$src/tests/bench/bench_lib.sh"
trap bench_cleanup EXIT

bench_db
start_sinks "$SITES"
write_sites "$SITES" "$SITES"
postfix_setup
# Postfix refuses messages over 10,240,000 octets by default; these are ~14 MB.
postconf -c "$pfdir/etc" -e "message_size_limit = 0" "mailbox_size_limit = 0"
postfix -c "$pfdir/etc" reload >/dev/null 2>&1

# The attachments: random bytes (base64 makes them 4/3 larger; nothing compresses them).
mkdir -p "$work/data"
chmod 755 "$work/data"
for ((i = 0; i < N; i++)); do head -c $((MIB * 1048576)) /dev/urandom > "$work/data/att-$i.bin"; done
chmod 644 "$work"/data/*.bin

# The same messages for Postfix, written first, so that each side's data is prepared just
# before its own drain and nothing of Postfix's preparation lies between sitemail's and
# its drain.
BYTES=$(/usr/bin/python3 "$src/tests/bench/large_eml.py" "$work/data" "$work/eml" "$N" "$SITES")
MB=$(calc "$BYTES / 1000000")

# The application's inserts: one transaction per message, its row id = i + 1 (a fresh
# table), the attachment read by the server from the file.
sql "TRUNCATE outbox RESTART IDENTITY CASCADE"
for ((i = 0; i < N; i++)); do
  printf "BEGIN;\nWITH m AS (INSERT INTO outbox (nvtgc, to_addrs, subject, body_text) VALUES ('%s', 'rcpt@dest.example', 'large %d', 'The report is attached.') RETURNING id)\nINSERT INTO outbox_attachment (outbox_id, filename, content_type, disposition, content) SELECT id, 'report-%d.pdf', NULL, 'attachment', pg_read_binary_file('%s') FROM m;\nCOMMIT;\n" \
    "$(site_name $((i % SITES)))" "$i" "$i" "$work/data/att-$i.bin"
done > "$work/insert.sql"
t0=$(now)
psql "$db" -q -v ON_ERROR_STOP=1 -f "$work/insert.sql"
insert_s=$(calc "$(now) - $t0")
# The database settles before the clock starts, as it would between an application's
# inserts and their delivery: autovacuum would otherwise vacuum the 1 GiB TOAST table
# (reading and dirtying all of it) about a minute after the inserts, inside one of the two
# timed drains or the other, by chance.
sql "VACUUM outbox, outbox_attachment" >/dev/null
sql "CHECKPOINT" >/dev/null

rm -rf "$work/data"
# Everything written so far goes to disk now, not during the timed run (the .eml files'
# writeback delayed the database's commits: 4.5 s or 6.2 s for the same run).
sync

echo "== large mail: $N messages x ${MIB} MiB attachment (random bytes) over $SITES sites, $(printf '%.0f' "$MB") MB as sent"
printf '   (inserted by %d transactions in %.1f s; sinks: smtp-sink, one per site)\n' "$N" "$insert_s"

sitemaild_once "$DRAIN_TIMEOUT"
ours=$(calc "$MB * $ONCE_SENT / $N / $ONCE_SECONDS")
failed=$(sql "SELECT count(*) FROM outbox WHERE status <> 'sent'")
ours_txt=$(printf '%.1f MB/s (%s of %s sent in %.1f s)' "$ours" "$ONCE_SENT" "$N" "$ONCE_SECONDS")
[ "$failed" -gt 0 ] && ours_txt="$ours_txt, $failed not sent: $(sql "SELECT string_agg(DISTINCT left(coalesce(last_error, status), 120), '; ') FROM outbox WHERE status <> 'sent'")"

postfix_routes "$SITES" "$SITES"
postfix_inject_eml "$work/eml" "$SITES"
rm -rf "$work/eml"
sync  # as before sitemaild's run: nothing of the preparation is written back during the timed drain
postfix_drain "$DRAIN_TIMEOUT"
theirs=$(calc "$MB * ($PF_HELD - $PF_LEFT) / $N / $PF_SECONDS")
pf_txt=$(printf '%.1f MB/s (%s held, %.1f s)' "$theirs" "$PF_HELD" "$PF_SECONDS")
[ "$PF_LEFT" -gt 0 ] && pf_txt="$pf_txt, $PF_LEFT left"

printf 'sitemaild --once: %s\n' "$ours_txt"
printf 'Postfix:          %s\n' "$pf_txt"
ratio=n/a; [ "$(calc "$theirs > 0")" = 1 ] && ratio=$(printf '%.2f' "$(calc "$ours / $theirs")")
printf 'ratio sitemail / Postfix: %s (target >= 1)\n' "$ratio"
printf 'peak RSS of sitemaild --once: %.1f MiB (target < 300 MiB)\n' "$(calc "$ONCE_RSS_KIB / 1024")"
