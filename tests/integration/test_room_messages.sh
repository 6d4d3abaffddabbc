#!/usr/bin/env bash
# In-room text (issue 12 item 5) with SIPp and the real binary: two SIPp participants in room
# 1000 wait for text; a third writes "hello room" in its call (MESSAGE, RFC 3428). confab
# answers 202 and each reader gets "Writer: hello room" as text/plain in its own call's dialog;
# the writer does not get its own text back, and HTML is refused with 415.
source "$(dirname "$0")/lib.sh"
integ_init "$@"
start_confab

start_sipp readers 30 -sf "$SCENARIOS/message_reader.xml" -s 1000 -m 2 -l 2 -r 10 -t u1 \
  -trace_msg -message_file "$WORK/readers_messages.log"
readers_pid=$SIPP_PID
acks() { grep -c '^ACK ' "$WORK/readers_messages.log" 2>/dev/null || true; }
deadline=$((SECONDS + 15))
until [[ "$(acks)" -ge 2 ]]; do
  ((SECONDS < deadline)) || fail "the two readers are not in after 15s"
  sleep 0.1
done

run_sipp writer 30 -sf "$SCENARIOS/message_writer.xml" -s 1000 -m 1 -t u1 \
  -trace_msg -message_file "$WORK/writer_messages.log"
assert_sipp_clean writer 1
finish_sipp readers "$readers_pid"
assert_sipp_clean readers 2

# MESSAGEs addressed to them (their logs also hold what they sent).
received() { grep -c "^MESSAGE sip:$2" "$WORK/$1_messages.log" 2>/dev/null || true; }
assert_eq 2 "$(received readers reader)" "MESSAGEs the readers got"
assert_eq 0 "$(received writer writer)" "MESSAGEs sent back to the writer"
log "PASS"
