#!/usr/bin/env bash
# repeat-tests.sh [RUNS] [BUILD_DIR...] — run the whole test suite of already built build
# folders RUNS times in a row (default 5; folders: build and build-asan), the way
# deploy/test-all.sh runs it (ctest -jNPROC), and check that nothing was left behind in /tmp.
# A flaky test is a failing test: one red run makes the whole script fail. Prints one line
# per run and build (passed, or the failing tests), then what /tmp gained, if anything.
# Exit 0: every run green and /tmp as it was; 1: a run failed; 2: /tmp gained entries.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
runs=${1:-5}
shift || true
dirs=("$@")
[ ${#dirs[@]} -gt 0 ] || dirs=(build build-asan)
jobs=$(nproc 2>/dev/null || echo 2)
for d in "${dirs[@]}"; do
  [ -f "$d/CTestTestfile.cmake" ] || { echo "repeat-tests: $d is not a built folder (run deploy/test-all.sh first)" >&2; exit 1; }
done
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
before=$(mktemp)
after=$(mktemp)
trap 'rm -f "$before" "$after"' EXIT
# Our own two lists are not litter.
snapshot() { find /tmp -mindepth 1 -maxdepth 1 ! -path "$before" ! -path "$after" -printf '%f\n' | sort; }
snapshot >"$before"
failed=0
for ((r = 1; r <= runs; r++)); do
  for d in "${dirs[@]}"; do
    start=$(date +%s)
    log="$d/Testing/repeat-run-$r.log"
    mkdir -p "$d/Testing"
    if (cd "$d" && ctest --output-on-failure -j"$jobs" --timeout 600) >"$log" 2>&1; then
      echo "run $r $d: passed ($(grep -o 'out of [0-9]*' "$log" | tail -1 || true) tests, $(($(date +%s) - start)) s)"
    else
      failed=1
      echo "run $r $d: FAILED ($(($(date +%s) - start)) s): $(sed -n '/The following tests FAILED/,$p' "$log" | grep -E '^\s+[0-9]+ - ' | tr -s ' \t' ' ' | paste -sd';')"
      echo "  its output: $log"
    fi
  done
done
snapshot >"$after"
gained=$(comm -13 "$before" "$after")
if [ -n "$gained" ]; then
  echo "repeat-tests: /tmp gained entries during the runs:"
  sed 's/^/  /' <<<"$gained"
fi
[ "$failed" = 0 ] || exit 1
[ -z "$gained" ] || exit 2
echo "repeat-tests: $runs green runs of ${dirs[*]}; /tmp as it was"
