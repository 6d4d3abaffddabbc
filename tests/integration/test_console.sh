#!/usr/bin/env bash
# The web console (issue 16) in a real browser: headless Chromium, driven over the DevTools
# protocol (browser.py, console_driver.py), against the real confab, with callers in room 1000:
#   A  audio_phone.py, 1000 Hz, display name 'Alice <img src=x onerror=alert(1)><script>alert(2)</script>'
#   B  audio_phone.py, 1500 Hz
#   C  audio_phone.py, silent; what it hears in its last 2 s is judged
#   D  SIPp (scenarios/bye_from_focus.xml): waits for the focus's BYE
#   E  SIPp's built-in UAS, called from the page's Dial out; hung up by the page's End meeting
# With a tenant's key, the page must: refuse a wrong key; list room 1000 with 4 in it; show the
# four in the roster with A's display name as text (no script runs, no image loads); light A's
# and B's talking indicators and not C's; record; show A muted within a second of the click on
# Mute (and C must then hear B and not A); remove D (SIPp gets its BYE, the row goes); download
# the recording (a WAV with sound in it); lock the room and make C a moderator (the API shows both); dial E out (it joins the roster);
# once the phones have hung up, deafen E and Mute all (the API shows both), end the meeting (E
# gets its BYE, the roster empties); fit a phone's width; save a PIN and a rule through the room
# editor, and refuse to save over an edit made meanwhile (412); create a room; and sign out,
# saying why, within seconds of the operator revoking its key (the server closes the stream). It writes a screenshot of each page (sign-in, rooms, room, room
# muted, room on a phone, editor, room ended) to CONFAB_SCREENSHOTS (default: console-screenshots in the
# directory the test runs in).
source "$(dirname "$0")/lib.sh"
integ_init "$@"
require_tool chromium
require_tool sipp

MEDIA_S=16
ANALYZE_S=2
LEAD_S=3
MUTE_AT=9  # seconds into the media: C's judged window starts at 14

start_confab_api --log-level debug
log "API at $API"

# A tenant's key, as an organizer has (the default tenant holds room 1000).
issued="$(curl -sf -X POST "$API/v1/keys" -H "Authorization: Bearer $CONFAB_API_TOKEN" \
  -H 'Content-Type: application/json' -d '{"tenant":1,"name":"console"}')" ||
  fail "POST /v1/keys for tenant 1"
read -r TENANT_KEY KEY_ID < <(python3 -c 'import json, sys; k = json.load(sys.stdin); print(k["token"], k["id"])' <<<"$issued")

start_at="$(python3 -c "import time; print(f'{time.time() + $LEAD_S:.3f}')")"
budget=$((LEAD_S + MEDIA_S + 60))
PHONE_DETECT=1000,1500  # what start_phone (lib.sh) measures
start_phone A --freq 1000 --display-name 'Alice <img src=x onerror=alert(1)><script>alert(2)</script>'
start_phone B --freq 1500
start_phone C --freq 0
start_sipp guest "$budget" -sf "$INTEG_DIR/scenarios/bye_from_focus.xml" -s 1000 -m 1
GUEST_PID=$SIPP_PID
start_sipp callee "$budget" -sn uas -m 1 -mi 127.0.0.1 -rtp_echo  # media back: no media timeout
CALLEE_PID=$SIPP_PID
CALLEE_URI="sip:callee@127.0.0.1:$SIPP_PORT"

CONSOLE_KEY_ID="$KEY_ID" CONSOLE_OPERATOR_TOKEN="$CONFAB_API_TOKEN" \
  timeout -k 5 "$budget" python3 "$INTEG_DIR/console_driver.py" "$API" "$TENANT_KEY" "$WORK" \
  "$start_at" "$MUTE_AT" "$CALLEE_URI" >"$WORK/browser.json" 2>"$WORK/browser.err" &
DRIVER_PID=$!
HELPER_PIDS+=("$DRIVER_PID")

status=0
for name in A B C; do
  wait "${PHONE_PID[$name]}" || { status=$?; log "phone $name exited with status $status"; }
done
wait "$DRIVER_PID" || { status=$?; log "the browser driver exited with status $status"; }
finish_sipp guest "$GUEST_PID"
GUEST_STATUS=$SIPP_STATUS
finish_sipp callee "$CALLEE_PID"
CALLEE_STATUS=$SIPP_STATUS

