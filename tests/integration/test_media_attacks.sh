#!/usr/bin/env bash
# Attacks on the media ports of the real binary (issue 10 items 16 and 17), with real phones
# (audio_phone.py, SIP over UDP, PCMU) in room 1000: A talks 1000 Hz, B 1500 Hz, C is silent.
#  - A sprayer on another address (127.0.0.2) sends in-sequence RTP to every port of confab's RTP
#    range every 40 ms, from before the first call until after the last: it must never latch,
#    so it gets no packet back, and every caller is heard. (Before the fix, a stranger's packets
#    before the caller's first one took the call over and received the room's audio.)
#  - A also forges 33 packets a second in its own stream (its SSRC, from its own address, random
#    sequence numbers and timestamps, noise): A must still be heard in full, and no noise.
#  - confab logs each refused source as a rate-limited security line naming 127.0.0.2, and each
#    latch (to the phones' own ports) at debug; the API counts the refused packets apart from the
#    caller's own (packetsDropped stays 0 on these clean loopback calls).
#  - At --log-level debug every SIP message has its line, and the media leg's join and leave.
source "$(dirname "$0")/lib.sh"
integ_init "$@"

SPRAYER="$INTEG_DIR/rtp_sprayer.py"
MEDIA_S=6
ANALYZE_S=2
LEAD_S=3
python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.2", 0))' ||
  fail "cannot bind 127.0.0.2 (all of 127/8 is loopback on Linux)"

# A free range of 100 ports (50 pairs), as in test_audio_mix.sh.
CONFAB_RTP_PORTS="$(free_rtp_range 100)"
export CONFAB_RTP_PORTS
CONFAB_API="127.0.0.1:0"
export CONFAB_API
start_confab --log-level debug
wait_api_address
api="$API"

budget=$((LEAD_S + MEDIA_S + 40))
timeout -k 5 "$budget" python3 "$SPRAYER" --bind 127.0.0.2 --ports "$CONFAB_RTP_PORTS" \
  --interval 0.04 --duration "$((LEAD_S + MEDIA_S + 2))" >"$WORK/sprayer.json" 2>"$WORK/sprayer.err" &
SPRAYER_PID=$!
HELPER_PIDS+=("$SPRAYER_PID")
sleep 0.5  # the sprayer is at every port before the first INVITE

start_at="$(python3 -c "import time; print(f'{time.time() + $LEAD_S:.3f}')")"
PHONE_DETECT=1000,1500  # what start_phone (lib.sh) measures
start_phone A --freq 1000 --stray-rate 33
start_phone B --freq 1500
start_phone C --freq 0

# Near the end of the media: what the API says of each participant (statistics are samples, up
# to about two seconds old: polled until A's refused packets show, at most until the calls end).
timeout -k 5 "$budget" python3 - "$api" "$start_at" "$MEDIA_S" "$WORK" >"$WORK/api.json" 2>"$WORK/api.err" <<'EOF' &
import json, os, sys, time, urllib.request
api, start_at, media_s, work = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
def info(name):
    return json.load(open(f"{work}/{name}.info"))
time.sleep(max(0.0, start_at + media_s - 3.0 - time.time()))
ids = {n: info(n)["call_id"] for n in "ABC"}
last = None
while time.time() < start_at + media_s - 0.3:
    req = urllib.request.Request(api + "/v1/rooms/1000",
                                 headers={"Authorization": "Bearer " + os.environ["CONFAB_API_TOKEN"]})
    with urllib.request.urlopen(req, timeout=5) as r:
        room = json.load(r)
    parts = {p.get("callId"): p.get("media", {}) for p in room.get("participants", [])}
    last = {n: parts.get(ids[n], {}) for n in "ABC"}
    if last["A"].get("packetsRefused", 0) >= 60 and last["B"].get("packetsReceived", 0) >= 100:
        break
    time.sleep(0.2)
print(json.dumps(last))
EOF
API_PID=$!
HELPER_PIDS+=("$API_PID")

status=0
for name in A B C; do
  wait "${PHONE_PID[$name]}" || { status=$?; log "phone $name exited with status $status"; }
done
wait "$API_PID" || { status=$?; log "the API client exited with status $status"; }
wait "$SPRAYER_PID" || { status=$?; log "the sprayer exited with status $status"; }
if [[ $status != 0 ]]; then
  for f in A B C sprayer api; do log "$f: $(cat "$WORK/$f.json" "$WORK/$f.err" 2>/dev/null)"; done
  fail "a phone, the sprayer or the API client failed"
fi
assert_confab_alive "after the attacks"

if ! python3 - "$WORK" "$CONFAB_LOG" "$MEDIA_S" "$LEAD_S" >"$WORK/verdict.txt" 2>&1 <<'EOF'; then
import json, math, re, sys
work, log_path, media_s, lead_s = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
r = {n: json.loads(open(f"{work}/{n}.json").read().strip().splitlines()[-1])
     for n in ("A", "B", "C", "sprayer")}
