#!/usr/bin/env bash
# Installs everything, builds each configuration once and runs every test:
#   build/test:     gcc at -O2 -DNDEBUG (RelWithDebInfo's optimisation, what Debian packaging and
#                   IDEs build, without -g: warnings do not depend on it), unit + integration +
#                   corpus replay;
#   build/sanitize: clang with AddressSanitizer + UndefinedBehaviorSanitizer, the same tests plus
#                   the libFuzzer targets for a bounded time (CONFAB_FUZZ_SECONDS);
#   build/tsan:     clang with ThreadSanitizer, only the tests where threads meet (mixer engine,
#                   focus <-> mixer hand-offs).
# All three with warnings as errors (CONFAB_WERROR). The -O3 Release build scripts/run.sh makes is
# built by tests/fresh/fresh_machine.sh, which fails on any compiler warning in it (a warning -O3
# raises and -O2 does not) without making it an error for a user. cpack makes the Debian package
# of build/test (deploy/), and the fresh-machine run installs it in a second fresh root. Then
# scripts/check-deps.py
# checks that every header, library, command and module the builds used comes from a package
# scripts/install-deps.sh installs, and tests/fresh/fresh_machine.sh runs scripts/run.sh in a
# minimal Debian 12 root when its inputs changed since the last passing run (tests/fresh/inputs.sh,
# tests/fresh/VERIFIED; CONFAB_FRESH=1 always, CONFAB_FRESH=0 never, with the package test too:
# they download about 150 MB from the Debian mirror and bind the default ports 5060, 5061 and
# 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
bash scripts/install-deps.sh --test
jobs=$(nproc)
fuzz_seconds=${CONFAB_FUZZ_SECONDS:-5}
timings=()
mark() {
  timings+=("$(printf '%-28s %5d s' "$1" $((SECONDS - started)))")
  started=$SECONDS
}
mark "install"

# A compiler cache kept between runs on this machine (~/.cache/ccache): a run that changed a few
# files recompiles those, in whatever clone it runs. Paths are taken relative to the clone, so a
# fresh clone elsewhere hits the entries another clone made.
launcher=()
if command -v ccache >/dev/null; then
  export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-8G}"
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  ccache --zero-stats >/dev/null
fi

# One gcc build for the optimised tests and for the packager's -O2 warnings, without -g (warnings
# do not depend on debug information, and it costs CI a minute).
cmake -S . -B build/test -G Ninja "${launcher[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCONFAB_WERROR=ON \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -DNDEBUG" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -DNDEBUG"
cmake --build build/test -j "$jobs"
mark "build/test"

cmake -S . -B build/sanitize -G Ninja "${launcher[@]}" -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCONFAB_WERROR=ON \
  -DCONFAB_SANITIZE=ON -DCONFAB_FUZZ=ON -DCONFAB_FUZZ_SECONDS="$fuzz_seconds"
cmake --build build/sanitize -j "$jobs"
mark "build/sanitize"

cmake -S . -B build/tsan -G Ninja "${launcher[@]}" -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCONFAB_WERROR=ON \
  -DCMAKE_CXX_FLAGS=-fsanitize=thread -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread
cmake --build build/tsan -j "$jobs" --target unit_mixer unit_focus
mark "build/tsan"

status=0
python3 scripts/check-deps.py build/test build/sanitize build/tsan || status=1
mark "check-deps"
TSAN_OPTIONS=halt_on_error=1 build/tsan/tests/unit_mixer --gtest_filter='MixerEngine*:MixerEndpoint*:MixerRemote*' || status=1
TSAN_OPTIONS=halt_on_error=1 build/tsan/tests/unit_focus --gtest_filter='Uas*:PinChecker*' || status=1
mark "tsan tests"
(cd build/test && ctest --output-on-failure -j "$jobs" | tee ctest.log) || status=1
mark "ctest build/test"
(
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  cd build/sanitize && ctest --output-on-failure -j "$jobs" | tee ctest.log
) || status=1
mark "ctest build/sanitize"
# The Debian package (deploy/CMakeLists.txt) of the tested -O2 build.
rm -f build/test/confab_*.deb
(cd build/test && cpack -G DEB >cpack.log 2>&1) || { tail -n 30 build/test/cpack.log; status=1; }
mark "cpack"
if [[ "${CONFAB_FRESH:-auto}" != 0 ]]; then
  # scripts/run.sh in a fresh root (about 8 minutes) when what decides it changed since the last
  # passing run (tests/fresh/inputs.sh against tests/fresh/VERIFIED), or with CONFAB_FRESH=1.
  inputs="$(bash tests/fresh/inputs.sh)"
  verified="$(sed -n 's/^inputs //p' tests/fresh/VERIFIED 2>/dev/null || true)"
  if [[ "${CONFAB_FRESH:-auto}" == 1 || "$inputs" != "$verified" ]]; then
    bash tests/fresh/fresh_machine.sh || status=1
  else
    echo "test.sh: the fresh-machine run of scripts/run.sh is skipped: its inputs are as in" \
      "tests/fresh/VERIFIED ($(sed -n 's/^verified //p' tests/fresh/VERIFIED)); CONFAB_FRESH=1 runs it"
  fi
  mark "fresh machine"
  # The package of this build, installed in a fresh root: always (under a minute).
  for deb in build/test/confab_*.deb; do
    bash tests/fresh/fresh_machine.sh --package="$deb" || status=1
  done
  mark "fresh package"
fi
if ((${#launcher[@]})); then
  echo "test.sh: compiler cache: $(ccache --print-stats 2>/dev/null |
    awk -F'\t' '$1 ~ /^(direct_cache_hit|preprocessed_cache_hit|cache_miss)$/ { printf "%s %s ", $1, $2 }')"
fi
echo "test.sh: times"
printf '  %s\n' "${timings[@]}"
# One closing line for both ctest runs: "N% tests passed, F tests failed out of T" each.
awk '/tests passed, [0-9]+ tests? failed out of/ { failed += $4; total += $NF }
     END { printf "tests: %d passed, %d failed\n", total - failed, failed }' \
  build/test/ctest.log build/sanitize/ctest.log || true
# ...and which tests failed, since the last lines of a run are often all that is kept of it.
for log in build/test/ctest.log build/sanitize/ctest.log; do
  [[ -f $log ]] || continue
  sed -n 's#^[[:space:]]*[0-9]* - \(.*\) (\(Failed\|Timeout\|.*Exception\|Not Run\))$#  failed in '"${log%/ctest.log}"': \1 (\2)#p' "$log"
done
exit "$status"