shots="${CONFAB_SCREENSHOTS:-$PWD/console-screenshots}"
mkdir -p "$shots"
cp "$WORK"/screenshots/*.png "$shots"/ 2>/dev/null || true
log "screenshots in $shots: $(cd "$shots" && ls ./*.png 2>/dev/null | tr '\n' ' ')"

show_results() {
  local f
  for f in A B C browser; do
    echo "[$TEST_NAME] $f: $(head -c 6000 "$WORK/$f.json" 2>/dev/null)" >&2
    [[ -s "$WORK/$f.err" ]] && head -c 3000 "$WORK/$f.err" >&2
  done
  tail -n 20 "$WORK/chromium/chromium.log" >&2 2>/dev/null
  return 0
}
[[ $status == 0 ]] || { show_results; fail "a phone or the browser driver failed"; }
assert_confab_alive "after the meeting"
SIPP_STATUS=$GUEST_STATUS assert_sipp_clean guest 1
SIPP_STATUS=$CALLEE_STATUS assert_sipp_clean callee 1

if ! python3 - "$WORK" "$MEDIA_S" "$ANALYZE_S" >"$WORK/verdict.txt" 2>&1 <<'PY'; then
import json, struct, sys, wave
work, media_s, window = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
b = json.load(open(f"{work}/browser.json"))
r = {n: json.loads(open(f"{work}/{n}.json").read().strip().splitlines()[-1]) for n in "ABC"}
problems = []
def check(ok, what):
    if not ok:
        problems.append(what)
check("error" not in b, f"the browser run stopped: {b.get('error')}")
check(b.get("wrong_key_stored") == 0, "a refused key stayed in session storage")
check(b.get("key_in_local_storage") == 0 and b.get("key_in_session_storage") is True,
      "the key is not in session storage alone")
alice = "Alice <img src=x onerror=alert(1)><script>alert(2)</script>"
check(alice in b.get("roster_names", []), f"A's display name is not shown as text: {b.get('roster_names')}")
check(b.get("scripts_in_page") == 1 and b.get("images_in_page") == 0,
      f"a display name became markup: {b.get('scripts_in_page')} scripts, {b.get('images_in_page')} images")
check(b.get("d_call_id"), "the SIPp caller was not in the roster")
check(b.get("a_codec", "").startswith("PCMU/8000"), f"A's codec shows as {b.get('a_codec')!r}")
check(b.get("a_uri", "").startswith("sip:tester@127.0.0.1:"), f"A's URI shows as {b.get('a_uri')!r}")
check(b.get("steps", {}).get("mute_shown", 99) <= 1.0,
      f"A showed muted {b.get('steps', {}).get('mute_shown')} s after the click (goal: within 1 s)")
check(b.get("locked") is True and b.get("c_role") == "moderator",
      f"after Lock and the role: locked {b.get('locked')}, C is {b.get('c_role')}")
check(b.get("steps", {}).get("end_shown", 99) <= 1.0,
      f"the roster emptied {b.get('steps', {}).get('end_shown')} s after End meeting")
check(b.get("steps", {}).get("dial_shown", 99) <= 5.0,
      f"the called party showed {b.get('steps', {}).get('dial_shown')} s after Call")
check(b.get("steps", {}).get("kick_shown", 99) <= 1.0,
      f"D left the roster {b.get('steps', {}).get('kick_shown')} s after the click (goal: within 1 s)")
check(b.get("api_says_a_muted") is True, "the API does not show A muted")
check(any(": muted" in line for line in b.get("activity", [])), "no mute in the activity log")
check(b.get("muted_at", 99) <= media_s - window - 2, f"the mute came at {b.get('muted_at')} s: too late to judge")
check(b.get("phone_overflows") is False, "the room page is wider than a phone's screen")
check(b.get("saved") == {"pin": True, "announceCount": True}, f"the editor saved {b.get('saved')}")
check(b.get("new_room") == "Board <b>room</b>", f"the new room is named {b.get('new_room')!r}")
check(b.get("e_after_buttons") == {"deaf": True, "muted": True},
      f"after Deafen and Mute all the API shows the called party as {b.get('e_after_buttons')}")
check(b.get("name_after_conflict") == "Renamed elsewhere" and
      "open it again" in b.get("conflict_notice", ""),
      f"a save over someone else's edit: name {b.get('name_after_conflict')!r}, notice {b.get('conflict_notice')!r}")
check(b.get("steps", {}).get("revoked_signed_out", 99) <= 4.0 and
      "key was refused" in b.get("revoked_notice", "") and b.get("key_kept_after_revoke") == 0,
      f"after the key was revoked: signed out in {b.get('steps', {}).get('revoked_signed_out')} s, "
      f"notice {b.get('revoked_notice')!r}, {b.get('key_kept_after_revoke')} items kept")
check(not b.get("page_problems"), f"the page logged errors: {b.get('page_problems')}")
check(len(b.get("screenshots", [])) == 7, f"{len(b.get('screenshots', []))} screenshots of 7")
# What C heard after the mute: B, and not A (levels in dBov from the phone's own analysis).
for n in "ABC":
    check("error" not in r[n], f"{n}: {r[n].get('error')}")
c = r["C"].get("tones_dbov", {"1000": 0.0, "1500": -200.0})
check(c["1500"] >= r["C"].get("rms_dbov", 0) - 12 and c["1500"] > -45, f"C did not hear B after A's mute: {c}")
check(c["1000"] <= c["1500"] - 25, f"C still heard A after the mute: {c}")
# The downloaded recording: a WAV with sound.
path = b.get("downloaded")
if not path:
    problems.append("the recording was not downloaded")
else:
    with wave.open(path) as w:
        frames = w.readframes(w.getnframes())
        samples = struct.unpack(f"<{len(frames) // 2}h", frames)
        rms = (sum(s * s for s in samples) / max(1, len(samples))) ** 0.5
        seconds = w.getnframes() / w.getframerate()
        check(seconds > 2 and rms > 100, f"the recording is {seconds:.1f} s with RMS {rms:.0f}")
print("timings:", json.dumps(b.get("steps")), "muted at", b.get("muted_at"), "C heard", c)
if problems:
    print("\n".join(problems))
    sys.exit(1)
PY
  show_results
  cat "$WORK/verdict.txt" >&2
  fail "the console did not do what it should"
fi
cat "$WORK/verdict.txt" >&2
stop_confab
assert_eq 0 "$CONFAB_STATUS" "confab's exit status after SIGTERM"
log "PASS"
