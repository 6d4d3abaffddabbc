#!/usr/bin/env bash
# Several confab-mixers behind one confab (issue 14 item 4, --mixer repeated): two real mixers
# with their own RTP port ranges, confab on both (secret and TLS, as off one machine). A call to
# room 1000 and one to room 1001 land on different mixers (the SDP answer's port says which); a
# second caller of room 1000 lands where that room runs and hears the first one's tone; moving the
# first by the API into room 1001 (the other mixer) re-INVITEs it to that mixer, where room
# 1001's caller hears it. Then mixer B is drained by editing the configuration and SIGHUP: new
# rooms all go to A, and nothing that was up ends. A mixer killed mid-call: test_mixer_failover.sh.
export CONFAB_REMOTE_MIXER=1
source "$(dirname "$0")/lib.sh"
integ_init "$@"
require_tool curl
PHONE="$INTEG_DIR/audio_phone.py"

start_two_mixers # A and B, each with its own port range; start_confab names A, B is added

printf 'mixer-drain =\n' >"$WORK/confab.conf"
start_confab_api --config "$WORK/confab.conf" --mixer "127.0.0.1:$B_PORT"
wait_for_line "$CONFAB_LOG" "^confab: mixer at 127.0.0.1:$B_PORT$" 15 "confab did not get mixer B"
ready="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$API/readyz")"
assert_eq 200 "$ready" "GET /readyz with two mixers"

in_range() { # PORT RANGE(first-last)
  local port=$1 first=${2%-*} last=${2#*-}
  ((port >= first && port <= last))
}
# which_mixer NAME: A or B, from the phone's info file (its call's mixer port).
which_mixer() {
  local name=$1 deadline=$((SECONDS + 15)) port
  until [[ -s "$WORK/$name.info" ]]; do
    ((SECONDS < deadline)) || fail "phone $name's call was not up: $(cat "$WORK/$name.json" "$WORK/$name.err" 2>/dev/null)"
    sleep 0.05
  done
  port="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["mixer_port"])' "$WORK/$name.info")"
  if in_range "$port" "$range_a"; then echo A; elif in_range "$port" "$range_b"; then echo B; else
    fail "phone $name got port $port, in neither mixer's range ($range_a, $range_b)"
  fi
}
# start_phone NAME ROOM SECONDS [ARGS...]
start_phone() {
  local name=$1 room=$2 seconds=$3
  shift 3
  timeout -k 5 $((seconds + 30)) python3 "$PHONE" --port "$SIP_PORT" --room "$room" --name "$name" \
    --duration "$seconds" --analyze 1.5 --detect 1000,1500 --info-file "$WORK/$name.info" "$@" \
    >"$WORK/$name.json" 2>"$WORK/$name.err" &
  HELPER_PIDS+=("$!")
  eval "PHONE_$name=$!"
}
wait_phone() {
  local pid_var="PHONE_$1"
  wait "${!pid_var}" || fail "phone $1 failed: $(cat "$WORK/$1.json" "$WORK/$1.err")"
}

# 1. Two rooms, two mixers; a room's second caller follows the room and hears it. Then the
# first caller is moved by the API into the other room, which runs on the other mixer: confab
# re-INVITEs it to ports there, and that room's caller hears it.
start_phone P1 1000 11 --freq 1000
m1="$(which_mixer P1)"
start_phone P2 1001 10 --freq 0
m2="$(which_mixer P2)"
[[ "$m1" != "$m2" ]] || fail "rooms 1000 and 1001 both went to mixer $m1"
start_phone P3 1000 3 --freq 0
m3="$(which_mixer P3)"
assert_eq "$m1" "$m3" "the mixer of room 1000's second caller"
wait_phone P3
heard="$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["tones_dbov"]["1000"])' "$WORK/P3.json")"
python3 -c "import sys; sys.exit(0 if float('$heard') > -40 else 1)" ||
  fail "P3 did not hear P1's 1000 Hz tone on mixer $m1 (${heard} dBov)"
p1_call="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["call_id"])' "$WORK/P1.info")"
code="$(curl -s --max-time 5 -o "$WORK/move.json" -w '%{http_code}' \
  -H "Authorization: Bearer $CONFAB_API_TOKEN" -H 'Content-Type: application/json' \
  -X POST --data '{"room":"1001"}' "$API/v1/rooms/1000/participants/$p1_call/move")"
assert_eq 200 "$code" "moving P1 into room 1001, on the other mixer: $(cat "$WORK/move.json")"
wait_phone P1
wait_phone P2
p1_moves="$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["moves_s"])' "$WORK/P1.json")"
[[ "$p1_moves" != "[]" ]] || fail "P1 was not re-INVITEd to the other mixer: $(tail -n 1 "$WORK/P1.json")"
p1_port="$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["mixer"].split(":")[1])' "$WORK/P1.json")"
if [[ "$m2" == A ]]; then m2_range=$range_a; else m2_range=$range_b; fi
in_range "$p1_port" "$m2_range" || fail "P1 ended on port $p1_port, not on mixer $m2 ($m2_range)"
heard2="$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["tones_dbov"]["1000"])' "$WORK/P2.json")"
python3 -c "import sys; sys.exit(0 if float('$heard2') > -40 else 1)" ||
  fail "P2 in room 1001 did not hear P1 after the move (${heard2} dBov)"
log "room 1000 on mixer $m1, room 1001 on mixer $m2; room 1000's second caller on $m1 heard the tone at $heard dBov; P1 moved into room 1001 (re-INVITE at ${p1_moves} s) and was heard there at $heard2 dBov"

# 2. Drain the mixer room 1000 runs on now (a reload): new rooms go to the other one, room
# 1000's callers still join it there, and the call up stays up.
start_phone P4 1000 5 --freq 0
drained="$(which_mixer P4)"
if [[ "$drained" == A ]]; then drained_port=$A_PORT open=B; else drained_port=$B_PORT open=A; fi
printf 'mixer-drain = 127.0.0.1:%s\n' "$drained_port" >"$WORK/confab.conf"
kill -HUP "$CONFAB_PID"
wait_for_line "$CONFAB_LOG" "configuration reloaded.*applied mixer-drain" 10 "the reload did not apply mixer-drain"
start_phone P5 1001 2 --freq 0
assert_eq "$open" "$(which_mixer P5)" "room 1001 with mixer $drained draining"
start_phone P6 1000 2 --freq 0
assert_eq "$drained" "$(which_mixer P6)" "a caller of room 1000, which still runs on the draining mixer"
wait_phone P5
wait_phone P6
wait_phone P4
log "mixer $drained drained: new room on $open, room 1000's callers still on $drained, no call lost"
assert_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$API/readyz")" "readyz with one mixer draining"

kill -TERM "$CONFAB_PID"
wait_confab_exit 10
assert_eq 0 "$CONFAB_STATUS" "confab's exit status"
for pid in "$A_PID" "$B_PID"; do
  kill -TERM "$pid"
  status=0
  wait "$pid" || status=$?
  assert_eq 0 "$status" "confab-mixer $pid's exit status after SIGTERM"
done
MIXER_PID=""
log "PASS"
