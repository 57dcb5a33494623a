#!/usr/bin/env bash
# bench.sh — run the benchmarks and print their figures next to a reference measured in
# the same run, with targets beside them. Figures are reported, never asserted; sitemaild
# runs with its shipped defaults. Not run by CI.
# Usage: deploy/bench.sh [--quick]
#   --quick  a fast check that every benchmark runs (fewer messages and sites, short waits);
#            the full run takes several minutes (tests/bench/bench_daemon.sh says what it does)
# Env: BENCH_BEFORE_BUILD=DIR also compares the 1 KiB drain with an earlier commit's build
set -euo pipefail
cd "$(dirname "$0")/.."
quick=""
case "${1:-}" in
  --quick) quick=--quick ;;
  "") ;;
  -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: deploy/bench.sh [--quick]" >&2; exit 2 ;;
esac
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target bench_resolve >/dev/null
work=$(mktemp -d /tmp/sitemail-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "== resolve 10,000 sites, each with its own site file, cold start (fresh process)"
build/tests/bench/bench_resolve generate "$work/config" 10000 >/dev/null
build/tests/bench/bench_resolve resolve "$work/config" 10000
build/tests/bench/bench_resolve readonly "$work/config"

echo
echo "== SMTP engine: 20,000 messages of ~1 KiB over 10 reused connections into one smtp-sink"
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target bench_smtp >/dev/null
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sink_user=""; [ "$(id -u)" = 0 ] && sink_user="-u nobody"
/usr/sbin/smtp-sink $sink_user -c 127.0.0.1:$port 256 >"$work/sink.log" 2>&1 &
sink=$!
trap 'kill $sink 2>/dev/null; rm -rf "$work"' EXIT
sleep 0.5
build/tests/bench/bench_smtp "$port" 20000 10 | tee "$work/engine.txt"
start=$(date +%s.%N)
/usr/sbin/smtp-source -d -s 10 -m 20000 -l 1024 -f bench@lib.example -t sink@dest.example 127.0.0.1:$port
end=$(date +%s.%N)
ours=$(awk '/msg\/s/ {print $(NF-1)}' "$work/engine.txt")
theirs=$(echo "20000 / ($end - $start)" | bc -l)
printf 'reference smtp-source -d -s 10: 20000 messages in %.2f s: %.0f msg/s\n' "$(echo "$end - $start" | bc -l)" "$theirs"
printf 'ratio sitemail / smtp-source: %.2f (target >= 0.7)\n' "$(echo "$ours / $theirs" | bc -l)"

echo
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target sitemaild sitemailctl >/dev/null
tests/bench/bench_daemon.sh build $quick

# ---- large mail (issue 15): 100 x 10 MiB attachments over 10 sites vs Postfix ----
echo
tests/bench/bench_large.sh build $quick
# BENCH_BEFORE_BUILD=DIR (a build of an earlier commit, e.g. 320dd29): the 1 KiB drain of
# that build and of this one, alternating in the same run (tests/bench/bench_drain_compare.sh)
if [ -n "${BENCH_BEFORE_BUILD:-}" ]; then
  echo
  tests/bench/bench_drain_compare.sh build "$BENCH_BEFORE_BUILD" $quick
fi
# ---- end large mail ----

# ---- oauth (issue 10): token requests per 10,000 messages over 10 sites ----
echo
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target sitemaild sitemailctl >/dev/null
tests/bench/bench_oauth.sh build
# ---- end oauth ----

# ---- submission door (issue 19): the door vs Postfix smtpd, and the drain while the door takes mail ----
echo
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target sitemaild sitemailctl >/dev/null
tests/bench/bench_submission.sh build $quick
echo
tests/bench/bench_door_drain.sh build $quick
# ---- end submission door ----
