#!/usr/bin/env bash
# Installs everything, builds each configuration once and runs every test:
#   build/test:     optimised gcc build (Release, as scripts/run.sh builds), unit + integration +
#                   corpus replay;
#   build/sanitize: clang with AddressSanitizer + UndefinedBehaviorSanitizer, the same tests
#                   plus the libFuzzer targets for a bounded time (CONFAB_FUZZ_SECONDS);
#   build/tsan:     clang with ThreadSanitizer, only the tests where threads meet (mixer engine,
#                   focus <-> mixer hand-offs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc)
fuzz_seconds=${CONFAB_FUZZ_SECONDS:-30}

cmake -S . -B build/test -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build/test -j "$jobs"

cmake -S . -B build/sanitize -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCONFAB_SANITIZE=ON -DCONFAB_FUZZ=ON -DCONFAB_FUZZ_SECONDS="$fuzz_seconds"
cmake --build build/sanitize -j "$jobs"

cmake -S . -B build/tsan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_FLAGS=-fsanitize=thread -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread
cmake --build build/tsan -j "$jobs" --target unit_mixer unit_focus

status=0
TSAN_OPTIONS=halt_on_error=1 build/tsan/tests/unit_mixer --gtest_filter='MixerEngine*:MixerEndpoint*:MixerRemote*' || status=1
TSAN_OPTIONS=halt_on_error=1 build/tsan/tests/unit_focus --gtest_filter='Uas*' || status=1
(cd build/test && ctest --output-on-failure -j "$jobs") || status=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build/sanitize && ctest --output-on-failure -j "$jobs") || status=1
exit "$status"
