#!/usr/bin/env bash
# CANCEL while ringing: confab rings (180) for 3 s before answering; a caller that cancels gets
# 200 for the CANCEL and 487 for the INVITE and is never answered afterwards (SIPp scenario
# scenarios/cancel.xml), over UDP and TCP. A caller that waits is answered after the delay.
source "$(dirname "$0")/lib.sh"
integ_init "$@"
# The whole help first: `grep -q` in a pipe would stop reading at the match, and confab's
# write of the rest would then fail (SIGPIPE) and the pipeline with it (pipefail).
"$CONFAB_BIN" --help >"$WORK/help.txt" || fail "confab --help failed"
grep -q -- '--answer-delay-ms' "$WORK/help.txt" ||
  fail "this confab has no --answer-delay-ms option, needed to test CANCEL while ringing"
start_confab --answer-delay-ms 3000

for transport in u1 t1; do
  run_sipp "cancel_$transport" 60 -sf "$SCENARIOS/cancel.xml" -s 1000 -m 3 -r 5 -l 3 \
    -t "$transport" -trace_msg -message_file "$WORK/cancel_${transport}_messages.log"
  assert_sipp_clean "cancel_$transport" 3
done

# Someone who lets it ring is answered once the delay is over.
run_sipp ring_then_answer 60 -sn uac -s 1000 -m 2 -r 5 -l 2 -d 200
assert_sipp_clean ring_then_answer 2
assert_file_contains "$WORK/ring_then_answer_screen.log" '180 <---------- +[1-9]' \
  "the answered calls rang first"

assert_confab_alive "after the calls"
stop_confab
assert_eq 0 "$CONFAB_STATUS" "confab's exit status after SIGTERM"
log "PASS"
