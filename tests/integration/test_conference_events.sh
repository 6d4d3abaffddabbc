#!/usr/bin/env bash
# The rooms' event packages with SIPp and the real binary (issue 12 items 2, 6).
#   1. A watcher subscribes to room 1000's conference state (RFC 4575) and a busy-lamp to its
#      presence, both over UDP; a caller joins, puts the room on hold, resumes, and hangs up.
#      The watcher gets the whole state, then partials with versions 1, 2, 3 ... showing the
#      caller dialing in, connected, on hold and disconnected (departed), and the subscription
#      terminated (noresource) when the conference ends. The lamp sees closed, open, closed,
#      then unsubscribes; a key on the dialog package (RFC 4235) sees no dialog, one confirmed,
#      none. Every body is valid against the RFCs' schemas (docs/schema).
#   2. Hostile and refused: an unknown event package gets 489 with Allow-Events; a SUBSCRIBE
#      flood from one address gets 503 once over the rate, and confab stays up.
source "$(dirname "$0")/lib.sh"
integ_init "$@"
require_tool xmllint
start_confab

start_sipp watch 60 -sf "$SCENARIOS/watch_conference.xml" -s 1000 -m 1 -t u1 \
  -trace_msg -message_file "$WORK/watch_messages.log"
watch_pid=$SIPP_PID
start_sipp lamp 60 -sf "$SCENARIOS/watch_presence.xml" -s 1000 -m 1 -t u1 \
  -trace_msg -message_file "$WORK/lamp_messages.log"
lamp_pid=$SIPP_PID
start_sipp key 60 -sf "$SCENARIOS/watch_dialog.xml" -s 1000 -m 1 -t u1 \
  -trace_msg -message_file "$WORK/key_messages.log"
key_pid=$SIPP_PID

notifies() { grep -c '^NOTIFY ' "$WORK/$1_messages.log" 2>/dev/null || true; }
deadline=$((SECONDS + 15))
until [[ "$(notifies watch)" -ge 1 && "$(notifies lamp)" -ge 1 && "$(notifies key)" -ge 1 ]]; do
  ((SECONDS < deadline)) ||
    fail "no first NOTIFY within 15s (watch $(notifies watch), lamp $(notifies lamp), key $(notifies key))"
  sleep 0.1
done
log "all three subscribed; a caller joins, holds, resumes, leaves"

run_sipp caller 30 -sf "$SCENARIOS/reinvite_hold.xml" -s 1000 -m 1 -t u1
assert_sipp_clean caller 1

finish_sipp watch "$watch_pid"
assert_sipp_clean watch 1
finish_sipp lamp "$lamp_pid"
assert_sipp_clean lamp 1
finish_sipp key "$key_pid"
assert_sipp_clean key 1

python3 "$INTEG_DIR/notify_log.py" conference "$WORK/watch_messages.log" "$WORK/conference" >&2 ||
  fail "the conference NOTIFYs are not what RFC 4575 asks for"
python3 "$INTEG_DIR/notify_log.py" presence "$WORK/lamp_messages.log" "$WORK/presence" >&2 ||
  fail "the presence NOTIFYs are not right"
python3 "$INTEG_DIR/notify_log.py" dialog "$WORK/key_messages.log" "$WORK/dialog" >&2 ||
  fail "the dialog-package NOTIFYs are not right"
"$INTEG_DIR/validate_xml.sh" dialog-info.xsd "$WORK"/dialog/*.xml >&2 ||
  fail "a dialog-info body is not valid against RFC 4235's schema"
"$INTEG_DIR/validate_xml.sh" conference-info.xsd "$WORK"/conference/*.xml >&2 ||
  fail "a conference-info body is not valid against RFC 4575's schema"
"$INTEG_DIR/validate_xml.sh" pidf.xsd "$WORK"/presence/*.xml >&2 ||
  fail "a presence body is not valid against RFC 3863's schema"
log "$(ls "$WORK"/conference/*.xml | wc -l) conference-info, $(ls "$WORK"/presence/*.xml | wc -l) PIDF and $(ls "$WORK"/dialog/*.xml | wc -l) dialog-info bodies valid"

# 2. Refused.
python3 - "$SIP_PORT" >&2 <<'PY' || fail "refusals"
import socket, sys, time, uuid
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
local = "127.0.0.1:%d" % s.getsockname()[1]
def subscribe(event):
    cid = uuid.uuid4().hex
    s.sendto(("SUBSCRIBE sip:1000@127.0.0.1:%d SIP/2.0\r\n"
              "Via: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\nMax-Forwards: 70\r\n"
              "From: <sip:flood@127.0.0.1>;tag=%s\r\nTo: <sip:1000@127.0.0.1>\r\n"
              "Call-ID: %s\r\nCSeq: 1 SUBSCRIBE\r\nContact: <sip:flood@%s>\r\n"
              "Event: %s\r\nExpires: 60\r\nContent-Length: 0\r\n\r\n"
              % (port, local, cid, cid[:8], cid, local, event)).encode(), ("127.0.0.1", port))
    return cid
def status_of(cid, wait=5.0):
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        s.settimeout(deadline - time.monotonic())
        try:
            data = s.recv(65535).decode("utf-8", "replace")
        except socket.timeout:
            break
        if data.startswith("SIP/2.0 ") and ("Call-ID: " + cid) in data:
            return int(data.split()[1]), data
        if data.startswith("NOTIFY "):  # answer the NOTIFYs of the ones accepted
            head = data.split("\r\n\r\n")[0].split("\r\n")
            keep = [h for h in head[1:] if h.split(":")[0].lower() in ("via", "from", "to", "call-id", "cseq")]
            s.sendto(("SIP/2.0 200 OK\r\n" + "\r\n".join(keep) + "\r\nContent-Length: 0\r\n\r\n").encode(),
                     ("127.0.0.1", port))
    return 0, ""
code, text = status_of(subscribe("message-summary"))
assert code == 489 and "Allow-Events: conference" in text.replace("\r\n", "\n"), f"unknown package: {code}\n{text}"
print("unknown event package: 489 with Allow-Events")
codes = [status_of(subscribe("presence"))[0] for _ in range(40)]
assert 503 in codes, f"40 SUBSCRIBEs at once from one address: {codes}"
assert codes[0] == 200, codes
print("flood of 40 SUBSCRIBEs: %d accepted, %d refused with 503" % (codes.count(200), codes.count(503)))
PY
assert_confab_alive "after the refusals"
assert_file_contains "$CONFAB_LOG" "subscribe-rate" "confab's security log for the SUBSCRIBE flood"
log "PASS"
