#!/usr/bin/env bash
# failover-drill.sh — the PostgreSQL failover drill (CONTRACT §11; docs/several-hosts.md):
# a primary and a streaming standby on private Unix sockets, two sitemaild on a multi-host
# url with target_session_attrs=read-write, ~40 sites draining through delayed relays, the
# primary killed (pg_ctl stop -m immediate) and the standby promoted mid-drain; asserts
# 0 lost, 0 stuck in sending, duplicates only among messages in flight at a failover,
# delivery resumed within 30 s of each promotion (tests/failover/drill.py).
# Usage: deploy/failover-drill.sh [--short|--long|--vanish|--auto-failover] [--async] [--build DIR] [drill options]
#   --short  two failovers (a kill, a demotion), 3,000 messages (the ctest `failover`)
#   --long   four failovers back and forth (the old primary rebuilt as the new standby
#            each time), 6,000 messages  (default)
#   --async  asynchronous replication: the figures are measured and printed, not asserted
#            (what a failover can lose or send twice without synchronous replication)
#   --both   the long run twice: synchronous, then asynchronous
#   --vanish the primary's host vanishes instead (no FIN/RST: nodes in network namespaces, a
#            blackhole route, then power-off); one failover, 1,840 messages (the ctest
#            `failover_vanish`; needs root for `ip netns`, exits 77 where it cannot run)
#   --auto-failover  a pg_auto_failover formation (monitor + primary + synchronous secondary,
#            Debian package postgresql-15-auto-failover) and one `pg_autoctl perform
#            failover`; root, exits 77 without pg_autoctl (not in CI: ~2 minutes)
#   --build  an existing build dir (default: build/, configured and built here)
# Exit status: 0 all assertions hold, 1 one failed, 2 the run could not be set up, 77 skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=long
build=""
modes=("")
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --short) profile=short ;;
    --long) profile=long ;;
    --async) modes=("--async") ;;
    --both) modes=("" "--async") ;;
    --vanish) modes=("--vanish") ;;
    --auto-failover) modes=("--auto-failover") ;;
    --build) build=${2:?--build needs a directory}; shift ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) extra+=("$1") ;;
  esac
  shift
done
if [ -z "$build" ]; then
  build=build
  cmake -S . -B "$build" >/dev/null
  cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" --target sitemaild sitemailctl >/dev/null
fi
/usr/bin/python3 -c 'import psycopg2' 2>/dev/null \
  || { echo "failover-drill.sh: python3-psycopg2 is missing; run deploy/install-deps.sh" >&2; exit 2; }
rc=0
for m in "${modes[@]}"; do
  /usr/bin/python3 -B tests/failover/drill.py --profile "$profile" ${m:+"$m"} \
    --sitemaild "$build/server/sitemaild" --sitemailctl "$build/server/sitemailctl" ${extra[@]+"${extra[@]}"} || rc=$?
done
exit $rc
