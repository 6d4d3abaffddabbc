#!/usr/bin/env bash
# Clean process life (issue 14 item 2), on the real binary:
#   1. with no calls, SIGTERM ends confab within 1 s with status 0, although a SIP client holds a
#      TCP connection, another a TLS one, and an API client a keep-alive connection;
#   2. confab restarts at once on the same SIP UDP/TCP/TLS and API ports (SO_REUSEADDR: the
#      connections just closed are in TIME_WAIT) and answers OPTIONS and GET /health;
#   3. a caller that never answers the BYE holds the stop only until --stop-wait (2 s here): the
#      BYE is sent and retransmitted, and confab says it leaves with the request unanswered.
# (That a stop with calls leaves as soon as every BYE is answered is test_bye_from_focus.)
source "$(dirname "$0")/lib.sh"
integ_init "$@"

CONFAB_API="127.0.0.1:$(free_port)"
API="http://$CONFAB_API"
export CONFAB_API INTEG_DIR

now_ms() { date +%s%3N; }

# Connections that stay open: SIP OPTIONS over TCP and over TLS (each answered 200), and an API
# request on a keep-alive connection. Prints "open" once all three were answered, then holds them
# until killed or 30 s.
hold_connections() {
  python3 - "$SIP_PORT" "$TLS_PORT" "${CONFAB_API#*:}" <<'PYEOF'
import os, socket, sys, time
sys.path.insert(0, os.environ["INTEG_DIR"])
from sipclient import Dialog, tls_connect
sip, tls, api = (int(p) for p in sys.argv[1:4])
held = []
for transport, port in (("TCP", sip), ("TLS", tls)):
    s = tls_connect("127.0.0.1", port) if transport == "TLS" else socket.create_connection(("127.0.0.1", port), 5)
    s.settimeout(5)
    d = Dialog(transport, "127.0.0.1", s.getsockname()[1], "1000", "127.0.0.1", port)
    s.sendall(d.request("OPTIONS"))
    answer = s.recv(65536).split(b"\r\n", 1)[0]
    if not answer.startswith(b"SIP/2.0 200"):
        sys.exit(f"OPTIONS over {transport}: {answer!r}")
    held.append(s)
h = socket.create_connection(("127.0.0.1", api), 5)
h.settimeout(5)
h.sendall(b"GET /health HTTP/1.1\r\nHost: confab\r\nConnection: keep-alive\r\n\r\n")
if not h.recv(65536).startswith(b"HTTP/1.1 200"):
    sys.exit("GET /health did not get 200")
held.append(h)
print("open", flush=True)
time.sleep(30)
PYEOF
}

# --- 1. SIGTERM with no calls, connections open. -------------------------------------------------
start_confab
wait_for_port "${CONFAB_API#*:}" 10
hold_connections >"$WORK/held.out" 2>"$WORK/held.err" &
held_pid=$!
HELPER_PIDS+=("$held_pid")
wait_for_line "$WORK/held.out" '^open' 10 "the held connections were not answered" "$WORK/held.err"
log "TCP, TLS and API connections open; SIGTERM"
started=$(now_ms)
kill -TERM "$CONFAB_PID"
wait_confab_exit 10
took=$(($(now_ms) - started))
log "confab left ${took} ms after SIGTERM with status $CONFAB_STATUS"
assert_eq 0 "$CONFAB_STATUS" "exit status after SIGTERM"
((took <= 1000)) || fail "with no calls confab took ${took} ms to leave after SIGTERM (at most 1000)"

# --- 2. An immediate restart on the same ports. --------------------------------------------------
KEEP_PORTS=1 start_confab
wait_for_port "${CONFAB_API#*:}" 10
answer="$(sip_options "$SIP_PORT" UDP && sip_options "$SIP_PORT" TCP)" || fail "OPTIONS after the restart: $answer"
log "after the restart: $(echo "$answer" | tr '\n' ';')"
[[ "$(grep -c 'SIP/2.0 200' <<<"$answer")" == 2 ]] || fail "OPTIONS after the restart: $answer"
health="$(curl -s -o /dev/null -w '%{http_code}' "$API/health")"
assert_eq 200 "$health" "GET /health after the restart"
kill "$held_pid" 2>/dev/null || true
stop_confab
assert_eq 0 "$CONFAB_STATUS" "exit status of the restarted confab"

# --- 3. A caller that never answers the BYE. ------------------------------------------------------
start_confab --stop-wait 2
python3 - "$SIP_PORT" >"$WORK/silent.out" 2>"$WORK/silent.err" <<'PYEOF' &
import os, socket, sys, time
sys.path.insert(0, os.environ["INTEG_DIR"])
from sipclient import Dialog, Response, is_request, sdp_offer, branch
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(5)
d = Dialog("UDP", "127.0.0.1", s.getsockname()[1], "1000", "127.0.0.1", port)
s.sendto(d.request("INVITE", sdp_offer()), ("127.0.0.1", port))
while True:
    msg = s.recv(65536)
    if not is_request(msg) and Response(msg).status >= 200:
        break
r = Response(msg)
if r.status != 200:
    sys.exit(f"INVITE got {r.status}")
d.to_tag = r.to_tag()
contact = r.header("contact") or ""
d.remote_target = contact[contact.find("<") + 1:contact.find(">")] if "<" in contact else contact
s.sendto(d.request("ACK"), ("127.0.0.1", port))
print("up", flush=True)
# Reads what comes and answers nothing, for 8 s at most.
byes = 0
end = time.monotonic() + 8
while time.monotonic() < end:
    try:
        s.settimeout(max(0.01, end - time.monotonic()))
        msg = s.recv(65536)
    except socket.timeout:
        break
    if msg.startswith(b"BYE "):
        byes += 1
print("byes", byes, flush=True)
PYEOF
silent_pid=$!
HELPER_PIDS+=("$silent_pid")
wait_for_line "$WORK/silent.out" '^up' 10 "the silent caller's call did not come up" "$WORK/silent.err"
started=$(now_ms)
kill -TERM "$CONFAB_PID"
wait_confab_exit 15
took=$(($(now_ms) - started))
log "with an unanswered BYE confab left ${took} ms after SIGTERM with status $CONFAB_STATUS"
assert_eq 0 "$CONFAB_STATUS" "exit status after the bounded stop"
((took >= 1900)) || fail "confab left after ${took} ms, before its 2 s wait for the BYE's answer"
((took <= 4000)) || fail "confab took ${took} ms to leave with --stop-wait 2"
assert_file_contains "$CONFAB_LOG" "leaving with 1 requests unanswered after 2 s" "confab's log"
wait "$silent_pid" || fail "the silent caller failed: $(cat "$WORK/silent.err")"
byes="$(sed -n 's/^byes //p' "$WORK/silent.out")"
log "the silent caller got the BYE $byes times (first send and retransmissions)"
((byes >= 2)) || fail "the silent caller got $byes BYEs; the BYE must be sent and retransmitted"
log "PASS"
