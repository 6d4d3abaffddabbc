#!/usr/bin/env bash
# A confab-mixer killed mid-call (issue 14 item 4): two real confab-mixers behind one confab, two
# phones in room 1000 sending tones to each other. The mixer running the room gets kill -9 a few
# seconds in: confab re-creates the room on the other mixer, re-INVITEs each phone with the new
# address, and they hear each other again there until they hang up. Asserted: both phones were
# moved once, to the other mixer's ports, each hears the other's tone at the end, and neither call
# ended early. The audio gap each phone heard (last packet from the dead mixer to the first from
# the new one) is printed, and with FAILOVER_RESULTS=FILE appended there as JSON lines
# (tests/bench/mixer_failover.sh runs it several times for RESULTS.md).
# FAILOVER_SIGNAL=STOP (test_mixer_hang.sh) freezes the mixer instead (SIGSTOP): its connection
# stays open and only its silence tells, after the control link's idle timeout (3.5 s).
export CONFAB_REMOTE_MIXER=1
signal="${FAILOVER_SIGNAL:-KILL}"
[[ "$signal" == KILL || "$signal" == STOP ]] || { echo "FAILOVER_SIGNAL: KILL or STOP" >&2; exit 2; }
duration=8
[[ "$signal" == KILL ]] || duration=10
source "$(dirname "$0")/lib.sh"
integ_init "$@"
PHONE="$INTEG_DIR/audio_phone.py"

start_two_mixers # A and B, each with its own port range; start_confab names A, B is added
start_confab --mixer "127.0.0.1:$B_PORT"
wait_for_line "$CONFAB_LOG" "^confab: mixer at 127.0.0.1:$B_PORT$" 15 "confab did not get mixer B"

in_range() { # PORT RANGE(first-last)
  local port=$1 first=${2%-*} last=${2#*-}
  ((port >= first && port <= last))
}
json_field() { # FILE FIELD: from the file's last line
  python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])[sys.argv[2]])' "$1" "$2"
}

# Both phones start sending at the same wall-clock moment, 8 s of tone each (10 s for a hang).
start_at="$(python3 -c 'import time; print(f"{time.time() + 1.5:.3f}")')"
for spec in "P1 1000" "P2 1500"; do
  read -r name freq <<<"$spec"
  timeout -k 5 40 python3 "$PHONE" --port "$SIP_PORT" --room 1000 --name "$name" --freq "$freq" \
    --duration "$duration" --start-at "$start_at" --analyze 2 --detect 1000,1500 \
    --info-file "$WORK/$name.info" >"$WORK/$name.json" 2>"$WORK/$name.err" &
  HELPER_PIDS+=("$!")
  eval "PHONE_$name=$!"
done
deadline=$((SECONDS + 15))
until [[ -s "$WORK/P1.info" && -s "$WORK/P2.info" ]]; do
  ((SECONDS < deadline)) || fail "the calls did not come up: $(cat "$WORK"/P?.err)"
  sleep 0.05
done
port1="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["mixer_port"])' "$WORK/P1.info")"
if in_range "$port1" "$range_a"; then
  victim=A victim_pid=$A_PID other_range=$range_b
else
  victim=B victim_pid=$B_PID other_range=$range_a
fi
log "room 1000 runs on mixer $victim (port $port1)"

# kill -9 (or SIGSTOP) three seconds into the media.
sleep "$(python3 -c "import time; print(max(0.0, $start_at + 3.0 - time.time()))")"
kill "-$signal" "$victim_pid"
log "SIG$signal to mixer $victim (pid $victim_pid)"

for name in P1 P2; do
  pid_var="PHONE_$name"
  wait "${!pid_var}" || fail "phone $name failed: $(cat "$WORK/$name.json" "$WORK/$name.err")"
done

other() { [[ $1 == P1 ]] && echo 1500 || echo 1000; }
for name in P1 P2; do
  f="$WORK/$name.json"
  moves="$(json_field "$f" moves_s)"
  [[ "$moves" != "[]" ]] || fail "$name was never re-INVITEd to the other mixer: $(tail -n 1 "$f")"
  mixer="$(json_field "$f" mixer)"
  in_range "${mixer##*:}" "$other_range" || fail "$name ended on $mixer, not on the surviving mixer ($other_range)"
  heard="$(python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])['tones_dbov']['$(other "$name")'])" "$f")"
  python3 -c "import sys; sys.exit(0 if float('$heard') > -30 else 1)" ||
    fail "$name did not hear the other phone's tone after the move (${heard} dBov): $(tail -n 1 "$f")"
  gap="$(json_field "$f" move_gap_ms)"
  [[ "$gap" != None ]] || fail "$name heard nothing either side of the move: $(tail -n 1 "$f")"
  log "$name: moved at ${moves} s (SIG$signal at 3.0 s), audio gap ${gap} ms, hears the other at ${heard} dBov"
  if [[ -n "${FAILOVER_RESULTS:-}" ]]; then
    printf '{"signal":"%s","phone":"%s","gap_ms":%s,"moved_s":%s,"heard_dbov":%s}\n' \
      "$signal" "$name" "$gap" "$moves" "$heard" >>"$FAILOVER_RESULTS"
  fi
done

[[ "$signal" == KILL ]] || kill -KILL "$victim_pid" # the frozen one: nothing of it is used now
kill -TERM "$CONFAB_PID"
wait_confab_exit 10
assert_eq 0 "$CONFAB_STATUS" "confab's exit status"
MIXER_PID=""
log "PASS"
