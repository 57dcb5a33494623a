#!/usr/bin/env bash
# bench_door_drain.sh BUILD_DIR [--quick] — does the SMTP submission door (issue 19) slow
# delivery? One running sitemaild (shipped defaults; [submission] listening on loopback),
# in the same run, alternating a b a b:
#   a) the drain alone: N queued 1 KiB messages over S sites to smtp-sink relays (the shape of
#      bench_daemon.sh section 1, but a running daemon: the door only runs in one);
#   b) the same drain while Postfix's smtp-source pushes 10,000 messages of 1 KiB over 10
#      sessions into the door (the issue's shape: 10 SMTP sessions in parallel, each sending
#      its 1,000 messages one after the other, smtp-source -d; a trusted network, no AUTH;
#      250 = a committed row);
#   c) the same, but every message on a connection of its own (10 in parallel, smtp-source
#      without -d: a connect, greeting, EHLO and QUIT per message, as many report servers do).
#   The door's rows belong to a site whose configuration is invalid, so they are held and the
#   drain's work is the same in a), b) and c): b) and c) measure what the door's reading,
#   parsing and storing cost delivery, not the delivery of the door's mail.
# Prints, per run, the drain's msg/s (rows sent / time from enqueue to the last sent_at), the
# door's msg/s, and the ratios b/a (target >= 0.8) and c/a. Figures are reported, never
# asserted. --quick: 2,000 messages over 10 sites, 2,000 into the door, one round.
# Env: BENCH_MESSAGES, BENCH_SITES, BENCH_DOOR_MESSAGES, BENCH_RUNS (pairs), BENCH_DRAIN_TIMEOUT (s).
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
if [ "${2:-}" = "--quick" ]; then
  N=${BENCH_MESSAGES:-2000}; S=${BENCH_SITES:-10}; DOOR_N=${BENCH_DOOR_MESSAGES:-2000}; RUNS=${BENCH_RUNS:-1}
else
  N=${BENCH_MESSAGES:-20000}; S=${BENCH_SITES:-100}; DOOR_N=${BENCH_DOOR_MESSAGES:-10000}; RUNS=${BENCH_RUNS:-2}
fi
DRAIN_TIMEOUT=${BENCH_DRAIN_TIMEOUT:-600}
SESSIONS=10
work=$(mktemp -d /tmp/sitemail-bench-door-drain.XXXXXX)
chmod 755 "$work"
source "$src/tests/bench/bench_lib.sh"
trap bench_cleanup EXIT

bench_db
start_sinks "$S"
write_sites "$S" "$S"
# The door's site: an invalid configuration holds its mail (not claimed, not delivered).
printf '<MailSettings><EMailSMTPPort>not-a-port</EMailSMTPPort></MailSettings>\n' > "$work/config/DOOR.config"
door=$(free_port)
printf '[submission]\nlisten = 127.0.0.1:%s\n' "$door" >> "$work/sitemaild.conf"
"$build/server/sitemailctl" submission network add 127.0.0.1/32 --site DOOR >/dev/null
"$build/server/sitemaild" --config "$work/sitemaild.conf" 2>"$work/daemon-door-drain.log" &
dpid=$!
pids+=("$dpid")
for _ in $(seq 1 100); do grep -q event=config_loaded "$work/daemon-door-drain.log" && break; sleep 0.1; done

