#!/usr/bin/env bash
# SIPp's built-in UAC places 20 calls to room 1000 over one TCP connection: all answered and hung
# up cleanly.
source "$(dirname "$0")/lib.sh"
integ_init "$@"
start_confab

run_sipp uac_tcp 60 -sn uac -s 1000 -m 20 -r 10 -l 20 -d 500 -t t1
assert_sipp_clean uac_tcp 20
assert_confab_alive "after the calls"
stop_confab
assert_eq 0 "$CONFAB_STATUS" "confab's exit status after SIGTERM"
log "PASS"
