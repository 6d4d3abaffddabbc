#!/usr/bin/env bash
# baresip (Debian's baresip-core), a real softphone, calls confab on 127.0.0.1, headless: its own
# config folder, a sine tone as audio source, a bridge with nobody on the other end as player, no
# registration, driven through its ctrl_tcp JSON interface (tests/integration/baresip_ctrl.py).
# In each call baresip dials sip:1000@127.0.0.1:PORT over UDP and the call must be established.
#   1. plain RTP, baresip's own codec order (opus first): the call stays up 3 s, baresip hangs up;
#      confab logs the join with opus/48000 and "caller hung up" for that Call-ID;
#   2. the same offering only PCMU: confab answers PCMU/8000; offering only G.722 (baresip's
#      SpanDSP-based g722 module): confab answers G722/8000 (RFC 3551 §4.5.2);
#   3. SDES SRTP (mediaenc=srtp-mand, RTP/SAVP with a=crypto): confab's join line says SRTP;
#   4. hold and resume: baresip's jitter buffer takes in confab's stream again after resuming;
#   5. confab's BYE: while a call is up confab gets SIGTERM; baresip reports the session closed
#      by the peer, confab logs why the call ended and exits 0.
source "$(dirname "$0")/lib.sh"
integ_init "$@"
require_tool baresip
require_tool timeout

BARESIP_MODULES=/usr/lib/baresip/modules
for m in g711 g722 opus ausine aubridge srtp account ctrl_tcp menu; do
  [[ -f "$BARESIP_MODULES/$m.so" ]] || fail "baresip module $m.so missing in $BARESIP_MODULES (package baresip-core)"
done

BARESIP_PID=""
BARESIP_LOG=""
BARESIP_CTRL=""
BARESIP_DIR=""

# Shows baresip's and the driver's output for a failing scenario, then fails.
baresip_fail() {
  if [[ -n "$BARESIP_LOG" && -f "$BARESIP_LOG" ]]; then
    echo "[$TEST_NAME] --- last lines of baresip's log ($BARESIP_LOG) ---" >&2
    tail -n 40 "$BARESIP_LOG" | sed 's/\x1b\[[0-9;]*m//g' >&2
  fi
  if [[ -n "$BARESIP_DIR" && -f "$BARESIP_DIR/ctrl.log" ]]; then
    echo "[$TEST_NAME] --- ctrl_tcp exchange ($BARESIP_DIR/ctrl.log) ---" >&2
    tail -n 20 "$BARESIP_DIR/ctrl.log" >&2
  fi
  fail "$@"
}

# start_baresip NAME [ACCOUNT-PARAMS]: baresip with its config in $WORK/NAME, SIP on a free
# 127.0.0.1 port pair, ctrl_tcp on another; the account <sip:tester@127.0.0.1> never registers.
start_baresip() {
  local name=$1 params=${2:-}
  BARESIP_DIR="$WORK/$name"
  BARESIP_LOG="$BARESIP_DIR/baresip.log"
  mkdir -p "$BARESIP_DIR"
  local sip_port ctrl_port rtp_base
  # baresip binds UDP on the SIP port and TCP/TLS on it and on the port after it.
  sip_port="$(free_port 2)"
  ctrl_port="$(free_port)"
  while ((ctrl_port == sip_port || ctrl_port == sip_port + 1)); do ctrl_port="$(free_port)"; done
  BARESIP_CTRL=$ctrl_port
  # RTP ports outside confab's range (21000-22999 by default).
  rtp_base=$((24000 + (RANDOM % 400) * 10))
  cat >"$BARESIP_DIR/config" <<EOF
poll_method		epoll
sip_listen		127.0.0.1:$sip_port
sip_trans_def		udp
net_interface		127.0.0.1
call_local_timeout	20
call_max_calls		2
audio_player		aubridge,nobody
audio_source		ausine,440
ausrc_srate		48000
ausrc_channels		2
audio_alert		aubridge,nobody
rtp_ports		$rtp_base-$((rtp_base + 9))
rtcp_mux		no
module_path		$BARESIP_MODULES
module			opus.so
module			g711.so
module			g722.so
module			ausine.so
module			aubridge.so
module			srtp.so
module_tmp		account.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		127.0.0.1:$ctrl_port
EOF
  echo "<sip:tester@127.0.0.1>;regint=0;answermode=manual$params" >"$BARESIP_DIR/accounts"
  # -t: baresip quits by itself after 120 s whatever happens; timeout backs that up.
  timeout -k 5 150 baresip -4 -f "$BARESIP_DIR" -t 120 </dev/null >"$BARESIP_LOG" 2>&1 &
  BARESIP_PID=$!
  HELPER_PIDS+=("$BARESIP_PID")
  local deadline=$((SECONDS + 15))
  until grep -qs "baresip is ready" "$BARESIP_LOG"; do
    kill -0 "$BARESIP_PID" 2>/dev/null || baresip_fail "baresip ($name) exited while starting"
    ((SECONDS < deadline)) || baresip_fail "baresip ($name) not ready after 15s"
    sleep 0.1
  done
  log "baresip ($name) pid $BARESIP_PID, sip udp $sip_port, ctrl_tcp $ctrl_port, account params '$params'"
}

