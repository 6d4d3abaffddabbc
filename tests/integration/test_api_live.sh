#!/usr/bin/env bash
# The REST API on a live room, with real phones (audio_phone.py, SIP over UDP, PCMU) in room 1000:
# A talks 1000 Hz, B 1500 Hz, C is silent, for 11 s. Through the API, while they talk:
#   0.5 s  POST  /v1/rooms/1000/recording {"format":"wav"}         -> 201, a file name
#   1.0 s  GET   /v1/rooms/1000 until it shows three participants, PCMU/8000, A talking, C not,
#          packets counted (at most until 7.0 s: statistics are samples, see until() below)
#   7.5 s  PATCH /v1/rooms/1000/participants/<A> {"muted":true}    -> 200, muted
#   8.0 s  POST  /v1/rooms/1000/playback {"file":"tone440.wav"}    -> 202 (a 440 Hz file)
#   8.5 s  GET   /v1/rooms/1000 until it shows playing (at most until 8.9 s)
#   9.0 s  DELETE /v1/rooms/1000/recording                          -> 200
# Then: C hears B and the file in its last 1.5 s, and not A (muted); A hears B and the file; the
# recording holds A and B before the mute and the file at its end; GET /v1/mixer shows the clock.
# The mute comes after the first GET's bound (A must still talk while it is read), so the calls
# last as long as that GET may take; it usually holds within about 2 s.
# Bad requests get problem+json naming the field: a path for a file, an unknown format, a
# misspelt member, an unknown participant, an empty room.
# Then confab starts again on the same data directory, and the recording is listed, downloaded
# with curl (whole: byte-identical to the file, a WAV with sound in it; and a range), deleted,
# and the list is empty.
source "$(dirname "$0")/lib.sh"
integ_init "$@"
require_tool curl

MEDIA_S=11
ANALYZE_S=1.5
LEAD_S=3

CONFAB_API="127.0.0.1:0"
export CONFAB_API
start_confab --log-level debug
wait_api_address
api="$API"
log "API at $api"

# A 4 s, 440 Hz, 16 kHz mono file in the media folder (the mixer resamples it to the room's rate).
mkdir -p "$WORK/data/media"
python3 - "$WORK/data/media/tone440.wav" <<'EOF'
import math, struct, sys, wave
rate = 16000
with wave.open(sys.argv[1], "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(rate)
    amp = 0.1 * 32767 * math.sqrt(2)  # -20 dBov RMS
    w.writeframes(b"".join(struct.pack("<h", int(amp * math.sin(2 * math.pi * 440 * i / rate)))
                           for i in range(4 * rate)))
EOF

start_at="$(python3 -c "import time; print(f'{time.time() + $LEAD_S:.3f}')")"
budget=$((LEAD_S + MEDIA_S + 40))
PHONE_DETECT=440,1000,1500  # what start_phone (lib.sh) measures
start_phone A --freq 1000
start_phone B --freq 1500
start_phone C --freq 0

# The API client: runs the timeline, then checks what the API said. Writes its findings as JSON.
timeout -k 5 "$budget" python3 - "$api" "$start_at" "$WORK" >"$WORK/api.json" 2>"$WORK/api.err" <<'EOF' &
import json, os, sys, time, urllib.request, urllib.error
api, start_at, work = sys.argv[1], float(sys.argv[2]), sys.argv[3]
auth = "Bearer " + os.environ["CONFAB_API_TOKEN"]
out = {"steps": {}, "held_at": {}}

def call(method, path, body=None, content_type="application/json", key=None):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(api + path, data=data, method=method)
    if key != "":
        req.add_header("Authorization", key or auth)
    if data is not None:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.headers.get("Content-Type"), json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), json.loads(e.read() or b"null")

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
out["ids"] = ids
at(0.5)
out["steps"]["record"] = call("POST", "/v1/rooms/1000/recording", {"format": "wav"})
out["steps"]["record_again"] = call("POST", "/v1/rooms/1000/recording", {"format": "wav"})
out["steps"]["record_empty_room"] = call("POST", "/v1/rooms/1001/recording")
out["steps"]["record_no_key"] = call("POST", "/v1/rooms/1000/recording", {"format": "wav"}, key="")
out["steps"]["mute_wrong_key"] = call("PATCH", f"/v1/rooms/1000/participants/{ids['A']}",
                                      {"muted": True}, key="Bearer confab_" + "x" * 43)
