#!/usr/bin/env bash
# Moving a live participant to another room over the API (issue 13 item 2), with real phones
# (audio_phone.py, SIP over UDP, PCMU) and a SIPp watcher of room 1000's conference state:
#   A (1000 Hz) and B (1500 Hz) in room 1000, C (2000 Hz) in room 1001, for 7 s each.
#   2.0 s  POST /v1/rooms/1000/participants/<A>/move {"room":"1001"}  -> 200, room 1001
#   2.5 s  GET /v1/rooms/1000 (B alone) and /v1/rooms/1001 (A and C)
#   the same move again -> 404 (A is no longer in 1000); into the room A is in -> 409
# In the last 2.5 s: A hears C and not B; C hears A; B hears neither (alone). The call was never
# re-INVITEd nor ended: one call each, all hung up by the phones. The watcher of room 1000 sees A
# disconnected, booted, "moved to room 1001" (RFC 4575 §5.7.4), and the conference end when B
# leaves. Bounded: the phones by 7 s of media, everything by timeouts.
source "$(dirname "$0")/lib.sh"
integ_init "$@"

PHONE="$INTEG_DIR/audio_phone.py"
MEDIA_S=7
ANALYZE_S=2.5
LEAD_S=2

CONFAB_API="127.0.0.1:0"
export CONFAB_API
start_confab --log-level debug
wait_api_address
api="$API"

start_sipp watch 30 -sf "$SCENARIOS/watch_conference.xml" -s 1000 -m 1 -t u1 \
  -trace_msg -message_file "$WORK/watch_messages.log"
watch_pid=$SIPP_PID
deadline=$((SECONDS + 10))
until grep -q '^NOTIFY ' "$WORK/watch_messages.log" 2>/dev/null; do
  ((SECONDS < deadline)) || fail "the watcher had no first NOTIFY within 10 s"
  sleep 0.1
done

start_at="$(python3 -c "import time; print(f'{time.time() + $LEAD_S:.3f}')")"
budget=$((LEAD_S + MEDIA_S + 20))
declare -A PHONE_PID
start_phone() {
  local name=$1 room=$2 freq=$3
  timeout -k 5 "$budget" python3 "$PHONE" --port "$SIP_PORT" --room "$room" --name "$name" \
    --freq "$freq" --duration "$MEDIA_S" --analyze "$ANALYZE_S" --start-at "$start_at" \
    --detect 1000,1500,2000 --info-file "$WORK/$name.info" \
    >"$WORK/$name.json" 2>"$WORK/$name.err" &
  PHONE_PID[$name]=$!
  HELPER_PIDS+=("$!")
}
start_phone A 1000 1000
start_phone B 1000 1500
start_phone C 1001 2000

timeout -k 5 "$budget" python3 - "$api" "$start_at" "$WORK" >"$WORK/api.json" 2>"$WORK/api.err" <<'PY' &
import json, os, sys, time, urllib.request, urllib.error
api, start_at, work = sys.argv[1], float(sys.argv[2]), sys.argv[3]
auth = "Bearer " + os.environ["CONFAB_API_TOKEN"]

def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(api + path, data=data, method=method)
    req.add_header("Authorization", auth)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")

def at(t):
    delay = start_at + t - time.time()
    if delay > 0:
        time.sleep(delay)

def call_id(name):
    while True:
        try:
            return json.load(open(f"{work}/{name}.info"))["call_id"]
        except (OSError, ValueError, KeyError):
            time.sleep(0.05)

ids = {n: call_id(n) for n in "ABC"}
out = {"ids": ids}
at(2.0)
out["move"] = call("POST", f"/v1/rooms/1000/participants/{ids['A']}/move", {"room": "1001"})
at(2.5)
out["room1000"] = call("GET", "/v1/rooms/1000")
out["room1001"] = call("GET", "/v1/rooms/1001")
out["again"] = call("POST", f"/v1/rooms/1000/participants/{ids['A']}/move", {"room": "1001"})
out["same"] = call("POST", f"/v1/rooms/1001/participants/{ids['A']}/move", {"room": "1001"})
print(json.dumps(out))
PY
api_pid=$!
HELPER_PIDS+=("$api_pid")

status=0
for name in A B C; do
  wait "${PHONE_PID[$name]}" || { status=$?; log "phone $name exited with status $status"; }
