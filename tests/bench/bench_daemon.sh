#!/usr/bin/env bash
# bench_daemon.sh BUILD_DIR [--quick] — sitemaild benchmarks with the SHIPPED DEFAULTS (the
# daemon's config only turns the metrics listener off), figures printed side by side in one
# run, targets beside them, never asserted:
#   1. drain: 20,000 queued 1 KiB messages over 10, 100, 1,000 and 5,000 sites, one
#      `sitemaild --once`, vs a private Postfix draining the same held queue (each site its
#      own transport entry and destination domain, to the same sink as the site); msg/s,
#      ratio, and sitemaild's peak RSS (the 5,000-site figure is the RSS benchmark). Each
#      side first drains 2,000 messages untimed (warm-up);
#   2. small-site wait: one site's 10,000-message backlog, then 50 sites x 10 messages
#      queued right after it, to a running sitemaild: p50/p99 enqueue -> sent of the 500;
#   3. recovery: a running sitemaild draining 20,000 messages over 100 sites is SIGKILLed
#      and restarted 1 s later; time from the kill until every row it held is sent;
#   4. latency enqueue -> sent with 100 msg/s offered to a running sitemaild.
# Relays: smtp-sink on loopback, at most $BENCH_SINKS (100) listeners; with more sites than
# that, sites share listeners (site i -> sink i % 100) but keep their own site file and
# Postfix transport entry (Postfix then sees one destination per listener: it queues per
# next hop, which only helps it). PostgreSQL keeps its durable defaults; Postfix its own
# defaults (20 connections per destination, 100 processes).
# --quick: 2,000 messages, 10/100/1,000 sites, a 2,000-message backlog, short waits.
# Env: BENCH_DRAIN_TIMEOUT (s, a drain still running then is stopped and its rate reported),
#      BENCH_KEEP_LOGS (a directory: sitemaild's logs of the run are copied there),
#      BENCH_RECOVERY_WAIT (s), BENCH_SMALL_WAIT (s), BENCH_SITE_COUNTS, BENCH_MESSAGES.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
quick=""; [ "${2:-}" = "--quick" ] && quick=1
if [ -n "$quick" ]; then
  N=${BENCH_MESSAGES:-2000}; COUNTS=${BENCH_SITE_COUNTS:-"10 100 1000"}; BACKLOG=2000; SMALL_SITES=20; SMALL_EACH=5
  DRAIN_TIMEOUT=${BENCH_DRAIN_TIMEOUT:-120}; RECOVERY_WAIT=${BENCH_RECOVERY_WAIT:-60}; SMALL_WAIT=${BENCH_SMALL_WAIT:-60}
else
  N=${BENCH_MESSAGES:-20000}; COUNTS=${BENCH_SITE_COUNTS:-"10 100 1000 5000"}; BACKLOG=10000; SMALL_SITES=50; SMALL_EACH=10
  DRAIN_TIMEOUT=${BENCH_DRAIN_TIMEOUT:-900}; RECOVERY_WAIT=${BENCH_RECOVERY_WAIT:-420}; SMALL_WAIT=${BENCH_SMALL_WAIT:-600}
fi
SINKS=${BENCH_SINKS:-100}
work=$(mktemp -d /tmp/sitemail-bench-daemon.XXXXXX)
chmod 755 "$work"
source "$src/tests/bench/bench_lib.sh"
trap bench_cleanup EXIT

bench_db
start_sinks "$SINKS"
postfix_setup

# A running sitemaild in the background, its stderr in $work/daemon-N.log.
start_daemon() {
  "$build/server/sitemaild" --config "$work/sitemaild.conf" 2>>"$work/daemon-$1.log" &
  dpid=$!
  pids+=("$dpid")
  for _ in $(seq 1 100); do grep -q 'event=config_loaded' "$work/daemon-$1.log" 2>/dev/null && break; sleep 0.1; done
}
stop_daemon() { kill -TERM "$dpid" 2>/dev/null || true; wait "$dpid" 2>/dev/null || true; }