out["steps"]["record_bad_format"] = call("POST", "/v1/rooms/1000/recording", {"format": "mp3"})
out["steps"]["play_path"] = call("POST", "/v1/rooms/1000/playback", {"file": "../../etc/passwd"})
out["steps"]["play_missing"] = call("POST", "/v1/rooms/1000/playback", {"file": "nope.wav"})
out["steps"]["play_not_json"] = call("POST", "/v1/rooms/1000/playback", b"file=x", "text/plain")
out["steps"]["patch_unknown"] = call("PATCH", "/v1/rooms/1000/participants/no-such-call", {"muted": True})
out["steps"]["patch_misspelt"] = call("PATCH", f"/v1/rooms/1000/participants/{ids['A']}", {"mutd": True})
out["steps"]["patch_bad_gain"] = call("PATCH", f"/v1/rooms/1000/participants/{ids['A']}", {"gain": 99})

def until(step, ok, last_t, path):
    """GETs path until ok(body) or the timeline reaches last_t, and keeps the last answer as the
    step either way (held_at says when it held, for the log). Media statistics are samples: each
    mixer thread takes one every 50 ticks (1 s), and a separate confab-mixer forwards its latest
    on its own one-second timer, started when confab connected, so what the API shows can be
    about two seconds old, more in a loaded sanitizer build. A single read at a fixed moment can
    see the first 120 ms of the call; the checks below still fail if the condition never comes."""
    while True:
        answer = call("GET", path)
        if answer[0] == 200 and ok(answer[2]):
            out["held_at"][step] = round(time.time() - start_at, 2)
            break
        if time.time() >= start_at + last_t:
            break
        time.sleep(0.1)
    out["steps"][step] = answer

def settled(room):
    parts = {p.get("callId"): p for p in room.get("participants", [])}
    return (all(parts.get(cid, {}).get("media", {}).get("packetsReceived", 0) > 20
                for cid in ids.values())
            and parts.get(ids["A"], {}).get("talking") is True
            and parts.get(ids["C"], {}).get("talking") is False)

at(1.0)
until("room", settled, 7.0, "/v1/rooms/1000")
at(7.5)
out["steps"]["mute"] = call("PATCH", f"/v1/rooms/1000/participants/{ids['A']}", {"muted": True})
at(8.0)
out["steps"]["play"] = call("POST", "/v1/rooms/1000/playback", {"file": "tone440.wav"})
at(8.5)
until("room_playing", lambda room: room.get("playing") is True, 8.9, "/v1/rooms/1000")
at(9.0)
out["steps"]["stop_record"] = call("DELETE", "/v1/rooms/1000/recording")
out["steps"]["stop_record_again"] = call("DELETE", "/v1/rooms/1000/recording")
# Engine statistics come with the same samples (a separate confab-mixer's every second).
until("mixer", lambda m: m.get("threads") and all(t["ticks"] > 50 for t in m["threads"]), 10.5,
      "/v1/mixer")
print(json.dumps(out))
EOF
API_PID=$!
HELPER_PIDS+=("$API_PID")

status=0
for name in A B C; do
  wait "${PHONE_PID[$name]}" || { status=$?; log "phone $name exited with status $status"; }
done
wait "$API_PID" || { status=$?; log "the API client exited with status $status: $(cat "$WORK/api.err")"; }
show_results() {
  local f
  for f in A B C api; do
    echo "[$TEST_NAME] $f: $(head -c 4000 "$WORK/$f.json" 2>/dev/null)" >&2
    [[ -s "$WORK/$f.err" ]] && head -c 2000 "$WORK/$f.err" >&2
  done
  return 0
}
[[ $status == 0 ]] || { show_results; fail "a phone or the API client failed"; }
assert_confab_alive "after the calls"
# Each caller's stay is a call detail record once they have hung up (issue 13 item 6).
python3 - "$API" >&2 <<'PY' || fail "GET /v1/records/calls"
import json, os, sys, time, urllib.request
req = urllib.request.Request(sys.argv[1] + "/v1/records/calls?room=1000",
                             headers={"Authorization": "Bearer " + os.environ["CONFAB_API_TOKEN"]})
deadline = time.time() + 10
while True:
    calls = json.load(urllib.request.urlopen(req, timeout=5))["calls"]
    if len(calls) >= 3 or time.time() > deadline:
        break
    time.sleep(0.2)
assert len(calls) == 3, calls
for c in calls:
    assert c["codec"] == "PCMU/8000" and c["disconnection"] == "departed", c
    assert c["seconds"] > 5, c
print("call records: %s" % ", ".join("%s %.1f s" % (c["callId"][:8], c["seconds"]) for c in calls))
PY
# The recording is read once its writer is gone: confab-mixer writes it in remote mode, and
# finishes the file (its header) on a thread of its own after the DELETE; both exit here.
stop_confab
assert_eq 0 "$CONFAB_STATUS" "confab's exit status after SIGTERM"

