#!/usr/bin/env bash
# Issue 11 over the real binary: rooms from the policy store, PINs, the lobby and room rules.
# Phones (pin_phone.py) send tones and keys and report what they heard every 0.5 s; the prompts are
# the ones scripts/make-prompts.sh speaks with espeak-ng. A tone counts as heard above -30 dBov
# (it is sent at -20) and as not heard below -35 (speech in a prompt reaches -42 at any one
# frequency; with no prompt the level is below -45). Checked:
#   - a tenant added with `confab tenant add` while the server runs owns its domain: its room
#     4000 is reached at 4000@acme.test, not at 4000@127.0.0.1 (404, the default tenant's);
#   - PIN by SIP INFO (moderator PIN) and by RFC 4733 (participant PIN): the caller hears the
#     prompt, the room does not hear them until the PIN is right, then they hear each other;
#   - three wrong PINs: prompts, then BYE from confab; the caller never heard the room;
#   - the lobby: meeting number then PIN, then into the room;
#   - a locked room sends a caller with the right PIN away (prompt, BYE);
#   - mute on entry: the others hear nothing of the newcomer until they press *6;
#   - a listen-only PIN: the caller hears the room and is never heard, *6 or not;
#   - wait for moderator: a participant waits (hears the prompt, not the room) until the
#     moderator comes, then they hear each other; when the last moderator leaves, confab ends
#     the conference for the others (BYE);
#   - rooms and tenants are still there after a restart.
source "$(dirname "$0")/lib.sh"
integ_init "$@"
require_tool python3
require_tool espeak-ng

ROOT="$(cd "$INTEG_DIR/../.." && pwd)"
PHONE="$INTEG_DIR/pin_phone.py"
DATA="$WORK/data"
bash "$ROOT/scripts/make-prompts.sh" "$DATA/sounds" >/dev/null || fail "make-prompts.sh failed"

admin() { "$CONFAB_BIN" "$@" --data-dir "$DATA"; }

CONFAB_RTP_PORTS="$(free_rtp_range 400)"
start_confab --log-level debug
# While it runs (the store is shared through SQLite's WAL): a tenant with its own domain.
admin tenant add acme --domain acme.test >/dev/null || fail "tenant add"
admin room add acme 4000 --pin 1234 --moderator-pin 9999 --no-tones >/dev/null || fail "room 4000"
admin room add acme 4001 --pin 1234 --locked --no-tones >/dev/null || fail "room 4001"
admin room add acme 4002 --mute-on-entry --no-tones >/dev/null || fail "room 4002"
admin room add acme 4003 --pin 1111 --moderator-pin 2222 --wait-for-moderator \
  --end-with-moderator --no-tones >/dev/null || fail "room 4003"
admin room add acme 4004 --pin 1111 --listener-pin 3333 --no-tones >/dev/null || fail "room 4004"
admin room add acme 4005 --pin 1111 --moderator-pin 2222 --announce-count --max-participants 3 \
  >/dev/null || fail "room 4005"  # entry and exit tones on (the default)

# phone NAME [pin_phone options...]: runs a phone in the background, its JSON line in
# $WORK/NAME.json.
phone() {
  local name=$1
  shift
  timeout -k 5 60 python3 "$PHONE" --port "$SIP_PORT" --from-user "$name" "$@" \
    >"$WORK/$name.json" 2>"$WORK/$name.err" &
  HELPER_PIDS+=($!)
}

# judge PYTHON-EXPRESSIONS: loads every phone's JSON as a dict named after it and runs the checks
# (a failed `check` prints what was measured and exits 1).
judge() {
  python3 - "$WORK" "$@" <<'EOF'
import json, math, os, sys
work = sys.argv[1]
phones = {}
for f in os.listdir(work):
    if f.endswith(".json"):
        text = open(os.path.join(work, f)).read().strip()
        phones[f[:-5]] = json.loads(text) if text else {"error": "no output"}
failed = []

def level(w, freq):
    # pin_phone names each detected frequency as given (440 or 523.25)
    for k, v in w["tones"].items():
        if int(float(k)) == int(freq):
            return v
    return -200.0

def tone(p, freq, t0, t1, how=max):
    vals = [level(w, freq) for w in phones[p]["windows"] if t0 <= w["t"] < t1]
    return how(vals) if vals else -200.0

def rms(p, t0, t1, how=max):
    vals = [w["rms"] for w in phones[p]["windows"] if t0 <= w["t"] < t1]
    return how(vals) if vals else -200.0

def check(ok, what):
    if not ok:
        failed.append(what)

env = {"phones": phones, "tone": tone, "rms": rms, "check": check}
for expr in sys.argv[2:]:
    try:
        exec(expr, env)
    except Exception as e:  # a phone without output or windows
        failed.append(expr + ": " + repr(e))
for f in failed:
    print("FAILED:", f, file=sys.stderr)
if failed:
    for name, p in sorted(phones.items()):
        summary = {k: v for k, v in p.items() if k != "windows"}
        print(name, json.dumps(summary), file=sys.stderr)
        for w in p.get("windows", []):
            print("  ", name, w["t"], round(w["rms"], 1), {k: round(v, 1) for k, v in w["tones"].items()}, file=sys.stderr)
    sys.exit(1)
EOF
}

