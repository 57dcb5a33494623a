#!/usr/bin/env bash
# bench_resolve.sh — the resolve harness of issue 17: N sites (default 10,000), each with a
# <site>.config file and a DB key, plus SMTP.config, in a private PostgreSQL cluster; then
# `sitemaild --check-config` (a fresh process each time), RUNS times cold (page cache dropped)
# and RUNS times warm (default 3), with wall time and peak RSS of each run, beside the time to
# merely read the same files (cold and warm) and the in-process figure of bench_resolve
# (resolution alone). Figures are printed, never
# asserted. Everything lives in a temporary folder removed on exit (also on failure).
#   tests/bench/bench_resolve.sh BUILD_DIR [N] [RUNS]
set -euo pipefail
build=$(cd "${1:?usage: bench_resolve.sh BUILD_DIR [N] [RUNS]}" && pwd)
n=${2:-10000}
runs=${3:-3}
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/sitemail-bench-resolve.XXXXXX)
chmod 755 "$work"
cleanup() {
  "$src/deploy/pg-cluster.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench="$build/tests/bench/bench_resolve"
daemon="$build/server/sitemaild"
ctl="$build/server/sitemailctl"
[ -x "$bench" ] && [ -x "$daemon" ] && [ -x "$ctl" ] || { echo "build bench_resolve, sitemaild and sitemailctl first" >&2; exit 2; }

"$bench" generate "$work/config" "$n" >/dev/null
SITEMAIL_PG_FAST=1 db=$("$src/deploy/pg-cluster.sh" start "$work/pg")
"$ctl" --database "$db" db migrate >/dev/null
{
  echo "INSERT INTO customization (custkey, value, nvtgc) VALUES ('EMailSMTPServer','relay.example.org','ILL'),"
  echo "('EMailFromAddress','ill@example.org','ILL');"
  echo "INSERT INTO customization (custkey, value, nvtgc)"
  echo "SELECT 'EMailFromAddress', 's' || g || '@example.org', 'S' || lpad(g::text, 5, '0') FROM generate_series(0, $n - 1) g;"
} | psql "$db" -qX >/dev/null
printf '[metrics]\nlisten =\n' >"$work/sitemaild.conf"

echo "resolve harness: $n site files + DB keys, sitemaild --check-config, $runs runs cold then $runs warm"
drop_caches() {
  sync
  echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true  # cold page cache when allowed (root)
}
for mode in cold warm; do
  for ((i = 1; i <= runs; i++)); do
    [ "$mode" = cold ] && drop_caches
    /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$daemon" --check-config --config "$work/sitemaild.conf" --database "$db" \
      --config-dir "$work/config" >"$work/out" 2>&1 || { echo "check-config failed:" >&2; tail -5 "$work/out" >&2; exit 1; }
    read -r secs user sys kib <"$work/time"
    printf '  %s run %d: sitemaild --check-config  %6.2f s wall (%.2f s CPU)  peak RSS %6.1f MiB  (%d lines of output)\n' \
      "$mode" "$i" "$secs" "$(echo "$user + $sys" | bc -l)" "$(echo "$kib / 1024" | bc -l)" "$(wc -l <"$work/out")"
  done
done
# Beside it, the time to merely open and read the same files (no parsing), cold and warm: a
# cold check can never be faster than its reads.
drop_caches
echo "  cold: $("$bench" readonly "$work/config")"
echo "  warm: $("$bench" readonly "$work/config")"
echo "in process (no database, no output, warm):"
"$bench" resolve "$work/config" "$n" | sed 's/^/  /'
"$bench" explain "$work/config" "$n" | sed 's/^/  /'