# Warm-up, untimed: one small drain on each side, so the first row is not measured on a
# just-created database (WAL segments still to be created, empty caches) or a cold Postfix.
write_sites 10 10
sql "TRUNCATE outbox CASCADE"
queue_messages 2000 10
sitemaild_once "$DRAIN_TIMEOUT"
postfix_fill 2000 10 10
postfix_drain "$DRAIN_TIMEOUT"

echo "== 1. drain: $N queued 1 KiB messages, sitemaild --once (shipped defaults) vs Postfix (same held queue)"
echo "   (after one untimed warm-up drain of 2,000 messages on each side)"
printf '%-6s | %-44s | %-44s | %-6s | %s\n' sites "sitemaild --once" "Postfix" ratio "sitemaild peak RSS"
rss_last=0; sites_last=0
for C in $COUNTS; do
  nsinks=$((C < SINKS ? C : SINKS))
  write_sites "$C" "$nsinks"
  sql "TRUNCATE outbox CASCADE"
  queue_messages "$N" "$C"
  sitemaild_once "$DRAIN_TIMEOUT"
  ours=$(calc "$ONCE_SENT / $ONCE_SECONDS")
  ours_txt=$(printf '%.0f msg/s (%s sent, %.1f s)' "$ours" "$ONCE_SENT" "$ONCE_SECONDS")
  [ "$ONCE_SENT" -lt "$N" ] && ours_txt="$ours_txt, stopped"
  postfix_fill "$N" "$C" "$nsinks"
  postfix_drain "$DRAIN_TIMEOUT"
  theirs=$(calc "($PF_HELD - $PF_LEFT) / $PF_SECONDS")
  pf_txt=$(printf '%.0f msg/s (%s held, %.1f s)' "$theirs" "$PF_HELD" "$PF_SECONDS")
  [ "$PF_LEFT" -gt 0 ] && pf_txt="$pf_txt, $PF_LEFT left"
  ratio=n/a; [ "$(calc "$theirs > 0")" = 1 ] && ratio=$(printf '%.1fx' "$(calc "$ours / $theirs")")
  printf '%-6s | %-44s | %-44s | %-6s | %.1f MiB\n' "$C" "$ours_txt" "$pf_txt" "$ratio" "$(calc "$ONCE_RSS_KIB / 1024")"
  rss_last=$ONCE_RSS_KIB; sites_last=$C
done
echo "target: sitemaild >= 5x Postfix at every site count (aim 10x)"
printf 'peak RSS of sitemaild --once at %s sites: %.1f MiB (target < 150 MiB)\n' "$sites_last" "$(calc "$rss_last / 1024")"
[ -n "${BENCH_ONLY_DRAIN:-}" ] && exit 0

echo
echo "== 2. small-site wait: $SMALL_SITES sites x $SMALL_EACH messages queued right after one site's $BACKLOG-message backlog (running sitemaild)"
write_sites $((SMALL_SITES + 1)) $((SMALL_SITES + 1 < SINKS ? SMALL_SITES + 1 : SINKS))
sql "TRUNCATE outbox CASCADE"
start_daemon small
queue_messages "$BACKLOG" 1 0
queue_messages $((SMALL_SITES * SMALL_EACH)) "$SMALL_SITES" 1
start=$(now)
small=$((SMALL_SITES * SMALL_EACH))
while :; do
  done_small=$(sql "SELECT count(*) FROM outbox WHERE nvtgc <> 'S0000' AND status = 'sent'")
  [ "$done_small" -ge "$small" ] && break
  [ "$(calc "$(now) - $start > $SMALL_WAIT")" = 1 ] && break
  sleep 0.2