# stop_baresip: waits (bounded) for baresip to leave after the driver's quit command.
stop_baresip() {
  local deadline=$((SECONDS + 10))
  while kill -0 "$BARESIP_PID" 2>/dev/null; do
    ((SECONDS < deadline)) || baresip_fail "baresip still running 10s after 'quit'"
    sleep 0.1
  done
  wait "$BARESIP_PID" || true
  forget_pid "$BARESIP_PID"
  BARESIP_PID=""
}

# forget_pid PID: PID was waited for; cleanup must not signal whatever process reuses it.
forget_pid() {
  local p kept=()
  for p in "${HELPER_PIDS[@]}"; do [[ "$p" == "$1" ]] || kept+=("$p"); done
  HELPER_PIDS=("${kept[@]}")
}

# result_value FILE KEY: the driver's value for KEY, empty when absent.
result_value() {
  sed -n "s/^$2=//p" "$1" | head -n 1
}

# wait_confab_line PATTERN WHAT: waits (bounded) for a line of confab's log matching PATTERN.
wait_confab_line() {
  local pattern=$1 what=$2 deadline=$((SECONDS + 10))
  until grep -Eq -- "$pattern" "$CONFAB_LOG"; do
    ((SECONDS < deadline)) || baresip_fail "$what: /$pattern/ not in confab's log after 10s"
    sleep 0.1
  done
}

escape_ere() {
  sed 's/[][\.*^$+?(){}|/]/\\&/g' <<<"$1"
}

# call_and_hang_up NAME ACCOUNT-PARAMS MEDIA: one call, held 3 s and hung up by baresip; MEDIA is
# what confab's join line must say after "with " (e.g. "opus/48000 SRTP").
call_and_hang_up() {
  local name=$1 params=$2 media=$3
  start_baresip "$name" "$params"
  local result="$BARESIP_DIR/result"
  local status=0
  timeout -k 5 60 python3 "$INTEG_DIR/baresip_ctrl.py" --port "$BARESIP_CTRL" --result "$result" \
    call "sip:1000@127.0.0.1:$SIP_PORT" --hold 3 >"$BARESIP_DIR/ctrl.log" 2>&1 || status=$?
  [[ $status -eq 0 ]] || baresip_fail "$name: baresip's call failed (driver status $status): $(result_value "$result" error)"
  stop_baresip
  local call_id reason
  call_id="$(result_value "$result" call_id)"
  [[ -n "$call_id" ]] || baresip_fail "$name: baresip reported no Call-ID for the call"
  reason="$(result_value "$result" closed_reason)"
  [[ "$reason" == "Connection reset by user" ]] || baresip_fail "$name: baresip closed the call for '$reason', not because it hung up"
  grep -q "Call established: sip:1000@127.0.0.1:$SIP_PORT" "$BARESIP_LOG" ||
    baresip_fail "$name: baresip's log has no 'Call established'"
  grep -Eq "Call with sip:1000@127\.0\.0\.1:$SIP_PORT terminated \(duration: [3-9] secs\)" "$BARESIP_LOG" ||
    baresip_fail "$name: baresip's log does not show the call terminated after 3 s or more"
  local id
  id="$(escape_ere "$call_id")"
  wait_confab_line "^confab: call $id from 127\.0\.0\.1:[0-9]+ \(UDP\) joined room 1000 with $(escape_ere "$media")\$" \
    "$name: confab's join line with $media"
  wait_confab_line "^confab: call $id left room 1000: caller hung up\$" "$name: confab's leave line"
  log "$name: call $call_id established with $media, held 3 s, hung up by baresip, BYE answered"
}

start_confab --log-level info

# 1. Plain RTP; baresip offers opus/48000/2, PCMU, PCMA in that order (module order).
call_and_hang_up rtp "" "opus/48000"
assert_confab_alive "after the plain call"

# 2. Plain RTP, G.711 only.
call_and_hang_up pcmu ";audio_codecs=PCMU/8000/1" "PCMU/8000"
assert_confab_alive "after the PCMU call"
call_and_hang_up g722 ";audio_codecs=G722/16000/1" "G722/8000"
assert_confab_alive "after the G.722 call"

