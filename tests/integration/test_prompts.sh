#!/usr/bin/env bash
# scripts/make-prompts.sh: every prompt named in sounds/prompts.en.txt, and the entry and exit
# tones, come out as 16-bit WAV of a plausible length; a second run keeps a file an operator
# replaced; --force regenerates it. Needs no confab: the arguments (confab and confab-mixer
# binaries) are accepted and ignored.
source "$(dirname "$0")/lib.sh"
require_tool espeak-ng
require_tool python3

REPO="$(cd "$INTEG_DIR/../.." && pwd)"
MAKE_PROMPTS="$REPO/scripts/make-prompts.sh"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/confab-$TEST_NAME.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

names=()
while IFS=$'\t' read -r name _ || [[ -n "$name" ]]; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  names+=("$name")
done <"$REPO/sounds/prompts.en.txt"
((${#names[@]} >= 39)) || fail "only ${#names[@]} prompts in sounds/prompts.en.txt"
names+=(entry-tone exit-tone)

# check_wavs DIR NAME...: each DIR/NAME.wav is a 16-bit mono or stereo WAV of 0.2 to 8 s.
check_wavs() {
  python3 - "$@" <<'EOF' || fail "make-prompts.sh wrote missing or invalid files (above)"
import os, sys, wave
folder, bad = sys.argv[1], 0
for name in sys.argv[2:]:
    path = os.path.join(folder, name + ".wav")
    try:
        w = wave.open(path, "rb")
        channels, width, rate, frames = (w.getnchannels(), w.getsampwidth(), w.getframerate(),
                                         w.getnframes())
        w.close()
    except Exception as e:
        print("%s: %s" % (path, e), file=sys.stderr)
        bad += 1
        continue
    seconds = frames / float(rate) if rate else 0
    if channels not in (1, 2) or width != 2 or not 0.2 <= seconds <= 8:
        print("%s: %d channels, %d bytes a sample, %d Hz, %.2f s" % (path, channels, width, rate,
                                                                     seconds), file=sys.stderr)
        bad += 1
sys.exit(1 if bad else 0)
EOF
}

out="$WORK/sounds"
bash "$MAKE_PROMPTS" "$out" >"$WORK/run1.log" 2>&1 || { cat "$WORK/run1.log" >&2; fail "first run"; }
check_wavs "$out/en" "${names[@]}"
log "first run: ${#names[@]} valid WAV files in $out/en"

# An operator's replacement (here junk bytes) survives a second run.
cp "$out/en/enter-pin.wav" "$WORK/enter-pin.generated"
cp "$out/en/entry-tone.wav" "$WORK/entry-tone.generated"
printf 'operator recording, not a WAV\n' >"$out/en/enter-pin.wav"
printf 'operator tone\n' >"$out/en/entry-tone.wav"
cp "$out/en/enter-pin.wav" "$WORK/enter-pin.operator"
bash "$MAKE_PROMPTS" "$out" en >"$WORK/run2.log" 2>&1 || { cat "$WORK/run2.log" >&2; fail "second run"; }
cmp -s "$out/en/enter-pin.wav" "$WORK/enter-pin.operator" ||
  fail "a second run overwrote the operator's enter-pin.wav"
assert_eq 'operator tone' "$(cat "$out/en/entry-tone.wav")" "entry-tone.wav after a second run"
log "second run kept the operator's files"

# --force regenerates them, identical to the first run's.
bash "$MAKE_PROMPTS" --force "$out" >"$WORK/run3.log" 2>&1 ||
  { cat "$WORK/run3.log" >&2; fail "run with --force"; }
cmp -s "$out/en/enter-pin.wav" "$WORK/enter-pin.generated" || fail "--force did not regenerate enter-pin.wav"
cmp -s "$out/en/entry-tone.wav" "$WORK/entry-tone.generated" ||
  fail "--force did not regenerate entry-tone.wav"
check_wavs "$out/en" "${names[@]}"
leftovers="$(find "$out" -name '.*' -type f)"
[[ -z "$leftovers" ]] || fail "temporary files left behind: $leftovers"
log "--force regenerated them"
log "PASS"
