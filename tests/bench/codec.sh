#!/usr/bin/env bash
# Codec and DSP benchmark, one command: builds tests/bench/bench_codec.cpp in Release, runs it and
# writes its table into tests/bench/RESULTS.md, section "## Codecs and DSP" (the rest of the file
# is kept; the file is created if missing).
#   tests/bench/codec.sh [SECONDS-PER-ROW]      (default 0.5)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
seconds="${1:-0.5}"
build="$repo/build/bench-codec"
work="$(mktemp -d /tmp/confab-bench-codec.XXXXXX)"
trap 'rm -rf "$work"' EXIT

die() {
  echo "codec.sh: $*" >&2
  exit 1
}

# If an unrelated target of the tree does not compile right now, the codec and DSP sources are
# compiled directly with CMake's Release flags instead; the section says which.
bench="$build/tests/bench_codec"
built_by="CMake Release target \`bench_codec\` (build/bench-codec)"
if ! { cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release &&
  cmake --build "$build" --target bench_codec; } >"$work/cmake.log" 2>&1; then
  tail -n 15 "$work/cmake.log" >&2
  echo "codec.sh: the CMake build failed (above); compiling bench_codec directly instead" >&2
  bench="$work/bench_codec"
  # shellcheck disable=SC2046 # pkg-config output is meant to split into words
  "${CXX:-c++}" -std=c++20 -O3 -DNDEBUG -Wall -Wextra -Wpedantic -Wshadow -Wconversion \
    -Wsign-conversion -Werror "-I$repo" "$repo"/mixer/codec/*.cpp "$repo"/mixer/dsp/*.cpp \
    "$here/bench_codec.cpp" $(pkg-config --cflags --libs opus speexdsp) -o "$bench" ||
    die "compiling bench_codec failed"
  built_by="\`${CXX:-c++} -O3 -DNDEBUG\` directly (the CMake build of the tree failed)"
fi

"$bench" "$seconds" >"$work/table.md" || die "bench_codec failed"
cat "$work/table.md"

section="$work/section.md"
{
  echo "## Codecs and DSP"
  echo
  echo "Measured $(date -u +%Y-%m-%d) by \`tests/bench/codec.sh\` at commit" \
    "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)," \
    "$(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), one thread," \
    "built by $built_by; libopus $(pkg-config --modversion opus), SpeexDSP" \
    "$(pkg-config --modversion speexdsp)."
  echo "Each row runs its stage on 20 ms frames of a voice-like signal (140 Hz harmonics, wobble," \
    "noise) for ${seconds} s and reports the mean time per frame. \"Streams per core\" is 20 ms" \
    "divided by that: how many participants' worth of this one stage a core could run per tick" \
    "with nothing else to do."
  echo
  cat "$work/table.md"
} >"$section"

python3 "$here/replace_section.py" "$here/RESULTS.md" "## Codecs and DSP" "$section"
echo "wrote $here/RESULTS.md"
