#!/usr/bin/env bash
# SIPp's built-in UAC places 20 calls to room 1000 over UDP: every call is answered, held for
# half a second and hung up, with no retransmission (confab answers within T1) and nothing
# unexpected.
source "$(dirname "$0")/lib.sh"
integ_init "$@"
start_confab

run_sipp uac_udp 60 -sn uac -s 1000 -m 20 -r 10 -l 20 -d 500 -t u1
assert_sipp_clean uac_udp 20
assert_confab_alive "after the calls"
stop_confab
assert_eq 0 "$CONFAB_STATUS" "confab's exit status after SIGTERM"
log "PASS"
