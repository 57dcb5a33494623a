# bench_lib.sh — helpers sourced by bench_daemon.sh: a private PostgreSQL (durable
# settings), smtp-sink relays, site files, the outbox, sitemaild with the shipped defaults,
# and a private Postfix instance fed through its own smtpd and drained to the same sinks.
# Everything lives under $work and is stopped by bench_cleanup.

sink_user=""; [ "$(id -u)" = 0 ] && sink_user="-u nobody"
pids=()
SINK_PORTS=()

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
calc() { echo "$*" | bc -l; }
site_name() { printf 'S%04d' "$1"; }

bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  # BENCH_KEEP_LOGS=DIR: keep sitemaild's logs of the run there
  [ -n "${BENCH_KEEP_LOGS:-}" ] && mkdir -p "$BENCH_KEEP_LOGS" && cp "$work"/daemon-*.log "$BENCH_KEEP_LOGS"/ 2>/dev/null || true
  [ -n "${pfdir:-}" ] && postfix -c "$pfdir/etc" stop >/dev/null 2>&1 || true
  [ -n "${created_main_cf:-}" ] && rm -f /etc/postfix/main.cf
  "$src/deploy/pg-cluster.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}

# PostgreSQL with its durable defaults, the schema, and the default site's relay host.
bench_db() {
  unset SITEMAIL_PG_FAST
  db=$("$src/deploy/pg-cluster.sh" start "$work/pg")
  export SITEMAIL_DATABASE="$db" SITEMAIL_CONFIG_DIR="$work/config"
  mkdir -p "$work/config"
  "$build/server/sitemailctl" db migrate >/dev/null
  psql "$db" -qc "INSERT INTO customization (custkey, value, nvtgc) VALUES ('EMailSMTPServer','127.0.0.1','ILL'),('EMailFromAddress','bench@lib.example','ILL'),('Helo','bench.example','ILL')"
  # The shipped defaults: only the metrics listener is turned off (a port may be taken).
  printf '[metrics]\nlisten =\n' > "$work/sitemaild.conf"
  export PGOPTIONS="-c client_min_messages=warning"
}
sql() { psql "$db" -qtAc "$1"; }

# start_sinks N: N more smtp-sink listeners on loopback, ports appended to SINK_PORTS.
start_sinks() {
  local i p
  for ((i = 0; i < $1; i++)); do
    p=$(free_port)
    /usr/sbin/smtp-sink $sink_user -c "127.0.0.1:$p" 256 >/dev/null 2>&1 &
    pids+=($!)
    SINK_PORTS+=("$p")
  done
  sleep 1
}