# 3. SDES SRTP, mandatory: RTP/SAVP with a=crypto.
call_and_hang_up srtp ";mediaenc=srtp-mand" "opus/48000 SRTP"
assert_confab_alive "after the SRTP call"

# 4. Hold and resume (issue 10 item 4): baresip (PCMU) calls, talks 5 s, puts the call on hold
#    (re-INVITE, a=sendonly), resumes 1 s later (a=sendrecv) and hangs up 2 s after that. Judged
#    by baresip's own jitter buffer (audio_debug's seq_put, the last sequence number it took in):
#    after the resume it must have taken in about the 100 packets confab sent, i.e. moved forward
#    by 50 to 300. Before the fix confab's stream restarted at the sequence number the call began
#    with, 250 packets back, and baresip threw those away as late: seq_put went backwards or
#    stood still.
start_baresip holdresume ";audio_codecs=PCMU/8000/1"
result="$BARESIP_DIR/result"
hold_status=0
timeout -k 5 60 python3 "$INTEG_DIR/baresip_ctrl.py" --port "$BARESIP_CTRL" --result "$result" \
  call "sip:1000@127.0.0.1:$SIP_PORT" --hold 8 --hold-at 5 --resume-at 6 \
  >"$BARESIP_DIR/ctrl.log" 2>&1 || hold_status=$?
[[ $hold_status -eq 0 ]] || baresip_fail "holdresume: the call failed (driver status $hold_status): $(result_value "$result" error)"
[[ "$(result_value "$result" resume_done)" == yes ]] || baresip_fail "holdresume: baresip did not resume"
stop_baresip
before="$(result_value "$result" seq_put_before_hold)"
after="$(result_value "$result" seq_put_end)"
[[ -n "$before" && -n "$after" ]] || baresip_fail "holdresume: no jitter buffer numbers from baresip"
taken=$(( (after - before + 65536) % 65536 ))
log "holdresume: baresip's jitter buffer took in sequence numbers $before before the hold, $after at the end: $taken packets after the resume"
((taken >= 50 && taken <= 300)) ||
  baresip_fail "holdresume: baresip took in $taken packets after resuming (from $before to $after), not the ~100 confab sent"
assert_confab_alive "after the hold and resume"

# 5. confab hangs up: SIGTERM while the call is up; confab sends BYE, baresip closes the call.
start_baresip byefromconfab ""
result="$BARESIP_DIR/result"
ready="$BARESIP_DIR/established"
timeout -k 5 60 python3 "$INTEG_DIR/baresip_ctrl.py" --port "$BARESIP_CTRL" --result "$result" \
  call-until-closed "sip:1000@127.0.0.1:$SIP_PORT" --ready "$ready" --wait 20 \
  >"$BARESIP_DIR/ctrl.log" 2>&1 &
ctrl_pid=$!
HELPER_PIDS+=("$ctrl_pid")
deadline=$((SECONDS + 20))
until [[ -s "$ready" ]]; do
  kill -0 "$ctrl_pid" 2>/dev/null || { wait "$ctrl_pid" || true; baresip_fail "byefromconfab: call not established: $(result_value "$result" error)"; }
  ((SECONDS < deadline)) || baresip_fail "byefromconfab: call not established after 20s"
  sleep 0.1
done
call_id="$(head -n 1 "$ready")"
wait_confab_line "confab: call $(escape_ere "$call_id") from .* joined room 1000 with " "byefromconfab: confab's join line"
sleep 1
kill -TERM "$CONFAB_PID"
ctrl_status=0
wait "$ctrl_pid" || ctrl_status=$?
forget_pid "$ctrl_pid"
[[ $ctrl_status -eq 0 ]] || baresip_fail "byefromconfab: baresip did not see the call closed: $(result_value "$result" error)"
reason="$(result_value "$result" closed_reason)"
[[ "$reason" == "Connection reset by peer" ]] ||
  baresip_fail "byefromconfab: baresip closed the call for '$reason', not because confab sent BYE"
stop_baresip
grep -q "sip:1000@127.0.0.1:$SIP_PORT: session closed: Connection reset by peer" "$BARESIP_LOG" ||
  baresip_fail "byefromconfab: baresip's log has no 'session closed: Connection reset by peer'"
log "byefromconfab: baresip reports call $call_id closed by confab: '$reason'"
wait_confab_exit 15
assert_eq 0 "$CONFAB_STATUS" "confab's exit status after SIGTERM with a call up"
assert_file_contains "$CONFAB_LOG" "^confab: call $(escape_ere "$call_id") left room 1000: " \
  "byefromconfab: confab's leave line"
log "byefromconfab: $(grep -E "^confab: call $(escape_ere "$call_id") left room" "$CONFAB_LOG")"
log "PASS"
