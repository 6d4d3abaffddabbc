#!/usr/bin/env bash
# Requests confab must refuse, with the status, reason and headers RFC 3261 asks for (unknown
# room, malformed headers, unknown method, REGISTER, an unsupported Require, a request over the
# size limit), OPTIONS, and garbage that must not bring it down; over raw UDP (udp_errors.py),
# plus an OPTIONS ping with sipsak.
source "$(dirname "$0")/lib.sh"
integ_init "$@"
require_tool python3
start_confab --max-message-bytes 8192

status=0
timeout -k 5 120 python3 "$INTEG_DIR/udp_errors.py" "$SIP_PORT" >"$WORK/udp_errors.log" 2>&1 &
HELPER_PIDS+=("$!")
wait "$!" || status=$?
cat "$WORK/udp_errors.log" >&2
assert_confab_alive "after the malformed requests and garbage"
[[ $status == 0 ]] || fail "some refusals were not as expected (see the FAIL lines above)"
# The oversized INVITE is also a security line naming its source (issue 10 item 18).
assert_file_contains "$CONFAB_LOG" \
  '^confab: security event=sip-message-too-large source=127\.0\.0\.1:[0-9]+ count=1$' \
  "confab's log after an oversized request"

# sipsak's OPTIONS ping: exit status 0 when a 200 came back.
require_tool sipsak
sipsak_status=0
timeout -k 5 20 sipsak -s "sip:1000@127.0.0.1:$SIP_PORT" -H 127.0.0.1 -vv \
  >"$WORK/sipsak.log" 2>&1 || sipsak_status=$?
if [[ $sipsak_status != 0 ]]; then
  cat "$WORK/sipsak.log" >&2
  fail "sipsak OPTIONS ping failed (status $sipsak_status)"
fi
assert_file_contains "$WORK/sipsak.log" 'SIP/2\.0 200' "sipsak's OPTIONS ping"
log "sipsak OPTIONS ping: 200"

stop_confab
assert_eq 0 "$CONFAB_STATUS" "confab's exit status after SIGTERM"
log "PASS"