# write_sites COUNT SINKS: site files S0000.. each naming its relay port; site i uses
# sink i % SINKS (sites share listeners, each site keeps its own config entry).
write_sites() {
  local i
  rm -f "$work"/config/*.config
  for ((i = 0; i < $1; i++)); do
    printf '<MailSettings><EMailSMTPPort>%s</EMailSMTPPort></MailSettings>\n' "${SINK_PORTS[$((i % $2))]}" \
      > "$work/config/$(site_name "$i").config"
  done
}

# queue_messages COUNT SITES [FIRST]: COUNT messages of ~1 KiB spread round robin over
# SITES sites starting at site FIRST, in one INSERT.
BODY=$(head -c 980 /dev/zero | tr '\0' 'x' | fold -w 70)
queue_messages() {
  sql "INSERT INTO outbox (nvtgc, to_addrs, subject, body_text) SELECT 'S' || lpad((${3:-0} + g % $2)::text, 4, '0'),
       'rcpt@dest.example', 'bench ' || g, \$\$$BODY\$\$ FROM generate_series(0, $1 - 1) g"
}

# sitemaild_once TIMEOUT: sitemaild --once on the queue; sets ONCE_SECONDS, ONCE_SENT,
# ONCE_RSS_KIB; a drain still running after TIMEOUT seconds is stopped (SIGTERM).
sitemaild_once() {
  local start end
  start=$(now)
  # time(1) outside timeout(1): its %M is the largest RSS of its descendants, sitemaild's.
  /usr/bin/time -f "%M" -o "$work/rss" timeout -s TERM "$1" "$build/server/sitemaild" --once \
    --config "$work/sitemaild.conf" 2>"$work/daemon-once.log" || true
  end=$(now)
  ONCE_SECONDS=$(calc "$end - $start")
  ONCE_SENT=$(sql "SELECT count(*) FROM outbox WHERE status = 'sent'")
  ONCE_RSS_KIB=$(tail -1 "$work/rss" | grep -Eo '^[0-9]+$' || echo 0)
}

# A private Postfix: its own config, queue and data dirs, an smtpd on a free loopback
# port for injection, delivery through transport_maps, deferred until postfix_drain.
postfix_setup() {
  pfdir="$work/postfix"
  mkdir -p "$pfdir/etc" "$pfdir/data" "$pfdir/queue"
  chown postfix "$pfdir/data"
  # Postfix only accepts a private config dir listed in the default instance's main.cf.
  if [ ! -f /etc/postfix/main.cf ]; then
    echo "alternate_config_directories = $pfdir/etc" > /etc/postfix/main.cf
    created_main_cf=1
  fi
  PF_SMTPD_PORT=$(free_port)
  sed "s/^smtp      inet  n       -       y/127.0.0.1:$PF_SMTPD_PORT inet n - n/" /etc/postfix/master.cf > "$pfdir/etc/master.cf"
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
mynetworks = 127.0.0.0/8
transport_maps = texthash:$pfdir/etc/transport
defer_transports = smtp
maillog_file = $pfdir/maillog
maillog_file_prefixes = /var, /tmp
smtp_tls_security_level = none
smtpd_tls_security_level = none
EOM
  : > "$pfdir/etc/transport"
  postfix -c "$pfdir/etc" check >/dev/null 2>&1 || true
  postfix -c "$pfdir/etc" start >/dev/null 2>&1 || { echo "postfix did not start"; return 1; }
}

pf_queue_count() { find "$pfdir/queue/deferred" "$pfdir/queue/active" "$pfdir/queue/incoming" "$pfdir/queue/maildrop" -type f 2>/dev/null | wc -l; }

# postfix_fill COUNT SITES SINKS: one transport entry per site (its own destination
# domain to the site's sink, as write_sites chose it) and COUNT held messages of 1 KiB,
# round robin over the sites.
postfix_fill() {
  local n=$1 sites=$2 i per extra
  postfix_routes "$sites" "$3"
  per=$((n / sites)); extra=$((n % sites))
  for ((i = 0; i < sites; i++)); do
    printf '%d s%04d\n' "$((per + (i < extra ? 1 : 0)))" "$i"
  done | awk '$1 > 0' | xargs -P 4 -L 1 sh -c 'exec /usr/sbin/smtp-source -d -s 5 -m "$0" -l 1024 -f bench@lib.example -t "rcpt@$1.dest.example" 127.0.0.1:'"$PF_SMTPD_PORT"
  for _ in $(seq 1 600); do
    [ "$(find "$pfdir/queue/deferred" -type f 2>/dev/null | wc -l)" -ge "$n" ] && break
    sleep 1
  done
  PF_HELD=$(find "$pfdir/queue/deferred" -type f | wc -l)
}

# postfix_routes SITES SINKS: one transport entry per site (its own destination domain
# sNNNN.dest.example to the site's sink, as write_sites chose it); delivery deferred until
# postfix_drain.
postfix_routes() {
  local i
  for ((i = 0; i < $1; i++)); do
    printf 's%04d.dest.example smtp:[127.0.0.1]:%s\n' "$i" "${SINK_PORTS[$((i % $2))]}"
  done > "$pfdir/etc/transport"
  postconf -c "$pfdir/etc" -e "defer_transports = smtp"
  postfix -c "$pfdir/etc" reload >/dev/null 2>&1
}

# postfix_inject_eml DIR SITES: DIR/i.eml (whole messages) held in Postfix's queue, message
# i to rcpt@sNNNN.dest.example with NNNN = i % SITES, through its smtpd (after
# postfix_routes); sets PF_HELD.
postfix_inject_eml() {
  local n
  n=$(find "$1" -name '*.eml' | wc -l)
  /usr/bin/python3 "$src/tests/bench/large_eml.py" inject "$1" "$2" "$PF_SMTPD_PORT"
  for _ in $(seq 1 600); do
    [ "$(find "$pfdir/queue/deferred" -type f 2>/dev/null | wc -l)" -ge "$n" ] && break
    sleep 1
  done
  PF_HELD=$(find "$pfdir/queue/deferred" -type f | wc -l)
}

# postfix_drain TIMEOUT: release the held queue and time it to empty; sets PF_SECONDS
# and PF_LEFT (messages still queued when TIMEOUT ran out). The clock starts at the first
# flush; a flush sent while the reload restarts qmgr can be lost, so it is repeated while
# nothing has moved.
postfix_drain() {
  local start end last moved
  postconf -c "$pfdir/etc" -e "defer_transports ="
  postfix -c "$pfdir/etc" reload >/dev/null 2>&1
  sleep 2
  start=$(now)
  postqueue -c "$pfdir/etc" -f
  PF_LEFT=$(pf_queue_count); last=$PF_LEFT; moved=$start
  while [ "$PF_LEFT" -gt 0 ] && [ "$(calc "$(now) - $start < $1")" = 1 ]; do
    sleep 0.2
    PF_LEFT=$(pf_queue_count)
    if [ "$PF_LEFT" -lt "$last" ]; then
      last=$PF_LEFT; moved=$(now)
    elif [ "$(calc "$(now) - $moved > 5")" = 1 ]; then
      postqueue -c "$pfdir/etc" -f; moved=$(now)
    fi
  done
  end=$(now)
  PF_SECONDS=$(calc "$end - $start")
  postsuper -c "$pfdir/etc" -d ALL >/dev/null 2>&1 || true
}
