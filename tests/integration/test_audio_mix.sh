#!/usr/bin/env bash
# Real audio through the mixer: three phones (audio_phone.py, SIP over UDP, PCMU) call room 1000 at
# once and talk over the same 4 s: A a 1000 Hz tone, B 1500 Hz, C silence. From what each one heard
# in the last 2 s of its call:
#   C hears both tones, each clearly (within 10 dB of what C heard in all, above -40 dBov);
#   A hears 1500 Hz and not itself (1000 Hz at least 30 dB under 1500 Hz); B the other way round;
#   every phone got at least 80% of the 50 packets/s it should during the call.
# A also presses '7' once (RFC 4733): confab logs "pressed 7" exactly once, for A's call only.
# A stranger sends a 2000 Hz tone to A's mixer port from another port once A has latched: nobody
# hears 2000 Hz (30 dB under the tones they hear) and the stranger gets nothing back.
source "$(dirname "$0")/lib.sh"
integ_init "$@"

PHONE="$INTEG_DIR/audio_phone.py"
MEDIA_S=4           # seconds each phone talks
ANALYZE_S=2         # the last seconds judged
STRANGER_AFTER_S=1  # the stranger starts this long after the phones (A has latched by then)
LEAD_S=3            # from now to the shared start: time for the three calls to be set up

python3 "$PHONE" --self-test >/dev/null || fail "audio_phone.py's G.711/Goertzel self-test failed"

# A free RTP range for this confab (start_confab passes it on), under the kernel's ephemeral ports
# (which the phones use) and away from lib.sh's default range (other tests' confab).
CONFAB_RTP_PORTS="$(free_rtp_range 40)"
export CONFAB_RTP_PORTS
start_confab --log-level debug

start_at="$(python3 -c "import time; print(f'{time.time() + $LEAD_S:.3f}')")"
stranger_at="$(python3 -c "print(f'{$start_at + $STRANGER_AFTER_S:.3f}')")"
budget=$((LEAD_S + MEDIA_S + 40))

PHONE_DETECT=1000,1500,2000  # what start_phone (lib.sh) measures

start_phone A --freq 1000 --dtmf 7 --dtmf-at 1.0 --info-file "$WORK/A.info"
start_phone B --freq 1500
start_phone C --freq 0
log "phones A (1000 Hz, DTMF 7), B (1500 Hz), C (silent) talk for ${MEDIA_S}s from $start_at"

# A's mixer port, once A's call is up.
deadline=$((SECONDS + LEAD_S + 15))
until [[ -s "$WORK/A.info" ]]; do
  ((SECONDS < deadline)) || fail "phone A's call was not up in time: $(cat "$WORK/A.json" "$WORK/A.err")"
  kill -0 "${PHONE_PID[A]}" 2>/dev/null || [[ -s "$WORK/A.info" ]] ||
    fail "phone A ended before its call was up: $(cat "$WORK/A.json" "$WORK/A.err")"
  sleep 0.05
done
a_mixer="$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%s:%d" % (d["mixer_host"], d["mixer_port"]))' "$WORK/A.info")"
timeout -k 5 "$budget" python3 "$PHONE" --name stranger --stranger-to "$a_mixer" --freq 2000 \
  --start-at "$stranger_at" --duration "$((MEDIA_S - STRANGER_AFTER_S))" \
  >"$WORK/stranger.json" 2>"$WORK/stranger.err" &
STRANGER_PID=$!
HELPER_PIDS+=("$STRANGER_PID")
log "stranger sends 2000 Hz to A's mixer port $a_mixer from ${STRANGER_AFTER_S}s"

show_results() {
  local f
  for f in A B C stranger; do
    echo "[$TEST_NAME] $f: $(cat "$WORK/$f.json" 2>/dev/null)" >&2
    [[ -s "$WORK/$f.err" ]] && head -c 2000 "$WORK/$f.err" >&2
  done
  return 0
}

status=0
for name in A B C; do
  wait "${PHONE_PID[$name]}" || { status=$?; log "phone $name exited with status $status"; }
done
wait "$STRANGER_PID" || { status=$?; log "the stranger exited with status $status"; }
[[ $status == 0 ]] || { show_results; fail "a phone failed (see its JSON above)"; }
assert_confab_alive "after the calls"

