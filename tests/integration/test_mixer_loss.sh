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
sleep 6
run_sipp uac_after 60 -sn uac -s 1000 -m 4 -r 10 -l 4 -d 500 -t u1
assert_sipp_clean uac_after 4
assert_confab_alive "after the mixer came back"
stop_confab
assert_eq 0 "$CONFAB_STATUS" "confab's exit status after SIGTERM"
log "PASS"
