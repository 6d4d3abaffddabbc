#!/usr/bin/env bash
# Generates the voice prompts the conference plays to callers, with espeak-ng, from the texts in
# sounds/prompts.LANG.txt (`NAME<TAB>Text` lines), and the entry and exit tones, with python3.
#
#   bash scripts/make-prompts.sh [--force] DEST-DIR [LANG...]      (default LANG: en)
#
# For each LANG it writes DEST-DIR/LANG/NAME.wav for every NAME in sounds/prompts.LANG.txt, plus
# DEST-DIR/LANG/entry-tone.wav and exit-tone.wav: WAV, PCM 16-bit mono; the prompts at espeak-ng's
# 22050 Hz (no resampling, to need nothing besides espeak-ng), the tones at 16000 Hz.
# A file that already exists is left alone, so an operator can replace any prompt with a
# recording; --force regenerates every file. Each file is written under a temporary name and
# renamed into place, so an interrupted run leaves no truncated WAV that a later run would keep.
# Lines of prompts.LANG.txt starting with # are comments; `# voice: V` picks espeak-ng's voice V
# (default: LANG).
set -euo pipefail

usage() {
  echo "usage: $0 [--force] DEST-DIR [LANG...]" >&2
  exit 2
}

force=0
args=()
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h | --help)
      sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    -*) echo "make-prompts: unknown option '$arg'" >&2 && usage ;;
    *) args+=("$arg") ;;
  esac
done
((${#args[@]} >= 1)) || usage
dest="${args[0]}"
langs=("${args[@]:1}")
((${#langs[@]})) || langs=(en)

sounds_src="$(cd "$(dirname "${BASH_SOURCE[0]}")/../sounds" && pwd)"
command -v espeak-ng >/dev/null ||
  { echo "make-prompts: espeak-ng not found (apt-get install espeak-ng)" >&2 && exit 1; }
command -v python3 >/dev/null ||
  { echo "make-prompts: python3 not found (apt-get install python3)" >&2 && exit 1; }

# Temporary files of this run, removed on any exit.
tmp_files=()
cleanup() { ((${#tmp_files[@]} == 0)) || rm -f "${tmp_files[@]}"; }
trap cleanup EXIT

# The two tones, 16000 Hz 16-bit mono, about 300 ms each: two notes of 150 ms (C5 then G5 rising
# for entry, G5 then C5 falling for exit) at -12 dBFS peak, each note faded in and out over 10 ms
# so that it does not click. Standard library only, no f-strings: any python3 runs it.
write_tones() { # ENTRY-PATH EXIT-PATH (either may be empty: skip it)
  python3 - "$1" "$2" <<'PYTHON'
import math
import struct
import sys
import wave

RATE = 16000
NOTE_MS = 150
FADE_MS = 10
PEAK = 32767 * 10 ** (-12 / 20.0)


def note(freq):
    n = RATE * NOTE_MS // 1000
    fade = RATE * FADE_MS // 1000
    out = []
    for i in range(n):
        gain = 1.0
        if i < fade:
            gain = 0.5 - 0.5 * math.cos(math.pi * i / fade)
        elif i >= n - fade:
            gain = 0.5 - 0.5 * math.cos(math.pi * (n - 1 - i) / fade)
        out.append(int(round(PEAK * gain * math.sin(2 * math.pi * freq * i / RATE))))
    return out


def write(path, freqs):
    samples = []
    for f in freqs:
        samples.extend(note(f))
    w = wave.open(path, "wb")
    try:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(struct.pack("<%dh" % len(samples), *samples))
    finally:
        w.close()


C5, G5 = 523.25, 783.99
if sys.argv[1]:
    write(sys.argv[1], [C5, G5])
if sys.argv[2]:
    write(sys.argv[2], [G5, C5])
PYTHON
}

for lang in "${langs[@]}"; do
  [[ "$lang" =~ ^[A-Za-z0-9_-]+$ ]] || { echo "make-prompts: bad language '$lang'" >&2 && exit 2; }
  texts="$sounds_src/prompts.$lang.txt"
  [[ -f "$texts" ]] || { echo "make-prompts: no prompt texts for '$lang': $texts" >&2 && exit 1; }
  out="$dest/$lang"
  voice="$lang"
  names=()
  prompt_texts=()
  line_no=0
  while IFS= read -r line || [[ -n "$line" ]]; do
    line_no=$((line_no + 1))
    line="${line%$'\r'}"
    if [[ "$line" =~ ^#[[:space:]]*voice:[[:space:]]*([^[:space:]]+) ]]; then
      voice="${BASH_REMATCH[1]}"
      continue
    fi
    [[ -z "${line//[[:space:]]/}" || "$line" == \#* ]] && continue
    name="${line%%$'\t'*}"
    text="${line#*$'\t'}"
    if [[ "$line" != *$'\t'* || ! "$name" =~ ^[a-z0-9][a-z0-9-]*$ || -z "${text//[[:space:]]/}" ]]; then
      echo "make-prompts: $texts:$line_no: expected NAME<TAB>Text (NAME of a-z, 0-9, -)" >&2
      exit 1
    fi
    for seen in "${names[@]}"; do
      [[ "$seen" != "$name" ]] || { echo "make-prompts: $texts:$line_no: '$name' twice" >&2 && exit 1; }
    done
    names+=("$name")
    prompt_texts+=("$text")
  done <"$texts"

  mkdir -p "$out"
  written=0
  kept=0
  for i in "${!names[@]}"; do
    target="$out/${names[$i]}.wav"
    if [[ -e "$target" ]] && ((!force)); then
      kept=$((kept + 1))
      continue
    fi
    tmp="$(mktemp "$out/.${names[$i]}.wav.XXXXXX")"
    tmp_files+=("$tmp")
    # The text on stdin, so that one starting with '-' is not taken for an option.
    if ! printf '%s\n' "${prompt_texts[$i]}" | espeak-ng -v "$voice" -s 155 -w "$tmp" ||
      [[ ! -s "$tmp" ]]; then
      echo "make-prompts: espeak-ng failed on '${names[$i]}' (voice '$voice')" >&2
      exit 1
    fi
    chmod 644 "$tmp"
    mv -f "$tmp" "$target"
    written=$((written + 1))
  done

  tone_paths=()
  for tone in entry-tone exit-tone; do
    target="$out/$tone.wav"
    if [[ -e "$target" ]] && ((!force)); then
      kept=$((kept + 1))
      tone_paths+=("")
    else
      tmp="$(mktemp "$out/.$tone.wav.XXXXXX")"
      tmp_files+=("$tmp")
      tone_paths+=("$tmp")
    fi
  done
  if [[ -n "${tone_paths[0]}${tone_paths[1]}" ]]; then
    write_tones "${tone_paths[0]}" "${tone_paths[1]}"
    for j in 0 1; do
      [[ -n "${tone_paths[$j]}" ]] || continue
      tone=$([[ $j == 0 ]] && echo entry-tone || echo exit-tone)
      chmod 644 "${tone_paths[$j]}"
      mv -f "${tone_paths[$j]}" "$out/$tone.wav"
      written=$((written + 1))
    done
  fi
  echo "make-prompts: $out: wrote $written, kept $kept existing (voice $voice)"
done