wait_phones() {
  local pid
  for pid in "${HELPER_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  HELPER_PIDS=()
}

log "round 1: PINs by INFO and RFC 4733, three wrong PINs, the lobby, a locked room, tenants"
# The moderator (silent, listening for 660 Hz) keys 9999# by SIP INFO; the participant (660 Hz)
# comes a second later and keys 1234# as RFC 4733 events. A guesser keys three wrong PINs. A lobby
# caller keys the meeting number then the PIN. A caller to the locked room has the right PIN.
phone mod --room 4000 --domain acme.test --dtmf-method info --keys "9999#@2" --detect 660 \
  --duration 16
sleep 1
phone part --room 4000 --domain acme.test --keys "1234#@2" --freq 660 --detect 660 --duration 15
phone guess --room 4000 --domain acme.test --keys "1111#@1.5,2222#@5.5,3333#@9.5" --detect 660 \
  --duration 25
phone lobby --room lobby --domain acme.test --keys "4000#@2.5,1234#@7" --detect 660 --duration 13
phone locked --room 4001 --domain acme.test --keys "1234#@2" --duration 20
phone other --room 4000 --domain 127.0.0.1 --duration 2
wait_phones
judge \
  'check(phones["other"]["status"] == 404, "4000@127.0.0.1 is not acme'"'"'s room")' \
  'for p in ("mod", "part", "guess", "lobby", "locked"): check(phones[p]["status"] == 200, p + " answered")' \
  'check(rms("mod", 0.5, 2.0) > -45, "the moderator hears the PIN prompt")' \
  'check(rms("part", 0.5, 2.0) > -45, "the participant hears the PIN prompt")' \
  'check(tone("mod", 660, 0, 3.5) < -35, "the room does not hear a caller keying their PIN")' \
  'check(tone("mod", 660, 7, 12, min) > -30, "moderator and participant hear each other")' \
  'check(tone("guess", 660, 0, 30) < -35, "a caller with a wrong PIN never hears the room")' \
  'check(rms("guess", 0.5, 1.5) > -45, "the guesser hears the prompt")' \
  'check(phones["guess"]["bye_from_far_end_at"] is not None and 10 < phones["guess"]["bye_from_far_end_at"] < 22, "three wrong PINs: BYE from confab")' \
  'check(tone("lobby", 660, 0, 7) < -35, "the lobby caller hears no room before the PIN")' \
  'check(tone("lobby", 660, 10, 12.5, min) > -30, "the lobby caller got into room 4000")' \
  'check(phones["locked"]["bye_from_far_end_at"] is not None and phones["locked"]["bye_from_far_end_at"] < 10, "a locked room sends the caller away")' \
  'check(phones["mod"]["info_statuses"] == [200] * 5, "INFO keys answered 200")'
grep -q "pressed 9" "$CONFAB_LOG" || fail "the INFO key 9 did not reach the focus"

log "round 2: mute on entry and *6; wait for the moderator; the last moderator leaves"
# The first caller to 4002 listens for 880 Hz and presses # at 3 s (the count, told to them
# alone); the second sends 880 Hz, joins muted and unmutes with *6 at 6 s. In 4003 a participant (440 Hz) waits; the moderator (listening for 440 Hz)
# comes 5 s later, and leaves at 12 s: the participant is sent away.
phone listen --room 4002 --domain acme.test --keys "#@3" --detect 880 --duration 13
sleep 0.5
phone muted --room 4002 --domain acme.test --freq 880 --keys "*6@6" --duration 11
phone waiter --room 4003 --domain acme.test --keys "1111#@1.5" --freq 440 --detect 440 \
  --duration 30
sleep 5
phone chair --room 4003 --domain acme.test --keys "2222#@1.5" --detect 440 --duration 10
# In 4004 a participant listens for 550 Hz while a listener (listen-only PIN) sends it and tries
# to unmute with *6; a second participant sends 330 Hz, which the listener must hear.
phone hearer --room 4004 --domain acme.test --keys "1111#@1.5" --detect 550 --detect 330 \
  --duration 12