done
wait "$api_pid" || { status=$?; log "the API client failed: $(cat "$WORK/api.err")"; }
finish_sipp watch "$watch_pid"
show_results() {
  local f
  for f in A B C api; do
    echo "[$TEST_NAME] $f: $(head -c 3000 "$WORK/$f.json" 2>/dev/null)" >&2
    [[ -s "$WORK/$f.err" ]] && head -c 2000 "$WORK/$f.err" >&2
  done
  return 0
}
[[ $status == 0 ]] || { show_results; fail "a phone or the API client failed"; }
assert_sipp_clean watch 1
assert_confab_alive "after the move"

if ! python3 - "$WORK" >"$WORK/verdict.txt" 2>&1 <<'PY'; then
import json, re, sys
work = sys.argv[1]
api = json.load(open(f"{work}/api.json"))
ids = api["ids"]
r = {n: json.loads(open(f"{work}/{n}.json").read().strip().splitlines()[-1]) for n in "ABC"}
problems = []

def check(ok, what):
    if not ok:
        problems.append(what)

code, body = api["move"]
check(code == 200 and body.get("room") == "1001" and body.get("callId") == ids["A"],
      f"move: HTTP {code} {body}")
code, room = api["room1000"]
in1000 = sorted(p["callId"] for p in room.get("participants", []))
check(in1000 == [ids["B"]], f"room 1000 lists {in1000}, wanted B only")
code, room = api["room1001"]
in1001 = sorted(p["callId"] for p in room.get("participants", []))
check(in1001 == sorted([ids["A"], ids["C"]]), f"room 1001 lists {in1001}, wanted A and C")
check(api["again"][0] == 404, f"the same move again: {api['again']}")
check(api["same"][0] == 409 and any(e.get("field") == "room" for e in api["same"][1].get("errors", [])),
      f"a move into the room they are in: {api['same']}")

def level(n, f):
    return r[n]["tones_dbov"][str(f)]

for n in "ABC":
    check("error" not in r[n], f"{n}: {r[n].get('error')}")
    print(f"{n} heard: " + ", ".join(f"{f} Hz {level(n, f)} dBov" for f in (1000, 1500, 2000)))
# A hears C (room 1001) and no longer B (room 1000); C hears A; B, alone, hears neither.
check(level("A", 2000) > -45, "A does not hear C in room 1001")
check(level("A", 1500) <= level("A", 2000) - 25, "A still hears B of room 1000")
check(level("C", 1000) > -45, "C does not hear A")
check(level("B", 1000) < -45, "B still hears A after the move")

# The watcher of room 1000: A's endpoint disconnected, booted, with the reason.
log = open(f"{work}/watch_messages.log", encoding="utf-8", errors="replace").read()
check("<disconnection-method>booted</disconnection-method>" in log,
      "room 1000's watcher saw no one booted")
check("moved to room 1001" in log, "room 1000's watcher saw no reason naming room 1001")
check(re.search(r"Subscription-State:\s*terminated", log, re.I) is not None,
      "room 1000's conference did not end for its watcher")
for what in problems:
    print("PROBLEM: " + what)
sys.exit(1 if problems else 0)
PY
  cat "$WORK/verdict.txt" >&2
  show_results
  fail "the move did not do what the API said"
fi
while read -r line; do log "$line"; done <"$WORK/verdict.txt"
# The call detail records: A's stay in 1000 ends with the move (booted, the reason naming 1001),
# its stay in 1001 with its own hang-up (issue 13 item 6: one record per stay).
python3 - "$API" "$WORK" >&2 <<'PY' || fail "GET /v1/records/calls"
import json, os, sys, time, urllib.request
ids = json.load(open(f"{sys.argv[2]}/api.json"))["ids"]
req = urllib.request.Request(sys.argv[1] + "/v1/records/calls",
                             headers={"Authorization": "Bearer " + os.environ["CONFAB_API_TOKEN"]})
deadline = time.time() + 10
while True:
    calls = [c for c in json.load(urllib.request.urlopen(req, timeout=5))["calls"]
             if c["callId"] == ids["A"]]
    if len(calls) >= 2 or time.time() > deadline:
        break
    time.sleep(0.2)
stays = {c["room"]: c for c in calls}
assert set(stays) == {"1000", "1001"}, calls
assert stays["1000"]["disconnection"] == "booted", stays["1000"]
assert stays["1000"]["reason"] == "moved to room 1001", stays["1000"]
assert stays["1001"]["disconnection"] == "departed", stays["1001"]
assert stays["1000"]["left"] <= stays["1001"]["joined"] + 1000, calls
print("A's call records: " + ", ".join("%s %.1f s %s" % (r, c["seconds"], c["disconnection"])
                                       for r, c in sorted(stays.items())))
PY
stop_confab
log "PASS"
