#!/usr/bin/env bash
# A meeting run wholly over the REST API, against the real binary, with real SIP callers:
#   1. the operator (its key from `confab key add`) creates tenant acme owning 127.0.0.1, and a
#      read-write key for it (its token shown once);
#   2. acme's key creates room 4000 with PIN 2468 (no tones, a public roster), with an
#      Idempotency-Key: the repeat gets the same answer, not a second room nor a 409;
#   3. a SIPp watcher subscribes to the room's conference state (RFC 4575);
#   4. a listener (pin_phone.py, PCMU, PIN by RFC 4733) and a SIPp caller (PCMA, PIN by SIP INFO,
#      then SIPp's speech capture) join;
#   5. the API lists both, connected; mutes the talker; the listener hears the speech before the
#      mute and silence after it (measured on the listener's audio); a NOTIFY says
#      muted-via-focus;
#   6. the API removes the talker (confab's BYE reaches SIPp), then ends the conference (the
#      listener gets a BYE, the watcher a terminated NOTIFY);
#   7. the call detail records show both stays (codec, how they left, media quality) and the
#      conference; the organizer's WebSocket event stream (ws_events.py, opened before anyone
#      called) saw the conference start, both joins, the mute, both leaves and the end, in order;
#      the access log has a JSON line per request naming acme's key by id, never its token.
source "$(dirname "$0")/lib.sh"
integ_init "$@"
require_tool sipp
[[ -f /usr/share/sip-tester/g711a.pcap ]] || fail "SIPp's speech capture is not installed"

CONFAB_RTP_PORTS="$(free_rtp_range 200)"
export CONFAB_RTP_PORTS
start_confab_api --log-level debug --api-access-log "$WORK/access.log"
log "API at $API"

# api.py METHOD PATH [JSON] [KEY] [IDEMPOTENCY-KEY]: prints "STATUS BODY" (one line).
cat >"$WORK/api.py" <<'EOF'
import json, os, sys, urllib.request, urllib.error
method, path = sys.argv[1], sys.argv[2]
body = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
key = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] else os.environ["CONFAB_API_TOKEN"]
req = urllib.request.Request(os.environ["API"] + path, method=method,
                             data=body.encode() if body else None)
req.add_header("Authorization", "Bearer " + key)
if body:
    req.add_header("Content-Type", "application/json")
if len(sys.argv) > 5:
    req.add_header("Idempotency-Key", sys.argv[5])
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        status, text = r.status, r.read().decode()
except urllib.error.HTTPError as e:
    status, text = e.code, e.read().decode()
print(status, text.replace("\n", " "))
EOF
api() { python3 "$WORK/api.py" "$@"; }
# expect STATUS OUTPUT: the status part of api's output; prints the body.
expect() {
  local want=$1 got=$2
  [[ "${got%% *}" == "$want" ]] || fail "expected $want, got: $got"
  printf '%s' "${got#* }"
}
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])$2)" "$1"; }

# 1. The operator: a tenant and its key.
tenant="$(expect 201 "$(api POST /v1/tenants '{"name":"acme","domains":["127.0.0.1"]}')")"
tenant_id="$(field "$tenant" '["id"]')"
issued="$(expect 201 "$(api POST /v1/keys "{\"tenant\":$tenant_id,\"name\":\"organizer\"}")")"
ACME="$(field "$issued" '["token"]')"
acme_key_id="$(field "$issued" '["id"]')"
[[ "$ACME" == confab_* ]] || fail "no token for acme's key: $issued"

# 2. The organizer: a room with a PIN, created once whatever the repeats.
room_body='{"user":"4000","name":"Board","participantPin":"2468","entryExitTones":false,"publicRoster":true}'
first="$(expect 201 "$(api POST /v1/rooms "$room_body" "$ACME" create-board-1)")"
again="$(expect 201 "$(api POST /v1/rooms "$room_body" "$ACME" create-board-1)")"
[[ "$first" == "$again" ]] || fail "a repeated Idempotency-Key got another answer: $first / $again"
room="$(field "$first" '["id"]')"
[[ "$room" == "4000@acme" ]] || fail "room id $room"
expect 409 "$(api POST /v1/rooms "$room_body" "$ACME" create-board-2)" >/dev/null
[[ "$(field "$first" '.get("participantPin", "absent")')" == absent ]] || fail "a PIN was shown"

# The organizer's live event stream (a WebSocket), from before anyone calls.
python3 "$INTEG_DIR/ws_events.py" "$API/v1/events?room=$room" "$ACME" "$WORK/events.jsonl" \
  --until conference.ended --seconds 40 2>"$WORK/events.err" &
events_pid=$!
HELPER_PIDS+=("$events_pid")
deadline=$((SECONDS + 5))
until grep -q OPEN "$WORK/events.err"; do
  ((SECONDS < deadline)) || fail "the event stream did not open: $(cat "$WORK/events.err")"
  sleep 0.05
