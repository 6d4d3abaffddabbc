#!/usr/bin/env bash
# Mixer delay benchmark, one command: builds tests/bench/bench_delay.cpp and confab-mixer (CMake
# Release, build/bench-delay), measures the delay the mixer adds from a talker's marked burst to
# the first mixed packet that carries it at a listener, PCMU and Opus rooms side by side, at zero
# network jitter and at 30 ms, first with the mixer in the benchmark's process, then with
# confab-mixer as its own process (authenticated, over TLS, as tests/integration/lib.sh starts
# it), and writes the table into tests/bench/RESULTS.md, section "## Mixer delay" (the rest of the
# file is kept). About a minute and a half once built.
#   tests/bench/delay.sh [BURSTS]     (measured bursts per room, default 20; 8 rooms per codec)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bursts="${1:-20}"
build="$repo/build/bench-delay"
work="$(mktemp -d /tmp/confab-bench-delay.XXXXXX)"
mixer_pid=""
cleanup() {
  if [[ -n "$mixer_pid" ]]; then
    kill -TERM "$mixer_pid" 2>/dev/null || true
    wait "$mixer_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

die() {
  echo "delay.sh: $*" >&2
  exit 1
}

# --- 1. Build. -------------------------------------------------------------------------------------
{ cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release &&
  cmake --build "$build" --parallel "${JOBS:-2}" --target bench_delay confab-mixer; } \
  >"$work/cmake.log" 2>&1 || { tail -n 30 "$work/cmake.log" >&2; die "the build failed"; }
bench="$build/tests/bench_delay"
mixer_bin="$build/main/confab-mixer"
[[ -x "$mixer_bin" ]] || mixer_bin="$(find "$build" -name confab-mixer -type f -perm -u+x | head -n 1)"
[[ -x "$mixer_bin" ]] || die "no confab-mixer in $build"
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
started=$(date +%s)

# run ARGS...: one case (both codecs); appends its "result" lines to results.txt. This machine is
# a shared VM whose CPUs are now and then taken away for tens of milliseconds even from SCHED_FIFO
# threads: a run in which the talker's sender or the mixer's tick was held up more than 20 ms (or,
# at zero jitter, any packet of A's came too late for the mixer) has had jitter of the machine's
# making (worse than the 0-30 ms under test, and in the zero-jitter case no longer zero), so it is
# run again, up to 3 times in all; the last one counts either way, and the table says how many it
# took.
run() {
  local attempt
  for attempt in 1 2 3; do
    "$bench" --bursts "$bursts" "$@" | tee "$work/last.txt"
    grep -q '^result ' "$work/last.txt" || die "bench_delay $* printed no result"
    if python3 - "$work/last.txt" <<'PY'; then
import sys
rows = [dict(f.split("=", 1) for f in l.split()[1:]) for l in open(sys.argv[1]) if l.startswith("result ")]
stalled = any(float(r["sender_late_max_ms"]) > 20 or float(r["tick_late_p999_ms"]) > 20
              or (float(r["jitter_ms"]) == 0 and int(r["late"]) > 0)
              for r in rows)
sys.exit(1 if stalled else 0)
PY
      break
    fi
    echo "delay.sh: attempt $attempt was held up by the machine (> 20 ms); again" >&2
  done
  sed "s/\$/ attempts=$attempt/" <(grep '^result ' "$work/last.txt") >>"$work/results.txt"
}

# --- 2. The mixer in this process. -----------------------------------------------------------------
run --jitter-ms 0 --ports 26000-26999
run --jitter-ms 30 --ports 26000-26999 --seed 2

# --- 3. confab-mixer, its own process, driven through RemoteMixer. ---------------------------------
openssl rand -hex 32 >"$work/mixer.secret"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# SCHED_FIFO like the benchmark's own threads (and the in-process mixer, which inherits them), so
# both mixers are measured alike on a shared machine; plain when not permitted.
fifo=()
if chrt -f 1 true 2>/dev/null; then
  fifo=(chrt -f 1)
fi
"${fifo[@]}" "$mixer_bin" --listen "127.0.0.1:$port" --media-address 127.0.0.1 \
  --secret-file "$work/mixer.secret" --tls --rtp-address 127.0.0.1 --rtp-ports 27000-27999 \
  --mixer-threads 1 \
  >"$work/confab-mixer.log" 2>&1 &
mixer_pid=$!
deadline=$((SECONDS + 15))
until grep -q "control on 127.0.0.1:$port" "$work/confab-mixer.log"; do
  kill -0 "$mixer_pid" 2>/dev/null || { cat "$work/confab-mixer.log" >&2; die "confab-mixer exited"; }
  ((SECONDS < deadline)) || die "confab-mixer does not listen on 127.0.0.1:$port"
  sleep 0.1
done
remote=(--mixer "127.0.0.1:$port" --secret-file "$work/mixer.secret" --tls)
run --jitter-ms 0 "${remote[@]}"
run --jitter-ms 30 --seed 2 "${remote[@]}"
kill -TERM "$mixer_pid"
wait "$mixer_pid" || die "confab-mixer did not stop cleanly"
mixer_pid=""
elapsed=$(($(date +%s) - started))

# --- 4. The section for RESULTS.md. ------------------------------------------------------------------
commit="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git -C "$repo" status --porcelain -- mixer 2>/dev/null)" ]]; then
  commit="$commit + uncommitted changes in mixer/"
