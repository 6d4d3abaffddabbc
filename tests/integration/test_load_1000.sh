#!/usr/bin/env bash
# Signalling under load: SIPp's built-in UAC places 1000 one-second calls to room 1000 at 50
# calls/s over UDP; every call must succeed with no retransmission (confab always answers within
# T1) and nothing unexpected. Prints confab's CPU time for the run; tests/bench/sip_load.sh runs
# the same load at higher rates and records the numbers.
source "$(dirname "$0")/lib.sh"
integ_init "$@"
start_confab --trusted-source 127.0.0.1  # SIPp stands for a proxy: one address, every caller

calls=1000
rate=50
run_load load_1000 "$rate" "$calls"
echo "load: $LOAD_SUCCESS of $calls calls at $rate cps (achieved $LOAD_CPS cps), $LOAD_FAILED failed," \
  "$LOAD_RETRANS retransmissions, $LOAD_UNEXPECTED unexpected, mean INVITE->200" \
  "${LOAD_RESPONSE_MS} ms, confab CPU $LOAD_CPU s"
assert_sipp_clean load_1000 "$calls"
stop_confab
assert_eq 0 "$CONFAB_STATUS" "confab's exit status after SIGTERM"
log "PASS"