done

# 3. The watcher, 4. the callers.
start_sipp watch 60 -sf "$INTEG_DIR/scenarios/watch_conference.xml" -s 4000 -m 1 -t u1 \
  -trace_msg -message_file "$WORK/watch_messages.log"
watch_pid=$SIPP_PID
sleep 0.5
timeout -k 5 40 python3 "$INTEG_DIR/pin_phone.py" --port "$SIP_PORT" --room 4000 \
  --from-user listener --keys "2468#@2.0" --duration 25 >"$WORK/listener.json" \
  2>"$WORK/listener.err" &
listener_pid=$!
HELPER_PIDS+=("$listener_pid")
start_sipp talker 60 -sf "$INTEG_DIR/scenarios/pin_talker.xml" -s 4000 -m 1 -l 1 \
  -mp "$(free_port 2)"
talker_pid=$SIPP_PID

# 5. and 6.: the organizer's timeline, by wall-clock time (the listener reports its own start).
python3 - "$WORK" "$room" "$ACME" >"$WORK/timeline.json" <<'EOF' || fail "the organizer's timeline failed"
import json, os, subprocess, sys, time
work, room, key = sys.argv[1:4]
def api(method, path, body=None):
    out = subprocess.run(["python3", os.path.join(work, "api.py"), method, path,
                          json.dumps(body) if body is not None else "", key],
                         capture_output=True, text=True, check=True).stdout.strip()
    status, _, text = out.partition(" ")
    return int(status), (json.loads(text) if text.strip() else None)
def fail(what):
    print(json.dumps({"error": what}))
    sys.exit(1)
found = {}
deadline = time.time() + 15
while time.time() < deadline:
    status, r = api("GET", "/v1/rooms/" + room)
    people = r.get("participants", []) if status == 200 else []
    if len(people) == 2 and all(p["status"] == "connected" for p in people):
        found = {("talker" if "sipp@" in p["from"] else "listener"): p for p in people}
        break
    time.sleep(0.2)
if set(found) != {"talker", "listener"}:
    fail("the API did not list both callers connected: %s" % people)
joined = time.time()
time.sleep(2.5)  # the listener hears the talker meanwhile
talker = found["talker"]["callId"]
muted_at = time.time()
status, r = api("PATCH", "/v1/rooms/%s/participants/%s" % (room, talker), {"muted": True})
if status != 200 or r.get("muted") is not True:
    fail("mute: %s %s" % (status, r))
time.sleep(3.0)  # the listener hears silence meanwhile, the capture still playing
removed_at = time.time()
status, _ = api("DELETE", "/v1/rooms/%s/participants/%s" % (room, talker))
if status != 204:
    fail("remove: %s" % status)
deadline = time.time() + 5
while time.time() < deadline:
    status, r = api("GET", "/v1/rooms/" + room)
    if status == 200 and len(r["participants"]) == 1:
        break
    time.sleep(0.1)
else:
    fail("the removed talker is still listed")
status, r = api("DELETE", "/v1/rooms/%s/conference" % room)
if status != 200 or r.get("removed") != 1:
    fail("end: %s %s" % (status, r))
# 7. The records are written as they leave.
calls, conferences = [], []
deadline = time.time() + 5
while time.time() < deadline:
    _, c = api("GET", "/v1/records/calls?room=" + room)
    _, f = api("GET", "/v1/records/conferences?room=" + room)
    calls, conferences = c.get("calls", []), f.get("conferences", [])
    if len(calls) == 2 and len(conferences) == 1:
        break
    time.sleep(0.2)
print(json.dumps({"joined": joined, "muted_at": muted_at, "removed_at": removed_at,
                  "talker": talker, "listing": found, "calls": calls,
                  "conferences": conferences}))
EOF

finish_sipp talker "$talker_pid"
[[ "$SIPP_STATUS" == 0 ]] || { show_sipp talker; fail "the SIPp caller's scenario failed"; }
finish_sipp watch "$watch_pid"
[[ "$SIPP_STATUS" == 0 ]] || { show_sipp watch; fail "the watcher did not see the conference end"; }
wait "$listener_pid" || true
wait "$events_pid" || fail "the event stream failed: $(cat "$WORK/events.err")"

python3 - "$WORK" "$tenant_id" <<'EOF' || fail "what the callers heard, the NOTIFYs or the records are wrong"
import json, os, re, sys
work, tenant_id = sys.argv[1], int(sys.argv[2])
t = json.load(open(os.path.join(work, "timeline.json")))
listener = json.loads(open(os.path.join(work, "listener.json")).read())
failed = []
def check(ok, what):
    if not ok:
        failed.append(what)
