#!/usr/bin/env bash
# bench_drain_compare.sh BUILD_DIR BEFORE_BUILD_DIR [--quick] — the 1 KiB drain of
# bench_daemon.sh (section 1: queued 1 KiB messages, one `sitemaild --once`, shipped
# defaults) for two builds in the same run: BEFORE_BUILD_DIR is an earlier commit's build
# (e.g. 320dd29, before CONTRACT §8), BUILD_DIR the one under test. Each build has its own
# database in the same private PostgreSQL (its own schema version), the same sinks and site
# files; the runs alternate (before, after, after, before, ...) so that a noisy neighbour
# hurts both alike. Prints every run's msg/s and the median per build and site count.
# --quick: 2,000 messages, 10 and 100 sites, 2 runs each. Otherwise 20,000 messages,
# 10/100/1,000 sites, 3 runs each.
# Env: BENCH_MESSAGES, BENCH_SITE_COUNTS, BENCH_RUNS, BENCH_DRAIN_TIMEOUT (s).
set -euo pipefail
build_after=$(cd "${1:?usage: bench_drain_compare.sh BUILD_DIR BEFORE_BUILD_DIR [--quick]}" && pwd)
build_before=$(cd "${2:?usage: bench_drain_compare.sh BUILD_DIR BEFORE_BUILD_DIR [--quick]}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
quick=""; [ "${3:-}" = "--quick" ] && quick=1
if [ -n "$quick" ]; then
  N=${BENCH_MESSAGES:-2000}; COUNTS=${BENCH_SITE_COUNTS:-"10 100"}; RUNS=${BENCH_RUNS:-2}
else
  N=${BENCH_MESSAGES:-20000}; COUNTS=${BENCH_SITE_COUNTS:-"10 100 1000"}; RUNS=${BENCH_RUNS:-3}
fi
DRAIN_TIMEOUT=${BENCH_DRAIN_TIMEOUT:-600}
SINKS=${BENCH_SINKS:-100}
work=$(mktemp -d /tmp/sitemail-bench-compare.XXXXXX)
chmod 755 "$work"
source "$src/tests/bench/bench_lib.sh"
trap bench_cleanup EXIT

build=$build_after
bench_db
db_after=$db
psql "$db" -qc "CREATE DATABASE before"
db_before="${db/dbname=postgres/dbname=before}"
SITEMAIL_DATABASE="$db_before" "$build_before/server/sitemailctl" db migrate >/dev/null
psql "$db_before" -qc "INSERT INTO customization (custkey, value, nvtgc) VALUES ('EMailSMTPServer','127.0.0.1','ILL'),('EMailFromAddress','bench@lib.example','ILL'),('Helo','bench.example','ILL')"
start_sinks "$SINKS"

# use before|after: the build, and the database sql/sitemaild_once work on
use() {
  if [ "$1" = before ]; then build=$build_before; db=$db_before; else build=$build_after; db=$db_after; fi
  export SITEMAIL_DATABASE="$db"
}
# one_drain C: the queue refilled with N messages over C sites, drained; prints msg/s
one_drain() {
  sql "TRUNCATE outbox CASCADE"
  queue_messages "$N" "$1"
  sitemaild_once "$DRAIN_TIMEOUT"
  calc "$ONCE_SENT / $ONCE_SECONDS"
}
median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# Warm-up, untimed, on each database.
write_sites 10 10
for b in before after; do use "$b"; one_drain 10 >/dev/null; done

echo "== 1 KiB drain, before vs after: $N queued messages, sitemaild --once (shipped defaults), $RUNS runs each, alternating"
# The commit a build dir was configured from ("?" for a dir that is not a CMake build, such
# as a copied binary: the source tree's HEAD would be the wrong answer).
rev() {
  local home
  home=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$1/CMakeCache.txt" 2>/dev/null)
  [ -n "$home" ] && git -C "$home" log -1 --format=%h 2>/dev/null || echo "?"
}
echo "   before: $build_before (commit $(rev "$build_before")); after: $build_after (commit $(rev "$build_after"))"
printf '%-6s | %-36s | %-36s | %s\n' sites "before (msg/s per run; median)" "after (msg/s per run; median)" "after / before"
for C in $COUNTS; do
  write_sites "$C" $((C < SINKS ? C : SINKS))
  declare -A rates=([before]="" [after]="")
  for ((r = 0; r < RUNS; r++)); do
    order="before after"; [ $((r % 2)) = 1 ] && order="after before"
    for b in $order; do
      use "$b"
      rates[$b]="${rates[$b]} $(printf '%.0f' "$(one_drain "$C")")"
    done
  done
  mb=$(echo "${rates[before]}" | tr ' ' '\n' | grep . | median)
  ma=$(echo "${rates[after]}" | tr ' ' '\n' | grep . | median)
  printf '%-6s | %-36s | %-36s | %.2f\n' "$C" "${rates[before]# }; $mb" "${rates[after]# }; $ma" "$(calc "$ma / $mb")"
done
echo "target: after >= before (the machine is shared: differences within a few percent are noise)"
