#!/usr/bin/env bash
# Builds an optimised confab for the SIP benchmarks (build type from CONFAB_BENCH_BUILD_TYPE,
# RelWithDebInfo by default, the tests' build) in build/bench, with confab-mixer beside it in
# build/bench/main, and prints confab's path; on failure
# shows the end of the build log and exits 1.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
build_log="$(mktemp)"
if ! { cmake -S "$repo" -B "$repo/build/bench" -G Ninja \
  -DCMAKE_BUILD_TYPE="${CONFAB_BENCH_BUILD_TYPE:-RelWithDebInfo}" -DCONFAB_TESTS=OFF &&
  cmake --build "$repo/build/bench" --target confab confab-mixer; } >"$build_log" 2>&1; then
  tail -n 30 "$build_log" >&2
  echo "$(basename "$0"): building confab failed (log: $build_log)" >&2
  exit 1
fi
rm -f "$build_log"
echo "$repo/build/bench/main/confab"