# The listing: codec, SRTP, role as the API shows them.
check(t["listing"]["talker"]["codec"] == "PCMA/8000", "talker's codec %s" % t["listing"]["talker"])
check(t["listing"]["listener"]["codec"] == "PCMU/8000", "listener's codec")
check(t["listing"]["talker"]["role"] == "participant", "talker's role")
# What the listener heard, by its own clock.
t0 = listener.get("t0_wall") or 0
windows = listener.get("windows", [])
def loudest(a, b):
    vals = [w["rms"] for w in windows if a - t0 <= w["t"] < b - t0]
    return max(vals) if vals else None
before = loudest(t["joined"] + 0.3, t["muted_at"] - 0.2)
after = loudest(t["muted_at"] + 0.8, t["removed_at"] - 0.1)
check(before is not None and before > -40, "the talker's speech before the mute: %s dBov" % before)
check(after is not None and after < -60, "silence after the mute, the talker still talking: %s dBov" % after)
print("listener heard the talker at %s dBov before the mute, %s after" % (before, after),
      file=sys.stderr)
check(listener.get("bye_from_far_end_at") is not None, "the listener got no BYE when the room ended")
# The NOTIFYs: the talker muted via the focus, and the subscription ends with the conference.
log = open(os.path.join(work, "watch_messages.log"), "rb").read().decode(errors="replace")
check("muted-via-focus" in log, "no NOTIFY said muted-via-focus")
check(re.search(r"Subscription-State: *terminated", log) is not None, "no terminated NOTIFY")
# The records.
calls = {("talker" if "sipp@" in c["entity"] else "listener"): c for c in t["calls"]}
check(set(calls) == {"talker", "listener"}, "call records: %s" % t["calls"])
if set(calls) == {"talker", "listener"}:
    check(calls["talker"]["codec"] == "PCMA/8000", "talker's record codec")
    check(calls["talker"]["disconnection"] == "booted", "talker's record: %s" % calls["talker"])
    check(calls["listener"]["disconnection"] == "booted", "listener's record")
    check(all(c["tenant"] == tenant_id for c in calls.values()), "records' tenant")
    check(calls["talker"]["left"] >= calls["talker"]["joined"], "talker's times")
    q = calls["talker"].get("quality") or {}
    # About 5.5 s of speech at 50 packets/s (the mixer's counts are a snapshot up to a second
    # old when the call leaves), on loopback: nothing lost, nothing dropped.
    check(q.get("packetsReceived", 0) > 100, "talker's record: packets received %s" % q)
    check(q.get("packetsDropped") == 0 and q.get("fractionLost") == 0, "talker's losses %s" % q)
check(len(t["conferences"]) == 1, "conference records: %s" % t["conferences"])
# The event stream saw it all, in order.
events = [json.loads(l) for l in open(os.path.join(work, "events.jsonl"))]
types = [e["type"] for e in events]
check([e["seq"] for e in events] == sorted(set(e["seq"] for e in events)), "seq not increasing")
check(all(e["room"] == "4000@acme" for e in events), "an event of another room")
check(types[:1] == ["conference.started"] and types[-1:] == ["conference.ended"], "types %s" % types)
check(types.count("participant.joined") == 2, "joined events: %s" % types)
muted = [e for e in events if e["type"] == "participant.updated" and e["participant"]["muted"]
         and e["participant"]["callId"] == t["talker"]]
check(len(muted) >= 1, "no participant.updated with the talker muted")
left = [e["participant"] for e in events if e["type"] == "participant.left"]
check([p["disconnection"] for p in left] == ["booted", "booted"], "left events: %s" % left)
for f in failed:
    print("FAILED:", f, file=sys.stderr)
if failed:
    print(json.dumps({k: v for k, v in t.items()}, indent=1)[:4000], file=sys.stderr)
    for w in windows:
        print("  listener", w["t"], round(w["rms"], 1), file=sys.stderr)
    sys.exit(1)
EOF

# The access log: a JSON line per request, acme's requests by key id, no token anywhere.
python3 - "$WORK/access.log" "$acme_key_id" "$tenant_id" "$ACME" "$CONFAB_API_TOKEN" <<'EOF' ||
import json, sys
path, key_id, tenant_id, token, operator = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
text = open(path).read()
assert token not in text and operator not in text, "a token is in the access log"
lines = [json.loads(l) for l in text.splitlines()]
mutes = [l for l in lines if l["method"] == "PATCH" and l["route"] == "/v1/rooms/{id}/participants/{callId}"]
assert len(mutes) == 1 and mutes[0]["status"] == 200, mutes
assert mutes[0]["key"] == key_id and mutes[0]["tenant"] == tenant_id, mutes[0]
assert any(l["status"] == 409 and l["route"] == "/v1/rooms" for l in lines), "no 409 line"
EOF
  fail "the access log is wrong"

assert_confab_alive
log "PASS"