if ! python3 - "$WORK" "$ANALYZE_S" >"$WORK/verdict.txt" 2>&1 <<'EOF'; then
import json, math, struct, sys, wave, os
work, window = sys.argv[1], float(sys.argv[2])
api = json.load(open(f"{work}/api.json"))
steps, ids = api["steps"], api["ids"]
r = {n: json.loads(open(f"{work}/{n}.json").read().strip().splitlines()[-1]) for n in "ABC"}
problems = []
for step, t in api["held_at"].items():
    print(f"GET for {step} held at {t} s")

def check(ok, what):
    if not ok:
        problems.append(what)

def expect(step, status, field=None):
    code, ctype, body = steps[step]
    check(code == status, f"{step}: HTTP {code}, wanted {status}: {body}")
    if status >= 400:
        check((ctype or "").startswith("application/problem+json"),
              f"{step}: content type {ctype}, wanted application/problem+json")
        if field:
            fields = [e.get("field") for e in (body or {}).get("errors", [])]
            check(field in fields, f"{step}: the problem names {fields}, wanted {field!r}")
    return body

rec = expect("record", 201)
expect("record_again", 409)
expect("record_empty_room", 409)
expect("record_no_key", 401)
expect("mute_wrong_key", 401)
expect("record_bad_format", 400, "format")
expect("play_path", 400, "file")
expect("play_missing", 400, "file")
expect("play_not_json", 415, "Content-Type")
expect("patch_unknown", 404)
expect("patch_misspelt", 400, "mutd")
expect("patch_bad_gain", 400, "gain")
room = expect("room", 200)
parts = {p["callId"]: p for p in (room or {}).get("participants", [])}
check(set(parts) == set(ids.values()), f"GET room lists {sorted(parts)}, wanted {sorted(ids.values())}")
for n, cid in ids.items():
    p = parts.get(cid, {})
    check(p.get("codec") == "PCMU/8000", f"{n}: codec {p.get('codec')}")
    check(p.get("inMix") is True, f"{n} is not in the mix")
    check(p.get("media", {}).get("packetsReceived", 0) > 20,
          f"{n}: packetsReceived {p.get('media', {}).get('packetsReceived')}")
check(parts.get(ids["A"], {}).get("talking") is True, "A (1000 Hz) is not shown talking")
check(parts.get(ids["C"], {}).get("talking") is False, "C (silent) is shown talking")
check(room.get("recording") is True, f"room shows recording={room.get('recording')}")
mute = expect("mute", 200)
check(mute and mute.get("muted") is True, f"PATCH answered {mute}")
expect("play", 202)
playing = expect("room_playing", 200)
check(playing and playing.get("playing") is True, f"room shows playing={playing and playing.get('playing')}")
media = (playing or {}).get("media", {})
check(media.get("playbackUnderruns") == 0 and media.get("recordingDrops") == 0,
      f"a healthy machine shows no underruns or drops: {media}")
expect("stop_record", 200)
expect("stop_record_again", 409)
mixer = expect("mixer", 200)
threads = (mixer or {}).get("threads", [])
check(threads and all(t["ticks"] > 50 for t in threads), f"mixer threads: {threads}")

def present(n, f, ref=None):
    p = r[n]
    level, total = p["tones_dbov"][str(f)], p["rms_dbov"]
    print(f"{n}: {f} Hz at {level} dBov (all {total} dBov)")
    check(level >= total - 12 and level > -45, f"{n} should hear {f} Hz: {level} dBov of {total}")

def absent(n, f, ref):
    p = r[n]
    level, ref_level = p["tones_dbov"][str(f)], p["tones_dbov"][str(ref)]
    print(f"{n}: {f} Hz at {level} dBov against {ref_level} at {ref} Hz")
    check(level <= ref_level - 25, f"{n} should not hear {f} Hz: {level} dBov vs {ref_level} dBov")

for n in "ABC":
    check("error" not in r[n], f"{n}: {r[n].get('error')}")
present("C", 1500); present("C", 440); absent("C", 1000, 1500)
present("A", 1500); present("A", 440)

# The recording: 8 kHz mono 16-bit (an all-PCMU room), about 8.5 s long.
name = (rec or {}).get("file", "")
path = os.path.join(work, "data", "recordings", name)
if not name or not os.path.isfile(path):
    problems.append(f"no recording file {path}")
