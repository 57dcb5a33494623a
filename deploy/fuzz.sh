#!/usr/bin/env bash
# fuzz.sh — build the libFuzzer targets (tests/fuzz/targets/fuzz_<name>.cpp) with clang and
# AddressSanitizer + UndefinedBehaviorSanitizer in build-fuzz/, and run each one for a bounded
# time on its seed corpus (tests/fuzz/corpus/<name>/). New inputs found go to
# build-fuzz/corpus/<name>/ (the seeds in the repository are never modified); a crash leaves
# its input as build-fuzz/crash-<name>-* and fails the script.
# Usage: deploy/fuzz.sh [seconds per target, default 20] [target name ...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
shift || true
jobs=$(nproc 2>/dev/null || echo 2)
CXX_FUZZ="${CXX_FUZZ:-clang++}"
command -v "$CXX_FUZZ" >/dev/null || { echo "fuzz.sh: $CXX_FUZZ not found (deploy/install-deps.sh installs clang)" >&2; exit 2; }

launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER="$CXX_FUZZ" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSITEMAIL_FUZZ=ON -DSITEMAIL_TESTS=OFF -DSITEMAIL_WERROR=OFF "${launcher[@]}" >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz_targets

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for src in tests/fuzz/targets/fuzz_*.cpp; do n=$(basename "$src" .cpp); names+=("${n#fuzz_}"); done
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=()
for n in "${names[@]}"; do
  bin="build-fuzz/tests/fuzz/fuzz_$n"
  seeds="tests/fuzz/corpus/$n"
  work="build-fuzz/corpus/$n"
  mkdir -p "$work"
  [ -d "$seeds" ] || { echo "fuzz.sh: no seed corpus $seeds for fuzz_$n" >&2; failed+=("$n"); continue; }
  echo "=== fuzz_$n: ${seconds}s, seeds $seeds"
  # -rss_limit_mb: a parser that grows without bound is a finding too (issue 9).
  # A fixed seed (SITEMAIL_FUZZ_SEED, default 1; 0 = random) keeps a CI run repeatable; a
  # longer or random-seed run by hand explores further.
  if ! "$bin" "$work" "$seeds" -seed="${SITEMAIL_FUZZ_SEED:-1}" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 \
       -print_final_stats=1 -artifact_prefix="build-fuzz/crash-$n-" 2>"build-fuzz/fuzz_$n.log"; then
    tail -40 "build-fuzz/fuzz_$n.log" >&2
    failed+=("$n")
  else
    grep -E "stat::number_of_executed_units|DONE" "build-fuzz/fuzz_$n.log" | tail -2
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: FAILED: ${failed[*]} (inputs in build-fuzz/crash-*)" >&2
  exit 1
fi
echo "=== fuzz: all ${#names[@]} targets ran ${seconds}s without a finding"
