#!/usr/bin/env bash
# Opus encode modes for the mixer's sends, one command: speaks three talkers with espeak-ng into a
# temporary folder, builds tests/bench/bench_opus_modes.cpp in Release, measures each mode's
# encode cost and quality on a talker's N-1 mix and on the shared mix, and writes its tables into
# tests/bench/RESULTS.md, section "## Opus encode modes" (the rest of the file is kept).
#   tests/bench/opus_modes.sh [PASSES]      (default 5: the cost is the median of the passes)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
passes="${1:-5}"
build="$repo/build/bench-opus"
work="$(mktemp -d /tmp/confab-bench-opus.XXXXXX)"
trap 'rm -rf "$work"' EXIT

die() {
  echo "opus_modes.sh: $*" >&2
  exit 1
}
command -v espeak-ng >/dev/null || die "espeak-ng is needed (apt-get install espeak-ng)"

# Three voices and texts, a meeting's turn-taking; the benchmark overlaps them in time. Each text
# is one argument: espeak-ng speaks only the first.
text1="The quarterly numbers came in this morning, and I think we should go through them one"
text1+=" region at a time. Sales in the north were better than expected, but the south is still"
text1+=" behind plan."
text2="Sorry to interrupt, but before we start on the regions, can somebody share the slides? I"
text2+=" can't see anything on my screen at the moment. Thank you, that's much better."
text3="Guten Morgen zusammen. Ich habe die Zahlen auch gesehen, und ich glaube, wir müssen über"
text3+=" die Kosten im Süden sprechen, bevor wir weitermachen."
espeak-ng -v en-us -s 150 -w "$work/talker1.wav" "$text1"
espeak-ng -v en-gb+f3 -s 160 -w "$work/talker2.wav" "$text2"
espeak-ng -v de -s 145 -w "$work/talker3.wav" "$text3"

{ cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release &&
  cmake --build "$build" --target bench_opus_modes; } >"$work/cmake.log" 2>&1 ||
  { tail -n 15 "$work/cmake.log" >&2; die "building bench_opus_modes failed"; }

load="$(cut -d' ' -f1-3 /proc/loadavg)"
start=$SECONDS
"$build/tests/bench_opus_modes" "$work/talker1.wav" "$work/talker2.wav" "$work/talker3.wav" \
  "$passes" >"$work/tables.md" || die "bench_opus_modes failed"
cat "$work/tables.md"

section="$work/section.md"
{
  echo "## Opus encode modes"
  echo
  echo "Measured $(date -u +%Y-%m-%d) by \`tests/bench/opus_modes.sh\` at commit" \
    "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)," \
    "$(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), one thread," \
    "load average at the start $load (the machine is shared with other jobs); libopus" \
    "$(pkg-config --modversion opus); $((SECONDS - start)) s in all."
  echo
  echo "Input: three espeak-ng talkers (en-us, en-gb+f3, de; 22.05 kHz, so nothing above 11 kHz)," \
    "resampled to 48 kHz by \`dsp::Resampler\` (SpeexDSP, quality 10), starting at 0, 8 and 15.5 s" \
    "so that each overlaps the next by about 3 s, summed at unit gain through the mixer's" \
    "\`dsp::SoftLimiter\`: the shared mix (all three) and the first talker's N-1 mix (the other" \
    "two), 25 s each. Every mode: 48 kHz mono, 32 kbit/s, 20 ms frames, signal VOICE, no DTX;" \
    "FEC means in-band FEC with a 10 % loss hint (our default); \"WB\" caps the bandwidth with" \
    "OPUS_SET_MAX_BANDWIDTH; \"CELT-only\" is OPUS_APPLICATION_RESTRICTED_LOWDELAY (no SILK, so" \
    "no in-band FEC)."
  echo
  echo "Cost: thread CPU time (CLOCK_THREAD_CPUTIME_ID) of encoding the whole mix with a fresh" \
    "encoder, per frame, median of $passes passes. Quality, without listeners: the packets decoded" \
    "by a plain 48 kHz libopus decoder, shifted by the codec delay (the lag within 1 ms of" \
    "OPUS_GET_LOOKAHEAD that leaves the least error) and compared with the unencoded mix over" \
    "20 ms segments, segments of the mix quieter than -50 dBov skipped. segSNR: mean of the" \
    "segments' SNR, each clamped to [-10, 35] dB. LSD: log-spectral distance, the RMS over" \
    "the band's bins of the dB difference of the two power spectra (Hann window, 1024-point" \
    "FFT, 46.9 Hz bins, both spectra floored 60 dB below the reference segment's strongest bin)," \
    "averaged over segments; 0-8 kHz and 0-11 kHz (all the band the input has). The two" \
    "\"10 % loss\" columns decode the same packets with one packet in ten lost (a fixed pattern):" \
    "recovered from the next packet's in-band FEC where the mode has it, else concealed by the" \
    "decoder. \"Coded as\": the packets' TOC (RFC 6716 §3.1), shares of at least 5 %. The current" \
    "defaults (\`RoomSettings\`: talker complexity 1, listener 5, VOIP, fullband, FEC on) are in bold."
  echo
  cat "$work/tables.md"
} >"$section"

python3 "$here/replace_section.py" "$here/RESULTS.md" "## Opus encode modes" "$section"
echo "wrote $here/RESULTS.md"