else:
    with wave.open(path) as w:
        rate, n = w.getframerate(), w.getnframes()
        samples = struct.unpack("<%dh" % n, w.readframes(n))
    secs = n / rate
    print(f"recording {name}: {rate} Hz, {secs:.2f} s")
    check(7.5 <= secs <= 10.0, f"the recording lasts {secs:.2f} s, the API kept it on for 8.5 s")
    def tone(segment, f):
        if not segment:
            return -200.0
        # Goertzel power of f over the segment, as dBov of a full-scale sine's RMS.
        k = 2 * math.cos(2 * math.pi * f / rate)
        s1 = s2 = 0.0
        for x in segment:
            s1, s2 = x + k * s1 - s2, s1
        power = s1 * s1 + s2 * s2 - k * s1 * s2
        amp = 2 * math.sqrt(max(power, 0)) / len(segment)
        return 20 * math.log10(max(amp / math.sqrt(2), 1e-9) / 32768)
    early = samples[int(0.5 * rate):int(1.5 * rate)]
    late = samples[-int(0.6 * rate):]
    for f, seg, where in ((1000, early, "early"), (1500, early, "early"), (440, late, "at the end")):
        level = tone(seg, f)
        print(f"recording {where}: {f} Hz at {level:.1f} dBov")
        check(level > -35, f"the recording should hold {f} Hz {where}: {level:.1f} dBov")
    check(tone(late, 1000) < tone(late, 1500) - 20, "A is in the recording after being muted")

for what in problems:
    print("PROBLEM: " + what)
sys.exit(1 if problems else 0)
EOF
  cat "$WORK/verdict.txt" >&2
  show_results
  fail "the API did not do what it said"
fi
while read -r line; do log "$line"; done <"$WORK/verdict.txt"

# The recordings of room 1000 over the API (issue 13 item 2), from a confab started afresh on the
# same data: what it lists comes from the folder, not from memory.
rec_name="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["steps"]["record"][2]["file"])' "$WORK/api.json")"
start_confab
wait_api_address
auth=(-H "Authorization: Bearer $CONFAB_API_TOKEN")
list="$(curl -sS -f "${auth[@]}" "$API/v1/rooms/1000/recordings")" || fail "GET recordings"
python3 - "$list" "$rec_name" "$(stat -c %s "$WORK/data/recordings/$rec_name")" <<'PY' ||
import json, sys
got, name, size = json.loads(sys.argv[1])["recordings"], sys.argv[2], int(sys.argv[3])
assert [r["name"] for r in got] == [name], got
r = got[0]
assert r["format"] == "wav" and r["bytes"] == size and r["recording"] is False, r
assert r["started"].endswith("Z"), r
PY
  fail "the list is not the one recording: $list"
code="$(curl -sS "${auth[@]}" -D "$WORK/download.head" -o "$WORK/download.wav" -w '%{http_code}' \
  "$API/v1/rooms/1000/recordings/$rec_name")"
assert_eq 200 "$code" "GET the recording"
grep -qi '^content-type: audio/wav' "$WORK/download.head" || fail "download: $(cat "$WORK/download.head")"
grep -qi "^content-disposition: attachment; filename=\"$rec_name\"" "$WORK/download.head" ||
  fail "download: no attachment header"
cmp -s "$WORK/download.wav" "$WORK/data/recordings/$rec_name" || fail "the download is not the file"
python3 - "$WORK/download.wav" <<'PY' >&2 || fail "the download is not a WAV with sound in it"
import math, struct, sys, wave
with wave.open(sys.argv[1]) as w:
    assert w.getnchannels() == 1 and w.getsampwidth() == 2, w.getparams()
    n = w.getnframes()
    samples = struct.unpack("<%dh" % n, w.readframes(n))
    secs = n / w.getframerate()
rms = math.sqrt(sum(x * x for x in samples) / max(n, 1))
dbov = 20 * math.log10(max(rms, 1e-9) / 32768)
print(f"downloaded recording: {secs:.2f} s at {dbov:.1f} dBov RMS")
assert secs > 7 and dbov > -40, (secs, dbov)
PY
code="$(curl -sS "${auth[@]}" -r 100-199 -o "$WORK/range.bin" -w '%{http_code}' \
  "$API/v1/rooms/1000/recordings/$rec_name")"
assert_eq 206 "$code" "GET a range of the recording"
cmp -s "$WORK/range.bin" <(tail -c +101 "$WORK/download.wav" | head -c 100) || fail "the range's bytes"
code="$(curl -sS "${auth[@]}" -o /dev/null -w '%{http_code}' \
  "$API/v1/rooms/1000/recordings/..%2Fpolicy.db")"
assert_eq 404 "$code" "a path for a recording's name"
code="$(curl -sS "${auth[@]}" -X DELETE -o /dev/null -w '%{http_code}' \
  "$API/v1/rooms/1000/recordings/$rec_name")"
assert_eq 204 "$code" "DELETE the recording"
[[ ! -e "$WORK/data/recordings/$rec_name" ]] || fail "the recording is still on disk"
list="$(curl -sS -f "${auth[@]}" "$API/v1/rooms/1000/recordings")" || fail "GET recordings"
assert_eq '{"recordings":[]}' "$list" "the list after the delete"
log "recording listed, downloaded (whole and a range), deleted"
stop_confab
assert_eq 0 "$CONFAB_STATUS" "confab's exit status after SIGTERM"
log "PASS"