done
backlog_sent=$(sql "SELECT count(*) FROM outbox WHERE nvtgc = 'S0000' AND status = 'sent'")
stop_daemon
sql "SELECT format('small sites: %s of %s sent; enqueue -> sent p50 %s s, p99 %s s, max %s s (target p99 < 2 s); the backlog site had sent %s of $BACKLOG by then',
  count(*) FILTER (WHERE status = 'sent'), count(*),
  round(extract(epoch from percentile_cont(0.5) WITHIN GROUP (ORDER BY coalesce(sent_at, now()) - created_at))::numeric, 2),
  round(extract(epoch from percentile_cont(0.99) WITHIN GROUP (ORDER BY coalesce(sent_at, now()) - created_at))::numeric, 2),
  round(extract(epoch from max(coalesce(sent_at, now()) - created_at))::numeric, 2), $backlog_sent)
  FROM outbox WHERE nvtgc <> 'S0000'"
[ "$done_small" -lt "$small" ] && echo "  (not all small-site mail was sent within ${SMALL_WAIT} s; unsent rows count with their wait so far)"

echo
echo "== 3. recovery: SIGKILL of a running sitemaild draining $N messages over 100 sites, restart 1 s later"
write_sites 100 $((100 < SINKS ? 100 : SINKS))
sql "TRUNCATE outbox CASCADE"
start_daemon recovery
queue_messages "$N" 100
for _ in $(seq 1 100); do [ "$(sql "SELECT count(*) FROM outbox WHERE status = 'sending'")" -gt 0 ] && break; sleep 0.1; done
sleep 1
kill -KILL "$dpid"; wait "$dpid" 2>/dev/null || true
killed=$(now)
sql "DROP TABLE IF EXISTS bench_held; CREATE TABLE bench_held AS SELECT id FROM outbox WHERE status = 'sending'"
held=$(sql "SELECT count(*) FROM bench_held")
sleep 1
start_daemon recovery2
left=$held
while [ "$left" -gt 0 ] && [ "$(calc "$(now) - $killed < $RECOVERY_WAIT")" = 1 ]; do
  sleep 0.2
  left=$(sql "SELECT count(*) FROM outbox JOIN bench_held USING (id) WHERE status <> 'sent'")
done
took=$(calc "$(now) - $killed")
if [ "$left" -eq 0 ]; then
  printf 'the killed instance held %s rows; all sent %.1f s after the kill (target < 30 s, aim < 5 s)\n' "$held" "$took"
else
  printf 'the killed instance held %s rows; %s still not sent %.0f s after the kill (target < 30 s)\n' "$held" "$left" "$took"
fi
stop_daemon

echo
echo "== 4. latency with 100 msg/s offered for 20 s to a running sitemaild (100 sites)"
sql "TRUNCATE outbox CASCADE"
start_daemon latency
for ((t = 0; t < 200; t++)); do
  sql "INSERT INTO outbox (nvtgc, to_addrs, subject, body_text) SELECT 'S' || lpad((g % 100)::text, 4, '0'), 'rcpt@dest.example', 'lat', 'x' FROM generate_series(1, 10) g" &
  sleep 0.1
done
wait $(jobs -p | grep -v -F "$(printf '%s\n' "${pids[@]}")") 2>/dev/null || true
sleep 3
rss=$(awk '/VmHWM/ {print $2}' "/proc/$dpid/status")
stop_daemon
sql "SELECT format('sent %s of %s; latency p50 %s ms, p95 %s ms, p99 %s ms (target p50 < 50 ms)', count(*) FILTER (WHERE status='sent'), count(*),
  round(1000 * extract(epoch from percentile_cont(0.5) WITHIN GROUP (ORDER BY sent_at - created_at))::numeric, 1),
  round(1000 * extract(epoch from percentile_cont(0.95) WITHIN GROUP (ORDER BY sent_at - created_at))::numeric, 1),
  round(1000 * extract(epoch from percentile_cont(0.99) WITHIN GROUP (ORDER BY sent_at - created_at))::numeric, 1)) FROM outbox"
printf 'running daemon peak RSS %.1f MiB\n' "$(calc "$rss / 1024")"