# Every assertion on the phones' JSON; prints the measured levels, exits 1 with the reasons.
if ! python3 - "$WORK" "$ANALYZE_S" >"$WORK/verdict.txt" 2>&1 <<'EOF'; then
import json, sys
work, window = sys.argv[1], float(sys.argv[2])
r = {n: json.loads(open(f"{work}/{n}.json").read().strip().splitlines()[-1])
     for n in ("A", "B", "C", "stranger")}
problems = []

def check(ok, what):
    if not ok:
        problems.append(what)

for n in "ABC":
    p = r[n]
    check("error" not in p, f"{n}: {p.get('error')}")
    if "error" in p:
        continue
    t = p["tones_dbov"]
    print(f"{n}: received {p['received_during']}/{p['expected']} during the call "
          f"({p['received_total']} in all, max gap {p['max_gap_ms']} ms), window "
          f"{p['window_packets']} packets: rms {p['rms_dbov']} dBov, 1000 Hz {t['1000']}, "
          f"1500 Hz {t['1500']}, 2000 Hz {t['2000']}")
    check(p["received_during"] >= 0.8 * p["expected"],
          f"{n} received {p['received_during']} RTP packets during its "
          f"{p['duration_s']} s call, expected about {p['expected']} (at least 80%)")
    check(p["window_packets"] >= 0.6 * window / 0.02,
          f"{n} received only {p['window_packets']} packets in the last {window} s")
    check(set(p["received_by_pt"]) <= {"0", "101"},
          f"{n} received payload types {p['received_by_pt']}, negotiated PCMU (0)")
    check(not p["late_start"], f"{n}'s call was up only after the shared start")

def present(n, f):
    p = r[n]
    if "error" in p:
        return
    level, total = p["tones_dbov"][str(f)], p["rms_dbov"]
    check(level >= total - 10 and level > -40,
          f"{n} should hear {f} Hz: {level} dBov, in all {total} dBov "
          f"(wanted within 10 dB of it and above -40 dBov)")

def absent(n, f, ref):
    p = r[n]
    if "error" in p:
        return
    level, ref_level = p["tones_dbov"][str(f)], p["tones_dbov"][str(ref)]
    check(level <= ref_level - 30,
          f"{n} should not hear {f} Hz: {level} dBov against {ref_level} dBov at {ref} Hz "
          f"(wanted at least 30 dB under)")

present("C", 1000); present("C", 1500)
present("A", 1500); absent("A", 1000, 1500)
present("B", 1000); absent("B", 1500, 1000)
for n, ref in (("A", 1500), ("B", 1000), ("C", 1000), ("C", 1500)):
    absent(n, 2000, ref)
s = r["stranger"]
print(f"stranger: sent {s['sent']} packets to {s['stranger_to']}, got {s['received']} back")
check(s["received"] == 0, f"the stranger got {s['received']} packets from A's mixer port")
for what in problems:
    print("PROBLEM: " + what)
sys.exit(1 if problems else 0)
EOF
  cat "$WORK/verdict.txt" >&2
  show_results
  fail "the mix is not what the phones should hear"
fi
while read -r line; do log "$line"; done <"$WORK/verdict.txt"

# The log: each call joined with PCMU and left on its BYE; one "pressed 7", A's.
call_id() { python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read())["call_id"])' "$WORK/$1.json"; }
declare -A CALL
for name in A B C; do
  CALL[$name]="$(call_id "$name")"
  id_re="${CALL[$name]//./\\.}"
  assert_file_contains "$CONFAB_LOG" "call $id_re from .* joined room 1000 with PCMU/8000" \
    "phone $name joined"
  deadline=$((SECONDS + 10))
  until grep -Eq "call $id_re left room 1000: caller hung up" "$CONFAB_LOG"; do
    ((SECONDS < deadline)) || { show_results; fail "phone $name's call did not leave room 1000 on its BYE"; }
    sleep 0.1
  done
done
pressed_a="$(count_when "$CONFAB_LOG" "call ${CALL[A]//./\\.} pressed 7" 1)"
pressed_all="$(grep -c " pressed " "$CONFAB_LOG" || true)"
if [[ "$pressed_a" != 1 || "$pressed_all" != 1 ]]; then
  show_results
  grep " pressed " "$CONFAB_LOG" >&2 || true
  fail "A pressed 7 once: confab logged it $pressed_a times for A, $pressed_all 'pressed' lines in all"
fi
log "confab logged 'call ${CALL[A]} pressed 7' once, no other digit"

stop_confab
assert_eq 0 "$CONFAB_STATUS" "confab's exit status after SIGTERM"
log "PASS"
