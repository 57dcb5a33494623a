#!/usr/bin/env bash
# bench.sh — run the benchmarks and print their figures next to a reference measured in
# the same run. Figures are reported, never asserted.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target bench_resolve >/dev/null
work=$(mktemp -d /tmp/sitemail-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "== resolve 10,000 sites, each with its own site file, cold start (fresh process)"
build/tests/bench/bench_resolve generate "$work/config" 10000 >/dev/null
build/tests/bench/bench_resolve resolve "$work/config" 10000
build/tests/bench/bench_resolve readonly "$work/config"
