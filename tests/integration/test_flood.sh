#!/usr/bin/env bash
# Issue 11 item 5 from outside: one address floods INVITEs (SIPp at 1000 calls/s for 4 s, never
# hanging up on its own) while another address (127.0.0.2) places ordinary calls. The flooder
# gets its burst and then 503 with Retry-After, holds no more calls than one address may, and
# never takes every RTP port; the other caller's calls all succeed during the flood; confab
# says so in rate-limited security lines and stays up.
source "$(dirname "$0")/lib.sh"
integ_init "$@"
CONFAB_RTP_PORTS="$(free_rtp_range 200)"  # 100 calls' worth: a flood without limits takes them all
start_confab

# The flood: 4,000 INVITEs from 127.0.0.1, each call held 60 s if answered.
start_sipp flood 30 -sn uac -s 1000 -m 4000 -r 1000 -l 4000 -d 60000 -t u1 -i 127.0.0.1
FLOOD_PID=$SIPP_PID
sleep 1
# Meanwhile from 127.0.0.2: five calls, one after the other, each held half a second.
run_sipp legit 30 -sn uac -s 1000 -m 5 -r 2 -l 1 -d 500 -t u1 -i 127.0.0.2
# Every call succeeds; retransmissions are allowed (a sanitizer build reading a 1000/s flood on
# the same socket can answer later than T1).
[[ "$(sipp_stat legit 'SuccessfulCall(C)')" == 5 && "$(sipp_stat legit 'FailedCall(C)')" == 0 ]] ||
  { show_sipp legit; fail "the other address's calls did not all succeed during the flood"; }
assert_confab_alive "during the flood"
kill -INT "$FLOOD_PID" 2>/dev/null || true
finish_sipp flood "$FLOOD_PID"
grep -q "security event=invite-rate source=127.0.0.1:" "$CONFAB_LOG" ||
  fail "no security line for the INVITE flood"
if grep -q "security event=.* source=127.0.0.2:" "$CONFAB_LOG"; then
  fail "the other address was refused"
fi
if grep -q "security event=rtp-ports-exhausted" "$CONFAB_LOG"; then
  fail "the flood took every RTP port"
fi
stop_confab
log "PASS"
