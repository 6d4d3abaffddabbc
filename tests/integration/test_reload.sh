#!/usr/bin/env bash
# SIGHUP reloads the configuration without dropping calls (issue 14 item 2), on the real binary
# with a --config file, while a SIPp call stays up through it all:
#   1. a room added to the file is there after the reload (an INVITE to it: 404 before, 200
#      after), the log level goes from info to debug (SIP summary lines appear), and a change
#      that needs a restart (sip-t1-ms) is named as such;
#   2. a lower calls-per-source applies to the next call (503 Too Many Calls) and not to the one
#      up;
#   3. a file that no longer parses changes nothing: confab says so and keeps answering;
#   4. the SIPp call ends normally (its BYE answered 200): no reload dropped it.
source "$(dirname "$0")/lib.sh"
integ_init "$@"
export INTEG_DIR

conf="$WORK/confab.conf"
printf 'log-level = info\nroom = 1000\ncalls-per-source = 20\n' >"$conf"
start_confab --config "$conf"

# invite ROOM: the final status of an INVITE to ROOM from a new UDP socket; a 200 is ACKed and
# the call ended with BYE at once.
invite() {
  python3 - "$SIP_PORT" "$1" <<'PYEOF'
import os, socket, sys
sys.path.insert(0, os.environ["INTEG_DIR"])
from sipclient import Dialog, Response, is_request, sdp_offer
port, room = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(5)
d = Dialog("UDP", "127.0.0.1", s.getsockname()[1], room, "127.0.0.1", port)
s.sendto(d.request("INVITE", sdp_offer(), branch_param="z9hG4bKreload" + d.call_id[:8]), ("127.0.0.1", port))
while True:
    msg = s.recv(65536)
    if not is_request(msg) and Response(msg).status >= 200:
        break
r = Response(msg)
d.to_tag = r.to_tag()
if r.status == 200:
    contact = r.header("contact") or ""
    d.remote_target = contact[contact.find("<") + 1:contact.find(">")] if "<" in contact else contact
    s.sendto(d.request("ACK"), ("127.0.0.1", port))
    d.cseq = 2
    s.sendto(d.request("BYE"), ("127.0.0.1", port))
else:
    s.sendto(d.request("ACK", branch_param="z9hG4bKreload" + d.call_id[:8]), ("127.0.0.1", port))
print(r.status, r.reason)
PYEOF
}

# hangup_and_wait: SIGHUP, then waits for confab's next "configuration reloaded" or "reload
# refused" line.
reloads() { grep -c 'configuration reloaded\|reload refused' "$CONFAB_LOG" || true; }
hangup_and_wait() {
  local before
  before=$(reloads)
  kill -HUP "$CONFAB_PID"
  local deadline=$((SECONDS + 10))
  until (($(reloads) > before)); do
    ((SECONDS < deadline)) || fail "confab did not report the reload"
    sleep 0.1
  done
  assert_confab_alive "after SIGHUP"
}

# The call that stays up: SIPp's built-in UAC, 12 s long, then its own BYE.
start_sipp long 40 -sn uac -s 1000 -m 1 -d 12000 -trace_msg -message_file "$WORK/long_messages.log"
long_pid=$SIPP_PID
wait_for_line "$WORK/long_messages.log" '^ACK ' 10 "the long call did not come up"
log "the long call is up"

# --- 1. A room, the log level, and an option that needs a restart. ------------------------------
status="$(invite 2000)"
log "INVITE to 2000 before the reload: $status"
[[ "$status" == 404* ]] || fail "room 2000 answered '$status' before it was configured (want 404)"
! grep -q 'confab: debug:' "$CONFAB_LOG" || fail "debug lines in confab's log at level info"
printf 'log-level = debug\nroom = 1000\nroom = 2000:Sales\ncalls-per-source = 20\nsip-t1-ms = 400\n' >"$conf"
hangup_and_wait
line="$(grep 'configuration reloaded' "$CONFAB_LOG" | tail -n 1)"
log "$line"
applied="${line#*applied }"
applied="${applied%%;*}"
[[ ", $applied," == *", log-level,"* && ", $applied," == *", room,"* ]] ||
  fail "the reload did not apply log-level and room: $line"
[[ "$line" == *"needs a restart: sip-t1-ms"* ]] || fail "the reload did not name sip-t1-ms as needing a restart"
assert_file_contains "$CONFAB_LOG" "room 2000 added to tenant default" "confab's log"
status="$(invite 2000)"
log "INVITE to 2000 after the reload: $status"
[[ "$status" == 200* ]] || fail "room 2000 answered '$status' after the reload (want 200)"
assert_file_contains "$CONFAB_LOG" "confab: debug: <<< INVITE" "confab's log at level debug"

# --- 2. A lower calls-per-source: for the next call only. ----------------------------------------
printf 'log-level = debug\nroom = 1000\nroom = 2000:Sales\ncalls-per-source = 1\nsip-t1-ms = 400\n' >"$conf"
hangup_and_wait
line="$(grep 'configuration reloaded' "$CONFAB_LOG" | tail -n 1)"
[[ "$line" == *"applied calls-per-source"* ]] || fail "the reload did not apply calls-per-source: $line"
status="$(invite 1000)"
log "a second call from 127.0.0.1 with calls-per-source 1: $status"
[[ "$status" == 503* ]] || fail "the second call from one address answered '$status' (want 503)"

# --- 3. A file that does not parse. --------------------------------------------------------------
printf 'log-level = loud\nroom = 1000\n' >"$conf"
hangup_and_wait
assert_file_contains "$CONFAB_LOG" "reload refused, the running configuration stays" "confab's log"
status="$(invite 2000)"
[[ "$status" == 503* ]] || fail "after a refused reload the limits changed: '$status' (want 503 still)"

# --- 4. The long call was never dropped. ---------------------------------------------------------
finish_sipp long "$long_pid"
assert_sipp_clean long 1
stop_confab
assert_eq 0 "$CONFAB_STATUS" "exit status"
log "PASS"