fi
python3 - "$work/results.txt" "$(date -u +%Y-%m-%d)" "$commit" \
  "$(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo))" \
  "$load_start" "$(cut -d' ' -f1-3 /proc/loadavg)" "$elapsed" >"$work/section.md" <<'PY'
import sys
results_path, date, commit, machine, load_start, load_end, elapsed = sys.argv[1:8]
rows = [dict(f.split("=", 1) for f in l.split()[1:]) for l in open(results_path)]
for r in rows:
    if int(r["failed"]) or int(r["send_failures"]):
        sys.exit(f"a run failed: {r}")

where = {"inprocess": "in-process", "remote": "`confab-mixer`"}
codec = {"pcmu": "PCMU", "opus": "Opus 32k"}
f = lambda v: f"{float(v):.1f}"

def verdict(r):
    if float(r["jitter_ms"]) != 0:
        return "(no goal)"
    ok = float(r["p50_ms"]) <= 40 and float(r["p99_ms"]) <= 60
    return "met" if ok else "**missed**"

out = ["## Mixer delay", ""]
out.append(
    f"Measured {date} by `tests/bench/delay.sh` at commit {commit}, {machine}, load average"
    f" {load_start} at the start and {load_end} at the end (the machine is shared with other jobs);"
    f" built by CMake Release (build/bench-delay); {elapsed} s in all.")
out.append("")
out.append(
    "Set-up (`bench_delay`): 8 rooms per codec in one mixer (one worker thread), each with a talker"
    " A and a listener B on their own UDP sockets on 127.0.0.1; plain RTP, rtcp-mux, the room's"
    " defaults. A sends a 20 ms frame every 20 ms on an absolute schedule: low noise (-60 dBov, a"
    " quiet microphone) and every 51 frames a marked burst, 10 frames at -10 dBov whose tone"
    " (500 + 250 k Hz in frame k) tells which of A's frames B hears first. B sends noise too, and"
    " decodes every packet the mixer sends it as it arrives; the first packet at -30 dBov or louder"
    " carries the burst. **Delay** = the kernel's receive timestamp (SO_TIMESTAMPNS) of that packet"
    " at B minus the send time of A's first burst frame (the moment the frame was complete). The"
    " rooms' send schedules are spread evenly over the 20 ms tick (each real call meets the mixer's"
    " tick at its own phase) and their bursts over the second; 51 frames apart, so a room's bursts"
    " start on ticks of both parities. **30 ms jitter**: each of A's packets leaves a uniform random"
    " 0-30 ms after its frame is complete, independently, so about one in 18 overtakes the one"
    " before it (\"reordered\" below); the delay still counts from the moment the frame was"
    " complete, so it holds what the jitter buffer adds to absorb the jitter. The first 5 bursts of"
    " each room are not counted (the jitter buffer starts at 40 ms and shrinks a tick per 2 s). The"
    " benchmark's threads and the in-process mixer run SCHED_FIFO priority 1, `confab-mixer` under"
    " `chrt -f 1`. `confab-mixer`: its own process, one mixer thread, driven through `RemoteMixer`"
    " over TLS with a shared secret as `tests/integration/lib.sh` starts it; the media take the"
    " same UDP path as in-process.")
out.append("")
out.append("Goal: <= 40 ms median and <= 60 ms p99 at zero jitter.")
out.append("")
out.append("| mixer | codec | network jitter | bursts | p50 (ms) | p99 (ms) | max (ms) | goal |")
out.append("|---|---|---:|---:|---:|---:|---:|---|")
for r in rows:
    missed = f" ({r['missed']} not heard)" if int(r["missed"]) else ""
    out.append(
        f"| {where[r['mixer']]} | {codec[r['codec']]} | {float(r['jitter_ms']):.0f} ms | {r['bursts']}{missed}"
        f" | {f(r['p50_ms'])} | {f(r['p99_ms'])} | {f(r['max_ms'])} | {verdict(r)} |")
out.append("")
out.append(
    "Where the delay goes, means over the bursts (they add up to the mean delay, read per burst"
    " from B's timestamps):")
out.append("")
out.append(
    "- **VAD attack**: the VAD starts a talker after two loud frames (`VadConfig::attackFrames` ="
    " 2), but while talker places are free the room mixes a voice from its first loud frame"
    " (`Vad::rising`; a click then takes a free place for one frame and never a held one), so a"
    " G.711 burst's frame 0 is mixed in the tick it is due. An Opus participant quieter than -50"
    " dBov is decoded on every other tick only (`RoomSettings::quietListenerDbov`; G.711 is decoded"
    " every tick, it costs next to nothing), so when an Opus burst's first frame falls on a skipped"
    " tick frame 1 is the first mixed: half the Opus bursts, 10 ms on average.")
