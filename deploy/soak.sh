#!/usr/bin/env bash
# soak.sh — the soak proof (docs/development.md, "Soak test"): two sitemaild with the shipped defaults,
# real PostgreSQL (durable settings) restarted mid-delivery, token-counting relays that
# answer 4xx or drop the connection at random, a random daemon SIGKILLed and restarted every
# few seconds; asserts nothing lost, nothing left sending, duplicates only within crash
# windows, and prints the recovery delay after each kill.
# Usage: deploy/soak.sh [--short|--full] [--build DIR] [driver options, see
#        tests/soak/soak.py --help]
#   --short  40 sites, 3,000 messages, 4 kills, 1 PostgreSQL restart (what CI runs)
#   --full   200 sites, 20,000 messages, 10 kills, 2 PostgreSQL restarts
#   --build  an existing build dir whose sitemaild/sitemailctl are used as they are
#            (default: build/, configured and built here)
# Exit status: 0 all assertions hold, 1 one failed, 2 the run could not be set up.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=short
build=""
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --short) profile=short ;;
    --full) profile=full ;;
    --build) build=${2:?--build needs a directory}; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
  || { echo "soak.sh: python3-psycopg2 is missing; run deploy/install-deps.sh" >&2; exit 2; }
exec /usr/bin/python3 -B tests/soak/soak.py --profile "$profile" \
  --sitemaild "$build/server/sitemaild" --sitemailctl "$build/server/sitemailctl" ${extra[@]+"${extra[@]}"}
