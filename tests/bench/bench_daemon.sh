#!/usr/bin/env bash
# bench_daemon.sh BUILD_DIR — sitemaild drain benchmark, reported side by side in one run:
#   1. 20,000 queued 1 KiB messages over 100 sites, each site's relay its own loopback
#      smtp-sink; one `sitemaild --once` drains them with durable outcomes (rows 'sent');
#      wall time, messages/s and peak RSS;
#   2. smtp-source -d -s 10 sending 20,000 messages into one of the same sinks;
#   3. Postfix (Debian package, private instance) relaying a held queue of the same 20,000
#      messages to the same sinks;
#   4. enqueue-to-delivered latency (p50/p95/p99) with 100 msg/s offered to a running daemon.
# Figures are printed, never asserted.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
N=${BENCH_MESSAGES:-20000}
SITES=${BENCH_SITES:-100}
work=$(mktemp -d /tmp/sitemail-bench-daemon.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "${pfdir:-}" ] && postfix -c "$pfdir/etc" stop >/dev/null 2>&1 || true
  [ -n "${created_main_cf:-}" ] && rm -f /etc/postfix/main.cf
  "$src/deploy/pg-cluster.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
[ -n "${BENCH_KEEP_PG_LOG:-}" ] && trap 'cp "$work/pg/server.log" "$BENCH_KEEP_PG_LOG"; cleanup' EXIT
sink_user=""; [ "$(id -u)" = 0 ] && sink_user="-u nobody"
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

db=$("$src/deploy/pg-cluster.sh" start "$work/pg")
export SITEMAIL_DATABASE="$db"
mkdir -p "$work/config"
export SITEMAIL_CONFIG_DIR="$work/config"
"$build/server/sitemailctl" db migrate >/dev/null
psql "$db" -qc "INSERT INTO customization (custkey, value, nvtgc) VALUES ('EMailSMTPServer','127.0.0.1','ILL'),('EMailFromAddress','bench@lib.example','ILL'),('Helo','bench.example','ILL')"
ports=()
for ((i = 0; i < SITES; i++)); do
  p=$(free_port)
  ports+=("$p")
  /usr/sbin/smtp-sink $sink_user -c 127.0.0.1:$p 64 >/dev/null 2>&1 &
  pids+=($!)
  printf '<MailSettings><EMailSMTPPort>%s</EMailSMTPPort><MaxConnections>%s</MaxConnections></MailSettings>\n' "$p" "${BENCH_SITE_CONNECTIONS:-2}" > "$work/config/S$(printf %03d $i).config"
done
sleep 1
body=$(head -c 700 /dev/zero | tr '\0' 'x' | fold -w 70)
printf '[metrics]\nlisten =\n[delivery]\nbatch_size = 500\nmax_connections = 200\n[log]\nlevel = %s\n' "${BENCH_LOG_LEVEL:-info}" > "$work/sitemaild.conf"

echo "== 1. sitemaild --once draining $N messages over $SITES sites (one smtp-sink each)"
psql "$db" -qc "INSERT INTO outbox (nvtgc, to_addrs, subject, body_text) SELECT 'S' || lpad((g % $SITES)::text, 3, '0'), 'rcpt@dest.example', 'bench ' || g, \$\$$body\$\$ FROM generate_series(1, $N) g"
start=$(date +%s.%N)
${BENCH_WRAP:-} /usr/bin/time -f "%M %U %S" -o "$work/rss" "$build/server/sitemaild" --once --config "$work/sitemaild.conf" 2>"${BENCH_DAEMON_LOG:-$work/daemon.log}" || true
end=$(date +%s.%N)
sent=$(psql "$db" -tAc "SELECT count(*) FROM outbox WHERE status = 'sent'")
ours=$(echo "$sent / ($end - $start)" | bc -l)
printf 'sitemaild: %s of %s sent (durable) in %.2f s: %.0f msg/s, peak RSS %.1f MiB\n' "$sent" "$N" "$(echo "$end - $start" | bc -l)" "$ours" "$(echo "$(cut -d" " -f1 "$work/rss") / 1024" | bc -l)"

echo "sitemaild cpu user/sys seconds: $(cut -d" " -f2,3 "$work/rss")"
[ -n "${BENCH_ONLY_DRAIN:-}" ] && exit 0
echo "== 2. smtp-source -d -s 10, $N messages into one of the same sinks"
start=$(date +%s.%N)
/usr/sbin/smtp-source -d -s 10 -m "$N" -l 1024 -f bench@lib.example -t rcpt@dest.example 127.0.0.1:${ports[0]}
end=$(date +%s.%N)
src_rate=$(echo "$N / ($end - $start)" | bc -l)
printf 'smtp-source: %.0f msg/s; sitemaild / smtp-source = %.2f (target >= 0.35)\n' "$src_rate" "$(echo "$ours / $src_rate" | bc -l)"

