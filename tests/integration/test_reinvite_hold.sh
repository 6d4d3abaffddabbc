#!/usr/bin/env bash
# Hold and resume with re-INVITEs (SIPp scenario scenarios/reinvite_hold.xml): the answers say
# sendrecv, then recvonly while the caller holds (a=sendonly), then sendrecv again; over UDP and
# over TCP.
source "$(dirname "$0")/lib.sh"
integ_init "$@"
start_confab

for transport in u1 t1; do
  run_sipp "hold_$transport" 60 -sf "$SCENARIOS/reinvite_hold.xml" -s 1000 -m 3 -r 5 -l 3 \
    -t "$transport" -trace_msg -message_file "$WORK/hold_${transport}_messages.log"
  assert_sipp_clean "hold_$transport" 3
done
assert_confab_alive "after the calls"
stop_confab
assert_eq 0 "$CONFAB_STATUS" "confab's exit status after SIGTERM"
log "PASS"