phone talker --room 4004 --domain acme.test --keys "1111#@1.5" --freq 330 --duration 12
phone listener --room 4004 --domain acme.test --keys "3333#@1.5,*6@5" --freq 550 --detect 330 \
  --duration 11
wait_phones
judge \
  'check(tone("listen", 880, 1, 6) < -35, "a caller muted on entry is not heard")' \
  'check(rms("listen", 3.5, 5.5) > -45, "# tells the caller how many are in the conference")' \
  'check(tone("listen", 880, 8.5, 11, min) > -30, "after *6 they are heard")' \
  'check(tone("chair", 440, 0, 2.5) < -45, "the moderator hears nobody before their PIN")' \
  'check(tone("chair", 440, 5, 9.5, min) > -30, "the waiting participant joins with the moderator")' \
  'check(rms("waiter", 3.5, 5) > -45, "the waiting participant hears the wait prompt")' \
  'check(phones["waiter"]["bye_from_far_end_at"] is not None and phones["waiter"]["bye_from_far_end_at"] < 25, "the conference ends with its last moderator")' \
  'check(tone("hearer", 550, 0, 12) < -35, "a listener is never heard, not even after *6")' \
  'check(tone("hearer", 330, 5, 10, min) > -30, "the participants hear each other")' \
  'check(tone("listener", 330, 5, 10, min) > -30, "a listener hears the room")'

log "round 3: tones, the count, *1 lock and unlock, a full room, *9"
# In 4005 (tones, the count announced, 3 participants at most) the moderator listens for the
# entry and exit tones (C5 523 Hz, G5 784 Hz) and for 350 Hz, locks at 8 s and unlocks at 14 s, mutes everyone at
# 18 s. The participant (350 Hz) joins a second later and hears the count. A caller at 10 s finds
# it locked; of two at 15 s and 15.5 s the second finds it full. The entry tone is looked for
# in the 6 s after the participant keyed its PIN (by both phones' clocks: under the sanitizers
# its call has been answered 4 s late), not before 4 s (the moderator's own entry) nor after
# 13.5 s (the unlock at 14 s lets others in).
rm -f "$WORK"/*.json
phone chair3 --room 4005 --domain acme.test --dtmf-method info --keys "2222#@1.5,*1@8,*1@14,*9@18" \
  --detect 523.25 --detect 783.99 --detect 350 --duration 28
sleep 1
phone part3 --room 4005 --domain acme.test --keys "1111#@1.5" --freq 350 --duration 24
sleep 9
phone late3 --room 4005 --domain acme.test --keys "1111#@1.5" --duration 12
sleep 5
phone fits3 --room 4005 --domain acme.test --keys "1111#@1.5" --duration 10
sleep 0.5
phone full3 --room 4005 --domain acme.test --keys "1111#@1.5" --duration 10
wait_phones
judge \
  'j = max(4.0, phones["part3"]["t0_wall"] + 1.5 - phones["chair3"]["t0_wall"]); check(tone("chair3", 523, j, min(j + 6, 13.5)) > -40, "the room hears the entry tone (looked for from %.1f s)" % j)' \
  'check(tone("chair3", 350, 7, 8, min) > -30, "moderator and participant hear each other")' \
  'check(rms("part3", 3, 6) > -45, "the newcomer hears the count")' \
  'check(phones["late3"]["bye_from_far_end_at"] is not None and phones["late3"]["bye_from_far_end_at"] < 10, "*1 locked the conference")' \
  'check(phones["fits3"]["bye_from_far_end_at"] is None, "*1 again unlocked it")' \
  'check(phones["full3"]["bye_from_far_end_at"] is not None and phones["full3"]["bye_from_far_end_at"] < 10, "a full conference sends the next caller away")' \
  'check(tone("chair3", 350, 20, 24) < -45, "*9 muted the participants")' \
  'check(tone("chair3", 783, 24.5, 27.5) > -40, "the room hears the exit tone")'

log "restart: the store keeps tenants and rooms"
stop_confab
admin room list acme | grep -q "^4003 " || fail "room 4003 gone after the restart"
start_confab --log-level debug
rm -f "$WORK"/*.json
phone again --room 4002 --domain acme.test --duration 2
phone deflt --room 1000 --domain 127.0.0.1 --duration 2
wait_phones
judge \
  'check(phones["again"]["status"] == 200, "acme room 4002 after the restart")' \
  'check(phones["deflt"]["status"] == 200, "the default tenant room 1000 after the restart")'
stop_confab
log "PASS"
