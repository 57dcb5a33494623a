#!/usr/bin/env bash
# lint.sh — clang-tidy over every C++ source of the project (checks in .clang-tidy), with
# the compile commands of a build (CMAKE_EXPORT_COMPILE_COMMANDS is on in CMakeLists.txt);
# any finding is an error (WarningsAsErrors in .clang-tidy). deploy/test-all.sh runs it.
# Usage: deploy/lint.sh [BUILD_DIR] [FILE...]   (BUILD_DIR default build; FILE default all)
# Parallel: SITEMAIL_LINT_JOBS (default 2); SITEMAIL_LINT_ALL=1 adds the test harnesses.
# Exit 0 clean, 1 findings, 2 setup problem.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
tidy=$(command -v clang-tidy-14 || command -v clang-tidy || true)
[ -n "$tidy" ] || { echo "lint: clang-tidy not installed (deploy/install-deps.sh)" >&2; exit 2; }
db="$build/compile_commands.json"
[ -f "$db" ] || { echo "lint: no $db: configure the build first (cmake -S . -B $build)" >&2; exit 2; }
# Sources generated into the build (migrations.inc) must exist for the files that include them.
[ -f "$build/server/generated/migrations.inc" ] || cmake --build "$build" --target sitemail_server >/dev/null

if [ $# -gt 0 ]; then
  files=("$@")
else
  # Every translation unit of the project that the build compiles: the programs and
  # libraries (config/, tenants/, server/, docs/), the unit tests and the deterministic
  # fuzz tests. The integration, package and benchmark harnesses (tests/integration,
  # tests/package, tests/bench: 20 files of Boost.Test + Asio, as long to analyse as all
  # the rest) are left out to keep this step under 5 minutes on 2 cores; SITEMAIL_LINT_ALL=1
  # includes them. The libFuzzer targets (a separate clang build, deploy/fuzz.sh) are not
  # in this build's database.
  mapfile -t files < <(python3 - "$db" "$PWD" "${SITEMAIL_LINT_ALL:-0}" <<'PY'
import json, os, sys
db, root, everything = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3] == "1"
harness = ("tests/integration/", "tests/package/", "tests/bench/")
seen = set()
for e in db:
    rel = os.path.relpath(os.path.normpath(os.path.join(e["directory"], e["file"])), root)
    if rel.startswith("..") or rel.split("/")[0].startswith("build") or rel in seen:
        continue  # outside the tree, or generated into a build dir
    if rel.startswith(harness) and not everything:
        continue
    seen.add(rel)
    print(rel)
PY
)
fi
echo "lint: clang-tidy ($("$tidy" --version | grep -o 'version [0-9.]*')) on ${#files[@]} files, ${SITEMAIL_LINT_JOBS:-2} at a time"
log=$(mktemp -d "${TMPDIR:-/tmp}/sitemail_lint.XXXXXX")
trap 'rm -rf "$log"' EXIT
# Boost 1.74's Asio detects C++20 coroutines only for GCC (clang 14 defines
# __cpp_impl_coroutine, not the __cpp_coroutines it looks for), so under clang-tidy
# asio::awaitable would be undefined; the code is built with GCC, where the macro is set.
extra=(--extra-arg=-DBOOST_ASIO_HAS_CO_AWAIT=1)
status=0
printf '%s\n' "${files[@]}" | xargs -P "${SITEMAIL_LINT_JOBS:-2}" -I{} sh -c \
  'out=$("$0" -p "$1" --quiet "$4" "$2" 2>&1) || { printf "%s\n" "$out" > "$3/$(echo "$2" | tr / _).log"; echo "lint: findings in $2"; exit 1; }' \
  "$tidy" "$build" {} "$log" "${extra[@]}" || status=1
if [ "$status" != 0 ]; then
  cat "$log"/*.log | grep -v '^[0-9]* warnings\? generated\.$' || true
  echo "lint: FAILED (fix the code, or disable a check in .clang-tidy with the reason)" >&2
  exit 1
fi
echo "lint: clean"
