#!/usr/bin/env bash
# The mixer as its own process goes away under live calls: confab (--mixer) must end each call
# with BYE (SIPp answers 200, scenarios/bye_from_focus.xml) and stay up; once confab-mixer is back
# on the same port, confab reconnects by itself and new calls are answered and carried again.
export CONFAB_REMOTE_MIXER=1  # this test is about the remote mixer only
source "$(dirname "$0")/lib.sh"
integ_init "$@"
start_confab

calls=2
start_sipp bye_u1 60 -sf "$SCENARIOS/bye_from_focus.xml" -s 1000 -m "$calls" -r 10 -l "$calls" \
  -t u1 -trace_msg -message_file "$WORK/bye_u1_messages.log"
bye_pid=$SIPP_PID
acks() { grep -c '^ACK ' "$WORK/bye_u1_messages.log" 2>/dev/null || true; }
deadline=$((SECONDS + 20))
until [[ "$(acks)" -ge $calls ]]; do
  ((SECONDS < deadline)) || fail "calls not established after 20s (ACKs sent: $(acks))"
  assert_confab_alive "while calls were being set up"
  sleep 0.2
done
log "$calls calls up; stopping confab-mixer"

stop_mixer
assert_eq 0 "$MIXER_STATUS" "confab-mixer's exit status after SIGTERM with a client"
finish_sipp bye_u1 "$bye_pid"
assert_sipp_clean bye_u1 "$calls"
assert_confab_alive "after the mixer went away"
ended="$(count_when "$CONFAB_LOG" 'left room 1000: the mixer lost the media' "$calls")"
assert_eq "$calls" "$ended" "calls ended because the mixer went away"

# Back on the same port: confab's backoff is at most 5 s between attempts.
start_mixer
# confab tries again on its own backoff (at most 5 s apart) and answers 503 until it has the mixer
# back: single calls probe for that, for at most 20 s, instead of a fixed pause.
if ! timeout -k 5 40 python3 - "$SIP_PORT" "$INTEG_DIR" >"$WORK/probe.log" 2>&1 <<'EOF'; then
import socket, sys, time
sys.path.insert(0, sys.argv[2])
from sipclient import Dialog, Response, branch, is_request, sdp_offer
port = int(sys.argv[1])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", 0))
deadline = time.monotonic() + 20

def final_to(d, method):
    """The final response to this dialog's METHOD, or None after 5 s."""
    until = time.monotonic() + 5
    while (left := until - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            msg = sock.recv(65536)
        except socket.timeout:
            return None
        if not is_request(msg):
            r = Response(msg)
            if (r.header("call-id") == d.call_id and r.status >= 200
                    and (r.header("cseq") or "").endswith(method)):
                return r
    return None

while time.monotonic() < deadline:
    d = Dialog("UDP", "127.0.0.1", sock.getsockname()[1], "1000", "127.0.0.1", port)
    via = branch()
    sock.sendto(d.request("INVITE", sdp_offer(), branch_param=via), ("127.0.0.1", port))
    r = final_to(d, "INVITE")
    print(f"probe INVITE: {r}")
    if r is None:
        continue
    d.to_tag = r.to_tag()
    if r.status != 200:
        sock.sendto(d.request("ACK", branch_param=via), ("127.0.0.1", port))  # RFC 3261 §17.1.1.3
        time.sleep(0.2)
        continue
    contact = r.header("contact") or ""
    d.remote_target = contact[contact.find("<") + 1:contact.find(">")] if "<" in contact else contact
    sock.sendto(d.request("ACK"), ("127.0.0.1", port))
    d.cseq = 2
    sock.sendto(d.request("BYE"), ("127.0.0.1", port))
    print(f"probe BYE: {final_to(d, 'BYE')}")
    sys.exit(0)
sys.exit(1)
EOF
  cat "$WORK/probe.log" >&2
  fail "confab answered no call within 20 s of confab-mixer's return"
fi
log "confab answers calls again after $(grep -c '^probe INVITE' "$WORK/probe.log") probe(s)"
run_sipp uac_after 60 -sn uac -s 1000 -m 4 -r 10 -l 4 -d 500 -t u1
assert_sipp_clean uac_after 4
assert_confab_alive "after the mixer came back"
stop_confab
assert_eq 0 "$CONFAB_STATUS" "confab's exit status after SIGTERM"
log "PASS"