clock() { sql "SELECT extract(epoch FROM clock_timestamp())"; }
# CPU seconds (user + system) used so far by: sitemaild, the door's PostgreSQL backend, every
# other PostgreSQL process, smtp-source, the smtp-sinks; and the machine's idle CPU seconds
# (/proc/stat: none idle means something else competed for the CPUs too). BENCH_PROFILE=1 prints, per run,
# what each used during the drain.
hz=$(getconf CLK_TCK)
cpu_of() { local t=0 p; for p in "$@"; do [ -r "/proc/$p/stat" ] && t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}'))); done; echo "$t"; }
cpu_snapshot() {
  local pm door_be others
  pm=$(head -1 "$work/pg/data/postmaster.pid")
  door_be=$(sql "SELECT pid FROM pg_stat_activity WHERE application_name = 'sitemaild submission'" | head -1)
  others=$(pgrep -P "$pm" | grep -vx "${door_be:-0}" | tr '\n' ' ')
  echo "$(cpu_of "$dpid") $(cpu_of "$door_be") $(cpu_of "$pm" $others) $(cpu_of $(pgrep -x smtp-source)) $(cpu_of $(pgrep -x smtp-sink)) $(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6}' /proc/stat)"
}
# cpu_report BEFORE AFTER: what each used between two snapshots, in CPU seconds
cpu_report() {
  echo "$1 $2" | awk -v hz="$hz" '{printf "     cpu s: sitemaild %.1f, door backend %.1f, other postgres %.1f, smtp-source %.1f, sinks %.1f; the machine idle %.1f\n",
    ($8-$1)/hz, ($9-$2)/hz, ($10-$3)/hz, ($11-$4)/hz, ($12-$5)/hz, ($14-$7)/hz}'
}
# drain [sessions|connections]: the queue emptied, N messages queued over S sites, waited for
# until sent; with an argument, smtp-source pushes DOOR_N messages into the door from the
# enqueue on, over SESSIONS sessions (-d) or a connection per message.
# Sets DRAIN_RATE, DRAIN_S, SENT and, with "door", DOOR_RATE, DOOR_S, DOOR_ROWS.
drain() {
  local t0 te until door_pid="" end
  sql "TRUNCATE outbox CASCADE"
  CPU_BEFORE=$(cpu_snapshot)
  t0=$(clock)
  if [ -n "${1:-}" ]; then
    local reuse=(-d)
    [ "$1" = connections ] && reuse=()
    /usr/sbin/smtp-source "${reuse[@]}" -s "$SESSIONS" -m "$DOOR_N" -l 1024 -f bench@lib.example -t rcpt@dest.example "127.0.0.1:$door" >/dev/null &
    door_pid=$!
  fi
  queue_messages "$N" "$S"
  until=$(calc "$(now) + $DRAIN_TIMEOUT")
  while [ "$(sql "SELECT count(*) FROM outbox WHERE status = 'sent'")" -lt "$N" ] && [ "$(calc "$(now) < $until")" = 1 ]; do
    sleep 0.2
  done
  CPU_AFTER=$(cpu_snapshot)
  if [ -n "$door_pid" ]; then
    wait "$door_pid" || true
    te=$(sql "SELECT extract(epoch FROM max(created_at)) FROM outbox WHERE submitted_by IS NOT NULL")
    DOOR_ROWS=$(sql "SELECT count(*) FROM outbox WHERE submitted_by IS NOT NULL")
    DOOR_S=$(calc "$te - $t0")
    DOOR_RATE=$(calc "$DOOR_ROWS / $DOOR_S")
  fi
  SENT=$(sql "SELECT count(*) FROM outbox WHERE status = 'sent'")
  end=$(sql "SELECT extract(epoch FROM max(sent_at)) FROM outbox WHERE status = 'sent'")
  DRAIN_S=$(calc "$end - $t0")
  DRAIN_RATE=$(calc "$SENT / $DRAIN_S")
}

# Warm-up, untimed: a small drain with a small push.
BENCH_N=$N; BENCH_DOOR_N=$DOOR_N; N=2000; DOOR_N=2000
drain connections
N=$BENCH_N; DOOR_N=$BENCH_DOOR_N

echo "== door vs drain: $N queued 1 KiB messages over $S sites (running sitemaild, shipped defaults), alone (a) and while"
echo "   smtp-source pushes $DOOR_N messages of 1 KiB into the door over $SESSIONS sessions (b) or a connection per message,"
echo "   $SESSIONS at a time (c); $RUNS round(s), a b c a b c"
printf '%-4s | %-30s | %s\n' run "drain: msg/s (sent, s)" "door: msg/s (rows, s)"
rate_a=(); rate_b=(); rate_c=()
for ((r = 1; r <= RUNS; r++)); do
  drain
  rate_a+=("$DRAIN_RATE")
  printf '%-4s | %-30s | -\n' "a$r" "$(printf '%.0f (%s of %s, %.1f s)' "$DRAIN_RATE" "$SENT" "$N" "$DRAIN_S")"
  if [ -n "${BENCH_PROFILE:-}" ]; then cpu_report "$CPU_BEFORE" "$CPU_AFTER"; fi
  for shape in sessions connections; do
    drain "$shape"
    if [ "$shape" = sessions ]; then rate_b+=("$DRAIN_RATE"); tag=b$r; else rate_c+=("$DRAIN_RATE"); tag=c$r; fi
    printf '%-4s | %-30s | %s\n' "$tag" "$(printf '%.0f (%s of %s, %.1f s)' "$DRAIN_RATE" "$SENT" "$N" "$DRAIN_S")" \
      "$(printf '%.0f (%s of %s, %.1f s; pushing during %.0f %% of the drain)' "$DOOR_RATE" "$DOOR_ROWS" "$DOOR_N" "$DOOR_S" \
        "$(calc "100 * ($DOOR_S < $DRAIN_S) * $DOOR_S / $DRAIN_S + 100 * ($DOOR_S >= $DRAIN_S)")")"
    if [ -n "${BENCH_PROFILE:-}" ]; then cpu_report "$CPU_BEFORE" "$CPU_AFTER"; fi
  done
done
mean() { printf '%s\n' "$@" | awk '{s += $1} END {print s / NR}'; }
ma=$(mean "${rate_a[@]}"); mb=$(mean "${rate_b[@]}"); mc=$(mean "${rate_c[@]}")
printf 'drain alone %.0f msg/s; while the door takes mail over %s sessions %.0f msg/s: b/a %.2f (target >= 0.80);\n' "$ma" "$SESSIONS" "$mb" "$(calc "$mb / $ma")"
printf '  while it takes a connection per message %.0f msg/s: c/a %.2f\n' "$mc" "$(calc "$mc / $ma")"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared: compare a, b and c of the same round)"
