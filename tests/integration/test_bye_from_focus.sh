#!/usr/bin/env bash
# Stopping confab ends the conference politely: with calls up over UDP and TCP, SIGTERM makes
# confab send BYE on every call (SIPp answers 200, scenarios/bye_from_focus.xml), then leave by
# itself with status 0 as soon as the last BYE is answered (issue 14 item 2): well before its
# --stop-wait of 20 s.
source "$(dirname "$0")/lib.sh"
integ_init "$@"
start_confab --stop-wait 20
# Over TCP nothing is retransmitted, so the TCP caller does not stay after its 200 to catch a
# repeated BYE: confab closes the connection as it leaves, which SIPp would count as a failure.
sed '/<pause milliseconds="600"\/>/d' "$SCENARIOS/bye_from_focus.xml" >"$WORK/bye_from_focus_tcp.xml"

calls=2
declare -A sipp_pid
for transport in u1 t1; do
  scenario="$SCENARIOS/bye_from_focus.xml"
  [[ "$transport" == t1 ]] && scenario="$WORK/bye_from_focus_tcp.xml"
  start_sipp "bye_$transport" 90 -sf "$scenario" -s 1000 -m "$calls" -r 10 \
    -l "$calls" -t "$transport" -trace_msg -message_file "$WORK/bye_${transport}_messages.log"
  sipp_pid[$transport]=$SIPP_PID
done

# Wait until every call is up: SIPp has sent all its ACKs.
acks() { grep -c '^ACK ' "$WORK/bye_$1_messages.log" 2>/dev/null || true; }
deadline=$((SECONDS + 20))
until [[ "$(acks u1)" -ge $calls && "$(acks t1)" -ge $calls ]]; do
  ((SECONDS < deadline)) ||
    fail "calls not established after 20s (ACKs sent: udp $(acks u1), tcp $(acks t1))"
  assert_confab_alive "while calls were being set up"
  sleep 0.2
done
log "$((2 * calls)) calls up; stopping confab"

stopped_at=$(date +%s%3N)
kill -TERM "$CONFAB_PID"
wait_confab_exit 30
took=$(($(date +%s%3N) - stopped_at))
log "confab left ${took} ms after SIGTERM with status $CONFAB_STATUS"
assert_eq 0 "$CONFAB_STATUS" "confab's exit status after SIGTERM"
((took < 5000)) || fail "confab took ${took} ms to leave: it must go once the BYEs are answered"
! grep -q 'requests unanswered' "$CONFAB_LOG" || fail "confab says a BYE went unanswered"
assert_file_contains "$CONFAB_LOG" "stopping, ending $((2 * calls)) calls" "confab's log on SIGTERM"

for transport in u1 t1; do
  finish_sipp "bye_$transport" "${sipp_pid[$transport]}"
  assert_sipp_clean "bye_$transport" "$calls"
done
log "PASS"