out.append(
    "- **Tick alignment**: from the moment A's frame is complete (on loopback it reaches the mixer"
    " at once) to the mixer's next tick, 0-20 ms by the room's phase; spread evenly, about 10 on average.")
out.append(
    "- **Tick work**: how far into the tick B's packet of that room usually leaves (decode, mix,"
    " encode of the rooms served before it and its own).")
out.append(
    "- **Jitter buffer**: whole ticks the frame waited beyond that. The worker tells the room how"
    " long before the next tick each packet came; after 2 s in which every packet came 5 ms or more"
    " before its tick (`JitterBufferConfig::shrinkGuardMs`) with a tick to spare, the buffer gives"
    " that tick up, down to none (`minDelayMs` = 0 in the room): a packet is played in the first"
    " tick after it came. A room whose packets come within 5 ms of its tick keeps one tick (20 ms)."
    " With jitter it holds the network's delay too, as it must: it grows at once when a packet"
    " comes too late and shrinks a tick at a time under the same rule. The buffer starts at 40 ms"
    " (2 ticks), so it reaches zero after 4 s; the first 5 bursts are not counted. `MediaStats`"
    " does not carry the buffer's target, so this is read from the timing (an Opus burst whose"
    " first decoded frame is taken for the other parity reads as -20 here and +20 in the attack).")
out.append(
    "- **Extra**: how much later than usual B's packet left in the burst's own tick (the new"
    " talker's N-1 mix to encode; stalls of this shared machine).")
out.append(
    "- Not in the delay, since it times packets, but heard: **onset**, how far into B's first loud"
    " packet the tone begins. For Opus, the mixer's encoder look-ahead"
    f" ({f(rows[0]['opus_lookahead_ms'])} ms, OPUS_GET_LOOKAHEAD) puts the end of the frame before"
    " (still silent in the mix) at the start of each packet B decodes.")
out.append("")
out.append("| mixer | codec | jitter | mean (ms) | = attack | + alignment | + work | + buffer | + extra | buffer min-max, > 20 ms | first mixed frame: bursts | onset | A's packets late / reordered / concealed frames | sender late max | tick late p99.9 | runs |")
out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---|---:|---:|---:|")
for r in rows:
    frames = ", ".join(f"{k}: {n}" for k, n in (p.split(":") for p in r["first_frames"].split(",")))
    tick = f"{float(r['tick_late_p999_ms']):.1f}"
    out.append(
        f"| {where[r['mixer']]} | {codec[r['codec']]} | {float(r['jitter_ms']):.0f} ms | {f(r['mean_ms'])}"
        f" | {f(r['attack_mean_ms'])} | {f(r['align_mean_ms'])} | {f(r['work_mean_ms'])}"
        f" | {f(r['jb_mean_ms'])} | {f(r['extra_mean_ms'])}"
        f" | {float(r['jb_min_ms']):.0f}-{float(r['jb_max_ms']):.0f}, {r['jb_over_min']}"
        f" | {frames} | {f(r['onset_mean_ms'])}"
        f" | {r['late']} / {r['reordered']} / {r['concealed']} | {f(r['sender_late_max_ms'])}"
        f" | {tick} | {r['attempts']} |")
out.append("")
out.append(
    "\"sender late max\": the most any of A's packets left after its time (the benchmark's own"
    " thread); \"tick late p99.9\": the mixer's tick lateness, over the run in-process, and for"
    " `confab-mixer` the worst of the p99.9s it reports each second (50 ticks: about each second's"
    " worst tick); \"runs\": a run held up more than 20 ms by the machine (either of those), or at"
    " zero jitter one in which any of A's packets came too late for the mixer, is run again, up to"
    " 3 in all, and the last one is kept.")
out.append("")
zero = [r for r in rows if float(r["jitter_ms"]) == 0]
if zero:
    attack = sum(float(r["attack_mean_ms"]) for r in zero) / len(zero)
    work = sum(float(r["work_mean_ms"]) for r in zero) / len(zero)
    buffer = sum(float(r["jb_mean_ms"]) for r in zero) / len(zero)
    out.append(
        f"Against the goal, at zero jitter: a burst waits the tick alignment (0-20 ms, 10 on"
        f" average), the tick's work (~{work:.1f}), the jitter buffer ({buffer:.0f} on average: a"
        f" tick for rooms whose packets graze the tick, none for the others) and, for Opus only, a"
        f" tick of attack when its first loud frame fell on a skipped tick ({attack:.0f} on average"
        f" over both codecs). Before these changes (2026-12-05, commit 79b20ac) the same bench read"
        " 60 / 80 ms (p50 / p99) for both codecs: a two-frame attack always paid, a quiet G.711"
        " participant decoded every other tick, and a one-tick buffer floor.")
    out.append("")
print("\n".join(out))
PY

results="$here/RESULTS.md"
python3 "$here/replace_section.py" "$results" "## Mixer delay" "$work/section.md"
cat "$work/section.md"
echo "wrote $results"
