#!/usr/bin/env bash
# G.722 through the real binary (issue 15 item 1): three phones (audio_phone.py) call room 1000 at
# once and talk over the same 4 s:
#   W1 on G.722 sends 6000 Hz (only wideband carries it), N on PCMU sends 1000 Hz, W2 on G.722 is
#   silent. From what each heard in the last 2 s:
#   W2 hears both tones (6000 Hz is the proof that nothing narrowed the G.722 path);
#   W1 hears 1000 Hz and not itself; N hears neither its own 1000 Hz nor a folded-back 2000 Hz;
#   each got at least 80% of the packets it should; confab logs the G.722 joins as G722/8000.
source "$(dirname "$0")/lib.sh"
integ_init "$@"

MEDIA_S=4
ANALYZE_S=2
LEAD_S=3

CONFAB_RTP_PORTS="$(free_rtp_range 40)"
export CONFAB_RTP_PORTS
start_confab --log-level info

start_at="$(python3 -c "import time; print(f'{time.time() + $LEAD_S:.3f}')")"
budget=$((LEAD_S + MEDIA_S + 40))
PHONE_DETECT=1000,2000,6000  # what start_phone (lib.sh) measures
start_phone W1 --codec g722 --freq 6000
start_phone N --codec pcmu --freq 1000
start_phone W2 --codec g722 --freq 0
log "W1 (G.722, 6000 Hz), N (PCMU, 1000 Hz), W2 (G.722, silent) talk for ${MEDIA_S}s"

show_results() {
  local f
  for f in W1 N W2; do
    echo "[$TEST_NAME] $f: $(cat "$WORK/$f.json" 2>/dev/null)" >&2
    [[ -s "$WORK/$f.err" ]] && head -c 2000 "$WORK/$f.err" >&2
  done
  return 0
}
status=0
for name in W1 N W2; do
  wait "${PHONE_PID[$name]}" || { status=$?; log "phone $name exited with status $status"; }
done
[[ $status == 0 ]] || { show_results; fail "a phone failed (see its JSON above)"; }
assert_confab_alive "after the calls"

if ! python3 - "$WORK" "$ANALYZE_S" >"$WORK/verdict.txt" 2>&1 <<'PY'; then
import json, sys
work, window = sys.argv[1], float(sys.argv[2])
r = {n: json.loads(open(f"{work}/{n}.json").read().strip().splitlines()[-1]) for n in ("W1", "N", "W2")}
problems = []
def check(ok, what):
    if not ok:
        problems.append(what)
want_pt = {"W1": "9", "N": "0", "W2": "9"}
for n, p in r.items():
    check("error" not in p, f"{n}: {p.get('error')}")
    if "error" in p:
        continue
    t = p["tones_dbov"]
    print(f"{n}: received {p['received_during']}/{p['expected']}, window {p['window_packets']} "
          f"packets: rms {p['rms_dbov']} dBov, 1000 Hz {t['1000']}, 2000 Hz {t['2000']}, "
          f"6000 Hz {t['6000']}")
    check(p["received_during"] >= 0.8 * p["expected"],
          f"{n} received {p['received_during']} packets, expected about {p['expected']}")
    check(set(p["received_by_pt"]) <= {want_pt[n], "101"},
          f"{n} received payload types {p['received_by_pt']}, negotiated {want_pt[n]}")
def level(n, f):
    return r[n]["tones_dbov"][str(f)] if "error" not in r[n] else None
def present(n, f):
    l = level(n, f)
    if l is not None:
        check(l > -35 and l >= r[n]["rms_dbov"] - 10, f"{n} should hear {f} Hz: {l} dBov, in all {r[n]['rms_dbov']}")
def absent(n, f, ref):
    l, ref_l = level(n, f), level(n, ref)
    if l is not None:
        check(l <= ref_l - 30, f"{n} should not hear {f} Hz: {l} dBov against {ref_l} at {ref} Hz")
present("W2", 6000); present("W2", 1000)
present("W1", 1000); absent("W1", 6000, 1000)
# N (narrowband) can hear neither itself nor W1's 6 kHz, nor an alias of it at 2 kHz: it hears
# (near) silence, so compare with an absolute floor.
for f in (1000, 2000, 6000):
    l = level("N", f)
    if l is not None:
        check(l < -55, f"N should hear nothing at {f} Hz: {l} dBov")
for what in problems:
    print("PROBLEM: " + what)
sys.exit(1 if problems else 0)
PY
  cat "$WORK/verdict.txt" >&2
  show_results
  fail "the wideband mix is not what the phones should hear"
fi
while read -r line; do log "$line"; done <"$WORK/verdict.txt"

call_id() { python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read())["call_id"])' "$WORK/$1.json"; }
for name in W1 W2; do
  assert_file_contains "$CONFAB_LOG" "call $(call_id "$name") from .* joined room 1000 with G722/8000" \
    "phone $name joined with G.722"
done
assert_file_contains "$CONFAB_LOG" "call $(call_id N) from .* joined room 1000 with PCMU/8000" \
  "phone N joined with PCMU"
log "PASS"