api = json.loads(open(f"{work}/api.json").read().strip() or "null") or {}
log = open(log_path).read()
problems = []

def check(ok, what):
    if not ok:
        problems.append(what)

s = r["sprayer"]
print(f"sprayer: {s['sent']} packets to {s['ports']} ports, {s['received']} back")
check(s["sent"] > 1000, f"the sprayer sent only {s['sent']} packets")
check(s["received"] == 0,
      f"the sprayer on 127.0.0.2 got {s['received']} packets back from ports {s['ports_answering']}")
print(f"A forged {r['A']['strays_sent']} packets in its own stream")
check(r["A"]["strays_sent"] >= 33 * (media_s - 1), "A forged too few packets")

def tone(n, f):
    return r[n]["tones_dbov"].get(str(f), -200.0)

# A's tone goes in at -20 dBov; the mixer passes it at about the same level. Heard by B and C as
# loud as B's clean 1500 Hz is heard by C, so the forged packets took nothing away.
for listener, f in (("B", 1000), ("C", 1000), ("C", 1500), ("A", 1500)):
    level = tone(listener, f)
    print(f"{listener} hears {f} Hz at {level:.1f} dBov, all {r[listener]['rms_dbov']:.1f} dBov")
    check(level > -24.0, f"{listener} hears {f} Hz at only {level:.1f} dBov")
check(abs(tone("C", 1000) - tone("C", 1500)) < 2.0,
      f"C hears A ({tone('C', 1000):.1f}) and B ({tone('C', 1500):.1f}) unequally")
# No noise: what C hears is the two tones and nothing else (within 1 dB).
both = 10 * math.log10(10 ** (tone("C", 1000) / 10) + 10 ** (tone("C", 1500) / 10))
check(r["C"]["rms_dbov"] < both + 1.0,
      f"C hears {r['C']['rms_dbov']:.1f} dBov in all, more than the tones' {both:.1f}: noise got in")
for n in "ABC":
    check(r[n]["window_packets"] >= 0.9 * 50 * 2, f"{n} got {r[n]['window_packets']} packets in 2 s")

# The log: refused sources as security lines naming the sprayer, at most about one a second per
# call; a latch to each phone's own RTP port.
refused = re.findall(r"^confab: security event=rtp-source-refused source=(\S+) call=(\S+) "
                     r"room=1000 refused=(\d+)$", log, re.M)
print(f"{len(refused)} refused-source lines")
check(refused, "no refused-source line in the log")
check(all(src.startswith("127.0.0.2:") for src, _, _ in refused),
      "a refused-source line names another address than the sprayer's")
calls = {json.load(open(f"{work}/{n}.info"))["call_id"]: n for n in "ABC"}
per_call = {}
for _, call, _ in refused:
    per_call[call] = per_call.get(call, 0) + 1
limit = lead_s + media_s + 3
check(all(k <= limit for k in per_call.values()),
      f"refused-source lines are not limited to one a second per call: {per_call}")
for call, n in calls.items():
    port = json.load(open(f"{work}/{n}.info"))["rtp_port"]
    check(re.search(rf"^confab: call {re.escape(call)} media latched to 127\.0\.0\.1:{port} ", log,
                    re.M),
          f"no latch of {n}'s call to its own port {port} in the log")

# --log-level debug (issue 10 item 15): a line per SIP message and per change of the media leg.
for call, n in calls.items():
    c = re.escape(call)
    check(re.search(rf"^confab: debug: <<< INVITE from 127\.0\.0\.1:\d+ call-id={c} ", log, re.M),
          f"no debug line for {n}'s INVITE")
    check(re.search(rf"^confab: debug: >>> 200 OK to 127\.0\.0\.1:\d+ call-id={c} "
                    rf"cseq=\"1 INVITE\"$", log, re.M), f"no debug line for the 200 to {n}'s INVITE")
    check(re.search(rf"^confab: debug: call {c} media joined room 1000: PCMU/8000$", log, re.M),
          f"no debug line for {n}'s media joining")
    check(re.search(rf"^confab: debug: call {c} media left room 1000: caller hung up$", log, re.M),
          f"no debug line for {n}'s media leaving")

# The API: forged and sprayed packets are refused, apart from the callers' own.
print("API media: " + json.dumps(api))
a = api.get("A", {})
check(a.get("packetsRefused", 0) >= 60, f"A's refused packets: {a.get('packetsRefused')}")
for n in "ABC":
    m = api.get(n, {})
    check(m.get("packetsDropped") == 0, f"{n} dropped {m.get('packetsDropped')} of its own packets")
    check(m.get("packetsRefused", 0) > 0, f"{n}: the sprayer's packets are not counted as refused")

if problems:
    print("PROBLEMS:\n  " + "\n  ".join(problems))
    sys.exit(1)
EOF
  cat "$WORK/verdict.txt" >&2
  fail "an attack on the media ports got through"
fi
while read -r line; do log "$line"; done <"$WORK/verdict.txt"
stop_confab
assert_eq 0 "$CONFAB_STATUS" "confab's exit status after SIGTERM"
log "PASS"