echo "== 3. Postfix relaying a held queue of $N messages to the same sinks"
pfdir="$work/postfix"
mkdir -p "$pfdir/etc" "$pfdir/data" "$pfdir/queue"
chown postfix "$pfdir/data"
# Postfix only accepts a private config dir listed in the default instance's main.cf.
if [ ! -f /etc/postfix/main.cf ]; then
  echo "alternate_config_directories = $pfdir/etc" > /etc/postfix/main.cf
  created_main_cf=1
fi
cp /etc/postfix/master.cf "$pfdir/etc/master.cf"
: > "$pfdir/etc/transport"
for ((i = 0; i < SITES; i++)); do echo "s$(printf %03d $i).dest.example smtp:[127.0.0.1]:${ports[$i]}" >> "$pfdir/etc/transport"; done
cat > "$pfdir/etc/main.cf" <<EOM
compatibility_level = 3.6
queue_directory = $pfdir/queue
data_directory = $pfdir/data
mail_owner = postfix
setgid_group = postdrop
myhostname = bench.example
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
master_service_disable = inet
transport_maps = texthash:$pfdir/etc/transport
defer_transports = smtp
maillog_file = $pfdir/maillog
maillog_file_prefixes = /var, /tmp
smtp_tls_security_level = none
default_destination_concurrency_limit = 2
EOM
postfix -c "$pfdir/etc" check >/dev/null 2>&1 || true
postfix -c "$pfdir/etc" start >/dev/null 2>&1 || { echo "postfix did not start"; exit 1; }
msg=$(printf 'Subject: bench\n\n%s\n' "$body")
export pfdir msg
seq 1 "$N" | xargs -P 8 -I{} sh -c 'i={}; printf "%s" "$msg" | /usr/sbin/sendmail -C "$pfdir/etc" -f bench@lib.example "rcpt@s$(printf %03d $((i % '"$SITES"'))).dest.example"'
# wait until everything is in the (deferred) queue
for _ in $(seq 1 600); do
  n=$(find "$pfdir/queue/deferred" -type f 2>/dev/null | wc -l)
  [ "$n" -ge "$N" ] && break
  sleep 1
done
echo "postfix: $(find "$pfdir/queue/deferred" -type f | wc -l) messages held"
postconf -c "$pfdir/etc" -e "defer_transports =" 
start=$(date +%s.%N)
postfix -c "$pfdir/etc" reload >/dev/null 2>&1
postqueue -c "$pfdir/etc" -f
for _ in $(seq 1 3600); do
  left=$(find "$pfdir/queue/deferred" "$pfdir/queue/active" "$pfdir/queue/incoming" -type f 2>/dev/null | wc -l)
  [ "$left" -eq 0 ] && break
  sleep 0.2
done
end=$(date +%s.%N)
pf_rate=$(echo "$N / ($end - $start)" | bc -l)
printf 'postfix: %.0f msg/s; sitemaild / postfix = %.1f (target >= 5)\n' "$pf_rate" "$(echo "$ours / $pf_rate" | bc -l)"
postfix -c "$pfdir/etc" stop >/dev/null 2>&1 || true

echo "== 4. latency with 100 msg/s offered for 20 s to a running sitemaild"
psql "$db" -qc "TRUNCATE outbox"
"$build/server/sitemaild" --config "$work/sitemaild.conf" 2>"$work/daemon2.log" &
dpid=$!
pids+=($dpid)
sleep 1
for ((t = 0; t < 200; t++)); do
  psql "$db" -qc "INSERT INTO outbox (nvtgc, to_addrs, subject, body_text) SELECT 'S' || lpad((g % $SITES)::text, 3, '0'), 'rcpt@dest.example', 'lat', 'x' FROM generate_series(1, 10) g" &
  sleep 0.1
done
wait $(jobs -p | grep -v "$dpid" | grep -v -F "$(printf '%s\n' "${pids[@]}")") 2>/dev/null || true
sleep 3
rss=$(awk '/VmHWM/ {print $2}' /proc/$dpid/status)
kill -TERM $dpid; wait $dpid || true
psql "$db" -tAc "SELECT format('sent %s of %s; latency p50 %s ms, p95 %s ms, p99 %s ms (target p50 < 50 ms)', count(*) FILTER (WHERE status='sent'), count(*),
  round(1000 * extract(epoch from percentile_cont(0.5) WITHIN GROUP (ORDER BY sent_at - created_at))::numeric, 1),
  round(1000 * extract(epoch from percentile_cont(0.95) WITHIN GROUP (ORDER BY sent_at - created_at))::numeric, 1),
  round(1000 * extract(epoch from percentile_cont(0.99) WITHIN GROUP (ORDER BY sent_at - created_at))::numeric, 1)) FROM outbox"
printf 'running daemon peak RSS %.1f MiB (target < 150 MiB)\n' "$(echo "$rss / 1024" | bc -l)"
