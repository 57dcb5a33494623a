#!/usr/bin/env bash
# test-all.sh — set up everything and run every test, as CI does:
#   1. install the Debian packages (deploy/install-deps.sh, idempotent);
#   2. build with warnings as errors and run all tests (unit + integration with a private
#      PostgreSQL cluster and real SMTP/proxy peers started by the tests themselves);
#   3. build again with AddressSanitizer + UndefinedBehaviorSanitizer and run them again;
#   4. clang-tidy over every source with the normal build's compile commands (deploy/lint.sh,
#      checks in .clang-tidy, findings are errors);
#   5. build the libFuzzer targets with clang and run each for SITEMAIL_FUZZ_SECONDS (20).
# Usage: deploy/test-all.sh [--no-sanitizers]
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
deploy/install-deps.sh

variants=("build:RelWithDebInfo:OFF")
if [ "${1:-}" != "--no-sanitizers" ]; then variants+=("build-asan:Debug:ON"); fi

for v in "${variants[@]}"; do
  IFS=: read -r dir type sanitize <<<"$v"
  echo "=== $dir: CMAKE_BUILD_TYPE=$type SITEMAIL_SANITIZE=$sanitize"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" -DSITEMAIL_SANITIZE="$sanitize" -DSITEMAIL_WERROR=ON
  cmake --build "$dir" -j"$jobs"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  (cd "$dir" && ctest --output-on-failure -j"$jobs" --timeout 600)
done
echo "=== lint: clang-tidy"
deploy/lint.sh build
deploy/fuzz.sh "${SITEMAIL_FUZZ_SECONDS:-20}"
echo "=== all tests passed"
