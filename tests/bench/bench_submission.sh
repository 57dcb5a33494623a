#!/usr/bin/env bash
# bench_submission.sh BUILD_DIR [--quick] — the SMTP submission door (issue 19) against a
# private Postfix smtpd, same run, same client: Postfix's smtp-source sends 10,000 messages of
# 1 KiB over 10 sessions (pipelined, no AUTH: the client's address is a trusted network of the
# door, and in Postfix's mynetworks) into
#   a) sitemaild's [submission] listener: accepted = a committed outbox row (250 after COMMIT,
#      PostgreSQL with its durable defaults), while the daemon also delivers to an smtp-sink;
#   b) Postfix smtpd: accepted = a queue file (fsynced), delivery held (defer_transports).
# Prints msg/s for both and the ratio (target >= 1x). Figures are reported, never asserted.
# --quick: 2,000 messages.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
N=${BENCH_MESSAGES:-10000}; [ "${2:-}" = "--quick" ] && N=${BENCH_MESSAGES:-2000}
SESSIONS=10
work=$(mktemp -d /tmp/sitemail-bench-submission.XXXXXX)
chmod 755 "$work"
source "$src/tests/bench/bench_lib.sh"
trap bench_cleanup EXIT

bench_db
start_sinks 1
write_sites 1 1
door=$(free_port)
printf '[metrics]\nlisten =\n[submission]\nlisten = 127.0.0.1:%s\n' "$door" > "$work/sitemaild.conf"
"$build/server/sitemailctl" submission network add 127.0.0.1/32 --site S0000 >/dev/null
"$build/server/sitemaild" --config "$work/sitemaild.conf" 2>"$work/daemon-door.log" &
pids+=($!)
for _ in $(seq 1 100); do grep -q event=config_loaded "$work/daemon-door.log" && break; sleep 0.1; done

# warm-up, untimed
/usr/sbin/smtp-source -s 2 -m 200 -l 1024 -f bench@lib.example -t rcpt@dest.example "127.0.0.1:$door" >/dev/null
base=$(sql "SELECT count(*) FROM outbox WHERE submitted_by IS NOT NULL")
start=$(now)
/usr/sbin/smtp-source -s "$SESSIONS" -m "$N" -l 1024 -f bench@lib.example -t rcpt@dest.example "127.0.0.1:$door"
end=$(now)
door_rows=$(( $(sql "SELECT count(*) FROM outbox WHERE submitted_by IS NOT NULL") - base ))
door_s=$(calc "$end - $start")
door_rate=$(calc "$door_rows / $door_s")

postfix_setup
/usr/sbin/smtp-source -s 2 -m 200 -l 1024 -f bench@lib.example -t rcpt@s0000.dest.example "127.0.0.1:$PF_SMTPD_PORT" >/dev/null
sleep 2
pf_base=$(pf_queue_count)
start=$(now)
/usr/sbin/smtp-source -s "$SESSIONS" -m "$N" -l 1024 -f bench@lib.example -t rcpt@s0000.dest.example "127.0.0.1:$PF_SMTPD_PORT"
end=$(now)
pf_s=$(calc "$end - $start")
for _ in $(seq 1 60); do [ "$(pf_queue_count)" -ge $((pf_base + N)) ] && break; sleep 0.5; done
pf_rows=$(( $(pf_queue_count) - pf_base ))
pf_rate=$(calc "$N / $pf_s")

printf 'submission door: %d of %d messages accepted durably in %.2f s = %.0f msg/s (%d sessions, 1 KiB)\n' "$door_rows" "$N" "$door_s" "$door_rate" "$SESSIONS"
printf 'postfix smtpd:   %d of %d messages queued in %.2f s = %.0f msg/s\n' "$pf_rows" "$N" "$pf_s" "$pf_rate"
printf 'ratio door/postfix: %.2fx (target >= 1x)\n' "$(calc "$door_rate / $pf_rate")"
