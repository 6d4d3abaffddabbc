# Shared helpers for the integration tests: each test sources this file, calls `integ_init "$@"`
# (argument 1 is the confab binary, argument 2 the confab-mixer binary), starts its own confab on
# free loopback ports in a scratch folder, and on exit ends only the processes it started, by pid.
# With CONFAB_REMOTE_MIXER=1 the same test runs with the mixer as its own process: start_confab
# first starts confab-mixer on a free port and points confab at it with --mixer.
# shellcheck shell=bash

set -euo pipefail
# The Python helpers run from the source tree: leave no __pycache__ there.
export PYTHONDONTWRITEBYTECODE=1

INTEG_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SCENARIOS="$INTEG_DIR/scenarios"
TEST_NAME="$(basename "$0" .sh)"

CONFAB_BIN=""
CONFAB_PID=""
CONFAB_LOG=""
MIXER_BIN=""
MIXER_PID=""
MIXER_LOG=""
MIXER_PORT=""
CONFAB_STATUS=""
SIP_PORT=""
TLS_PORT=""
WORK=""
# Pids of helper processes (sipp, clients) started in the background; killed on exit.
HELPER_PIDS=()

log() { echo "[$TEST_NAME] $*" >&2; }

fail() {
  echo "[$TEST_NAME] FAIL: $*" >&2
  exit 1
}

# Ends what this test started, shows confab's log when the test failed, removes the scratch folder
# when it passed.
integ_cleanup() {
  local status=$?
  set +e
  local pid
  for pid in "${HELPER_PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null
      kill -CONT "$pid" 2>/dev/null # one a test stopped (SIGSTOP) handles TERM only once continued
      wait "$pid" 2>/dev/null
    fi
  done
  if [[ -n "$CONFAB_PID" ]] && kill -0 "$CONFAB_PID" 2>/dev/null; then
    kill -KILL "$CONFAB_PID" 2>/dev/null
    wait "$CONFAB_PID" 2>/dev/null
  fi
  stop_mixer
  if [[ -n "$WORK" && -d "$WORK" ]]; then
    if [[ $status -ne 0 ]]; then
      if [[ -n "$CONFAB_LOG" && -f "$CONFAB_LOG" ]]; then
        echo "[$TEST_NAME] --- last lines of confab's log ($CONFAB_LOG) ---" >&2
        tail -n 40 "$CONFAB_LOG" >&2
      fi
      if [[ -n "$MIXER_LOG" && -f "$MIXER_LOG" ]]; then
        echo "[$TEST_NAME] --- last lines of confab-mixer's log ($MIXER_LOG) ---" >&2
        tail -n 20 "$MIXER_LOG" >&2
      fi
      echo "[$TEST_NAME] scratch folder kept for inspection: $WORK" >&2
    else
      rm -rf "$WORK"
    fi
  fi
  exit "$status"
}

integ_init() {
  CONFAB_BIN="${1:-}"
  [[ -n "$CONFAB_BIN" ]] || fail "usage: $0 PATH-TO-CONFAB"
  [[ -x "$CONFAB_BIN" ]] || fail "confab binary '$CONFAB_BIN' is not executable"
  CONFAB_BIN="$(cd "$(dirname "$CONFAB_BIN")" && pwd)/$(basename "$CONFAB_BIN")"
  if [[ "${CONFAB_REMOTE_MIXER:-0}" == 1 ]]; then
    MIXER_BIN="${2:-}"
    [[ -n "$MIXER_BIN" ]] || fail "CONFAB_REMOTE_MIXER=1: usage: $0 PATH-TO-CONFAB PATH-TO-CONFAB-MIXER"
    [[ -x "$MIXER_BIN" ]] || fail "confab-mixer binary '$MIXER_BIN' is not executable"
    MIXER_BIN="$(cd "$(dirname "$MIXER_BIN")" && pwd)/$(basename "$MIXER_BIN")"
  fi
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/confab-$TEST_NAME.XXXXXX")"
  trap integ_cleanup EXIT
  trap 'exit 143' TERM
  trap 'exit 130' INT
}

require_tool() {
  command -v "$1" >/dev/null 2>&1 || fail "'$1' is not installed (scripts/install-deps.sh installs it)"
}

# free_port [COUNT]: the first of COUNT consecutive loopback ports (default 1) each free for
# both TCP and UDP right now, the first chosen by the kernel. baresip, for one, binds TCP and
# TLS on its SIP port + 1.
free_port() {
  python3 - "${1:-1}" <<'EOF'
import socket, sys
count = int(sys.argv[1])
for _ in range(200):
    held = []
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    port = t.getsockname()[1]
    held.append(t)
    ok = port + count <= 65536
    for p in range(port, port + count) if ok else []:
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            if p == port and kind == socket.SOCK_STREAM:
                continue
            s = socket.socket(socket.AF_INET, kind)
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                s.close()
                ok = False
                break
            held.append(s)
        if not ok:
            break
    for s in held:
        s.close()
    if ok:
        print(port)
        break
else:
    raise SystemExit("no free port")
EOF
}

# wait_for_port PORT [SECONDS]: until something accepts TCP connections on 127.0.0.1:PORT.
wait_for_port() {
  local port=$1 seconds=${2:-10}
  local deadline=$((SECONDS + seconds))
  while ((SECONDS < deadline)); do
    if [[ -n "$CONFAB_PID" ]] && ! kill -0 "$CONFAB_PID" 2>/dev/null; then
      fail "confab exited while starting"
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  fail "nothing listens on 127.0.0.1:$port after ${seconds}s"
}

# start_mixer: confab-mixer on a free loopback port (MIXER_PORT; the same one again when it was
# started before) with the RTP range confab would have used, advertising 127.0.0.1 as its media
# address, over TLS and wanting the secret in $WORK/mixer.secret (made on the first start; start_confab gives
# confab the same file, or CONFAB_MIXER_SECRET_FILE); its log appended to $WORK/confab-mixer.log.
# Returns once it accepts control connections.
start_mixer() {
  [[ -n "$MIXER_PORT" ]] || MIXER_PORT="$(free_port)"
  MIXER_LOG="$WORK/confab-mixer.log"
  local starts
  starts=$(($(grep -c "control on 127.0.0.1:$MIXER_PORT" "$MIXER_LOG" 2>/dev/null || true) + 1))
  # The control protocol authenticated, as on a real network (docs/mixer-protocol.md).
  [[ -f "$WORK/mixer.secret" ]] || openssl rand -hex 32 >"$WORK/mixer.secret"
  "$MIXER_BIN" --listen "127.0.0.1:$MIXER_PORT" --media-address 127.0.0.1 \
    --secret-file "$WORK/mixer.secret" --tls \
    --rtp-ports "${CONFAB_RTP_PORTS:-21000-22999}" >>"$MIXER_LOG" 2>&1 &
  MIXER_PID=$!
  local deadline=$((SECONDS + 15))
  until (($(grep -c "control on 127.0.0.1:$MIXER_PORT" "$MIXER_LOG" || true) >= starts)); do
    kill -0 "$MIXER_PID" 2>/dev/null || fail "confab-mixer exited while starting"
    ((SECONDS < deadline)) || fail "confab-mixer does not listen on 127.0.0.1:$MIXER_PORT"
    sleep 0.1
  done
  log "confab-mixer pid $MIXER_PID on 127.0.0.1:$MIXER_PORT"
}

# start_two_mixers: two confab-mixers with their own RTP port ranges (range_a, range_b), at A_PORT
# and B_PORT (pids A_PID, B_PID, ended on exit); MIXER_PORT and MIXER_PID name A afterwards, so
# start_confab uses A (and the shared secret) and a test adds --mixer 127.0.0.1:$B_PORT.
start_two_mixers() {
  range_a="$(free_rtp_range 40)"
  CONFAB_RTP_PORTS="$range_a" start_mixer
  A_PORT=$MIXER_PORT
  A_PID=$MIXER_PID
  range_b="$(free_rtp_range 40)"
  while [[ "$range_b" == "$range_a" ]]; do range_b="$(free_rtp_range 40)"; done
  MIXER_PORT="" MIXER_PID=""
  CONFAB_RTP_PORTS="$range_b" start_mixer
  B_PORT=$MIXER_PORT
  B_PID=$MIXER_PID
  HELPER_PIDS+=("$A_PID" "$B_PID")
  MIXER_PORT=$A_PORT MIXER_PID=$A_PID
}

# stop_mixer: SIGTERM to the confab-mixer this test started, SIGKILL after 10 s; sets
# MIXER_STATUS (0: it left cleanly by itself).
MIXER_STATUS=""
stop_mixer() {
  [[ -n "$MIXER_PID" ]] || return 0
  if kill -0 "$MIXER_PID" 2>/dev/null; then
    kill -TERM "$MIXER_PID" 2>/dev/null || true
    local deadline=$((SECONDS + 10))
    while kill -0 "$MIXER_PID" 2>/dev/null && ((SECONDS < deadline)); do
      sleep 0.1
    done
    kill -KILL "$MIXER_PID" 2>/dev/null || true
  fi
  MIXER_STATUS=0
  wait "$MIXER_PID" 2>/dev/null || MIXER_STATUS=$?
  MIXER_PID=""
}

# start_confab [EXTRA-OPTIONS...]: confab on SIP_PORT (UDP and TCP) and TLS_PORT (free ones; the
# same again with KEEP_PORTS=1), the API off (or on $CONFAB_API, e.g. 127.0.0.1:0), its data in
# $WORK/data, its log in $WORK/confab.log;
# returns once it listens. In remote-mixer mode confab-mixer starts first and confab gets --mixer.
start_confab() {
  local mixer_options=()
  if [[ -n "$MIXER_BIN" ]]; then
    [[ -n "$MIXER_PID" ]] || start_mixer
    mixer_options=(--mixer "127.0.0.1:$MIXER_PORT"
      --mixer-secret-file "${CONFAB_MIXER_SECRET_FILE:-$WORK/mixer.secret}" --mixer-tls yes)
  fi
  # KEEP_PORTS=1: a restart on the ports of the last start (whatever the old connections left).
  if [[ "${KEEP_PORTS:-0}" != 1 || -z "$SIP_PORT" ]]; then
    SIP_PORT="$(free_port)"
    TLS_PORT="$(free_port)"
    while [[ "$TLS_PORT" == "$SIP_PORT" ]]; do TLS_PORT="$(free_port)"; done
  fi
  CONFAB_LOG="$WORK/confab.log"
  mkdir -p "$WORK/data"
  (
    cd "$WORK"
    exec "$CONFAB_BIN" \
      --sip-udp "127.0.0.1:$SIP_PORT" --sip-tcp "127.0.0.1:$SIP_PORT" \
      --sip-tls "127.0.0.1:$TLS_PORT" --api "${CONFAB_API:-off}" \
      --rtp-ports "${CONFAB_RTP_PORTS:-21000-22999}" --data-dir "$WORK/data" \
      "${mixer_options[@]}" "$@"
  ) >"$CONFAB_LOG" 2>&1 &
  CONFAB_PID=$!
  wait_for_port "$SIP_PORT" 15
  wait_for_port "$TLS_PORT" 15
  # UDP has no handshake to wait for: confab prints its listening points once all are bound.
  local deadline=$((SECONDS + 10))
  until grep -q "SIP UDP on 127.0.0.1:$SIP_PORT" "$CONFAB_LOG"; do
    ((SECONDS < deadline)) || fail "confab did not report its UDP listening point"
    sleep 0.1
  done
  log "confab pid $CONFAB_PID on udp/tcp $SIP_PORT, tls $TLS_PORT"
}

# wait_confab_exit SECONDS: waits for confab to leave by itself; sets CONFAB_STATUS.
wait_confab_exit() {
  local seconds=$1
  local deadline=$((SECONDS + seconds))
  while kill -0 "$CONFAB_PID" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "confab still running ${seconds}s after it was asked to stop"
    sleep 0.1
  done
  CONFAB_STATUS=0
  wait "$CONFAB_PID" || CONFAB_STATUS=$?
  CONFAB_PID=""
}

# stop_confab: SIGTERM, then waits (bounded) for it to leave; sets CONFAB_STATUS. In remote-mixer
# mode confab-mixer is stopped next and must leave cleanly too (sanitizer builds report there).
stop_confab() {
  [[ -n "$CONFAB_PID" ]] || return 0
  kill -TERM "$CONFAB_PID"
  wait_confab_exit 10
  if [[ -n "$MIXER_PID" ]]; then
    stop_mixer
    assert_eq 0 "$MIXER_STATUS" "confab-mixer's exit status after SIGTERM"
  fi
}

assert_confab_alive() {
  kill -0 "$CONFAB_PID" 2>/dev/null || fail "confab is no longer running ${1:-}"
}

# CPU seconds (user + system) used so far by process PID.
cpu_seconds() {
  local pid=$1 tck
  tck="$(getconf CLK_TCK)"
  # Fields 14 and 15 of /proc/PID/stat after the parenthesised command name.
  awk -v tck="$tck" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / tck }' "/proc/$pid/stat"
}

assert_eq() {
  local expected=$1 actual=$2 what=$3
  [[ "$expected" == "$actual" ]] || fail "$what: expected '$expected', got '$actual'"
}

# count_when FILE PATTERN N [SECONDS]: prints how many lines of FILE match the extended regex
# PATTERN, once there are at least N or after SECONDS (default 10). For lines another process
# writes (confab's log): a single read right after the event can come before the line does.
count_when() {
  local file=$1 pattern=$2 want=$3 deadline=$((SECONDS + ${4:-10})) count
  while :; do
    count="$(grep -Ec -- "$pattern" "$file" 2>/dev/null || true)"
    ((count >= want || SECONDS >= deadline)) && break
    sleep 0.1
  done
  echo "${count:-0}"
}

# free_rtp_range COUNT: prints FIRST-LAST, COUNT free UDP ports (from an even one) for a confab's
# RTP, under the kernel's ephemeral ports (which the phones use) and away from the default range
# other tests' confab takes. Export it as CONFAB_RTP_PORTS before start_confab.
free_rtp_range() {
  python3 - "$1" <<'PYEOF'
import random, socket, sys
count = int(sys.argv[1])
for _ in range(200):
    first = random.randrange(23000, 32000, 2)
    socks = []
    try:
        for p in range(first, first + count):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(s)
            s.bind(("0.0.0.0", p))
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(f"{first}-{first + count - 1}")
    break
else:
    raise SystemExit(f"no free range of {count} UDP ports")
PYEOF
}

# wait_api_address: sets API to the http://ADDR:PORT (https:// with --api-tls) confab logged for
# its API (with CONFAB_API=127.0.0.1:0 it picks a port), waiting at most 10 s: confab prints it
# just after the SIP listening points start_confab waits for. Then issues an operator key
# (`confab key add`, on the running server's store) and exports its token as CONFAB_API_TOKEN for
# the test's clients (Authorization: Bearer $CONFAB_API_TOKEN).
API=""
export CONFAB_API_TOKEN=""
wait_api_address() {
  local deadline=$((SECONDS + 10))
  until API="$(sed -n 's|^confab: API on \(https\{0,1\}://[0-9.:]*\)$|\1|p' "$CONFAB_LOG" | head -n1)" &&
    [[ -n "$API" ]]; do
    ((SECONDS < deadline)) || fail "confab did not log its API address"
    sleep 0.1
  done
  CONFAB_API_TOKEN="$(timeout -k 5 30 "$CONFAB_BIN" key add --operator --name tests \
    --data-dir "$WORK/data" | sed -n 's/^token: //p')"
  [[ -n "$CONFAB_API_TOKEN" ]] || fail "confab key add --operator gave no token"
}

# start_confab_api [confab options...]: start_confab with the API on a free loopback port, then
# wait_api_address; exports API (http://127.0.0.1:PORT) and CONFAB_API_TOKEN for the clients.
start_confab_api() {
  CONFAB_API="127.0.0.1:0"
  export CONFAB_API
  start_confab "$@"
  wait_api_address
  export API
}

# start_phone NAME [ARGS...]: audio_phone.py calling room 1000 in the background, on the test's
# timeline (MEDIA_S seconds of media from start_at, the last ANALYZE_S judged at the frequencies in
# PHONE_DETECT, stopped after $budget s); ARGS go to audio_phone.py. Its verdict goes to
# $WORK/NAME.json, its call's identity to $WORK/NAME.info, its pid to PHONE_PID[NAME].
declare -A PHONE_PID
start_phone() {
  local name=$1
  shift
  timeout -k 5 "$budget" python3 "$INTEG_DIR/audio_phone.py" --port "$SIP_PORT" --room 1000 \
    --name "$name" --duration "$MEDIA_S" --analyze "$ANALYZE_S" --start-at "$start_at" \
    --detect "${PHONE_DETECT:-1000,1500,2000}" --info-file "$WORK/$name.info" "$@" \
    >"$WORK/$name.json" 2>"$WORK/$name.err" &
  PHONE_PID[$name]=$!
  HELPER_PIDS+=("$!")
}

# sip_options PORT [UDP|TCP [USER]]: one OPTIONS to sip:USER@127.0.0.1:PORT (USER: 1000); prints
# the answer's status line.
sip_options() {
  INTEG_DIR="$INTEG_DIR" python3 - "$1" "${2:-UDP}" "${3:-1000}" <<'PYEOF'
import os, socket, sys
sys.path.insert(0, os.environ["INTEG_DIR"])
from sipclient import Dialog
port, transport, user = int(sys.argv[1]), sys.argv[2], sys.argv[3]
if transport == "UDP":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
else:
    s = socket.create_connection(("127.0.0.1", port), 5)
s.settimeout(5)
d = Dialog(transport, "127.0.0.1", s.getsockname()[1], user, "127.0.0.1", port)
s.sendto(d.request("OPTIONS"), ("127.0.0.1", port)) if transport == "UDP" else s.sendall(d.request("OPTIONS"))
print(s.recv(65536).split(b"\r\n", 1)[0].decode())
PYEOF
}

# wait_for_line FILE PATTERN SECONDS WHAT [ERROR-FILE]: until a line of FILE matches the grep
# regular expression PATTERN; else fails with WHAT (and ERROR-FILE's text, a helper's stderr).
wait_for_line() {
  local file=$1 pattern=$2 seconds=$3 what=$4 errors=${5:-}
  local deadline=$((SECONDS + seconds))
  until grep -q -- "$pattern" "$file" 2>/dev/null; do
    ((SECONDS < deadline)) ||
      fail "$what (no /$pattern/ in $file after ${seconds}s)${errors:+: $(cat "$errors" 2>/dev/null)}"
    sleep 0.05
  done
}

assert_file_contains() {
  local file=$1 pattern=$2 what=$3
  grep -Eq -- "$pattern" "$file" || fail "$what: /$pattern/ not found in $file"
}

# start_sipp NAME SECONDS [SIPP-ARGS...]: starts sipp in the background against confab's SIP port,
# with its statistics in $WORK/NAME.csv, final screen in $WORK/NAME_screen.log, errors in
# $WORK/NAME_errors.log; SECONDS bounds the whole run. Sets SIPP_PID (the pid of `timeout`, which
# passes SIGTERM on to sipp) and SIPP_PORT (its SIP port, for a SIPp UAS that confab calls).
SIPP_PID=""
SIPP_PORT=""
SIPP_STATUS=""
start_sipp() {
  local name=$1 seconds=$2
  shift 2
  require_tool sipp
  rm -f "$WORK/$name".csv "$WORK/$name"_*.log
  local local_port
  local_port="$(free_port)"
  SIPP_PORT=$local_port
  (
    cd "$WORK"
    exec timeout -k 5 "$((seconds + 10))" sipp "127.0.0.1:$SIP_PORT" -i 127.0.0.1 -p "$local_port" \
      -nostdin -timeout "${seconds}s" -timeout_error \
      -trace_stat -stf "$WORK/$name.csv" -fd 1 \
      -trace_screen -screen_file "$WORK/${name}_screen.log" \
      -trace_err -error_file "$WORK/${name}_errors.log" \
      "$@"
  ) >"$WORK/${name}_stdout.log" 2>&1 &
  SIPP_PID=$!
  HELPER_PIDS+=("$SIPP_PID")
}

# finish_sipp NAME PID: waits for the sipp started as PID; sets SIPP_STATUS.
finish_sipp() {
  local name=$1 pid=$2
  SIPP_STATUS=0
  wait "$pid" || SIPP_STATUS=$?
  log "sipp $name exited with status $SIPP_STATUS"
}

# run_sipp NAME SECONDS [SIPP-ARGS...]: start_sipp and finish_sipp.
run_sipp() {
  start_sipp "$@"
  finish_sipp "$1" "$SIPP_PID"
}

# sipp_stat NAME FIELD: the last value of FIELD (e.g. 'SuccessfulCall(C)') in $WORK/NAME.csv.
sipp_stat() {
  local name=$1 field=$2
  python3 - "$WORK/$name.csv" "$field" <<'EOF'
import sys
path, field = sys.argv[1], sys.argv[2]
rows = [l.rstrip("\n").split(";") for l in open(path) if l.strip()]
if len(rows) < 2:
    raise SystemExit(f"{path}: no statistics written")
header, last = rows[0], rows[-1]
if field not in header:
    raise SystemExit(f"{path}: no column {field}")
print(last[header.index(field)])
EOF
}

# Shows what sipp saw, for a failing test: its scenario screen (message counts) and its errors.
show_sipp() {
  local name=$1
  if [[ -s "$WORK/${name}_screen.log" ]]; then
    echo "[$TEST_NAME] --- sipp $name, scenario screen ---" >&2
    sed -n '1,/Statistics Screen/p' "$WORK/${name}_screen.log" | head -n 40 >&2
  else
    echo "[$TEST_NAME] --- sipp $name, output ---" >&2
    tail -n 30 "$WORK/${name}_stdout.log" >&2
  fi
  if [[ -s "$WORK/${name}_errors.log" ]]; then
    echo "[$TEST_NAME] --- sipp $name, errors ---" >&2
    head -c 3000 "$WORK/${name}_errors.log" >&2
    echo >&2
  fi
}

# assert_sipp_clean NAME CALLS: sipp exited 0 and its final statistics show CALLS successful
# calls, no failed call, no retransmission, no unexpected or out-of-call message.
assert_sipp_clean() {
  local name=$1 calls=$2 value problems=""
  [[ -s "$WORK/$name.csv" ]] || { show_sipp "$name"; fail "sipp $name wrote no statistics"; }
  [[ "$SIPP_STATUS" == 0 ]] || problems+=" exit status $SIPP_STATUS (0: every call succeeded);"
  value="$(sipp_stat "$name" 'SuccessfulCall(C)')"
  [[ "$value" == "$calls" ]] || problems+=" $value successful calls instead of $calls;"
  local field
  for field in 'FailedCall(C)' 'Retransmissions(C)' 'FailedUnexpectedMessage(C)' \
    'OutOfCallMsgs(C)' 'DeadCallMsgs(C)' 'FailedRegexpDoesntMatch(C)' 'FailedTimeoutOnRecv(C)'; do
    value="$(sipp_stat "$name" "$field")"
    [[ "$value" == 0 ]] || problems+=" $field = $value;"
  done
  if [[ -n "$problems" ]]; then
    show_sipp "$name"
    fail "sipp $name:$problems"
  fi
  log "sipp $name: $calls calls successful, 0 failed, 0 retransmissions, 0 unexpected"
}

# duration_seconds HH:MM:SS[:USEC] -> seconds, as SIPp writes durations in its statistics.
duration_seconds() {
  awk -F: '{ printf "%.6f\n", $1 * 3600 + $2 * 60 + $3 + (NF > 3 ? $4 / 1e6 : 0) }' <<<"$1"
}

# epoch_seconds "DATE<TAB>TIME<TAB>EPOCH" -> EPOCH, as SIPp writes StartTime and CurrentTime.
epoch_seconds() {
  awk -F'\t' '{ print $NF }' <<<"$1"
}

# run_load NAME RATE CALLS [EXTRA-SIPP-ARGS...]: SIPp's built-in UAC places CALLS calls of 1 s to
# room 1000 at RATE calls/s over UDP (at most max(200, 2*RATE) at once) against the running confab.
# Sets LOAD_SUCCESS, LOAD_FAILED, LOAD_RETRANS, LOAD_UNEXPECTED, LOAD_CPS (calls placed per second:
# CALLS / (run time - mean call length), i.e. over the time from the first INVITE to the last),
# LOAD_RESPONSE_MS (mean time from INVITE to 200, SIPp measures it in whole milliseconds) and
# LOAD_CPU (confab's user+system CPU seconds during the run).
run_load() {
  local name=$1 rate=$2 calls=$3
  shift 3
  local limit=$((2 * rate > 200 ? 2 * rate : 200))
  local seconds=$((calls / rate + 60))
  local cpu_before cpu_after
  cpu_before="$(cpu_seconds "$CONFAB_PID")"
  run_sipp "$name" "$seconds" -sn uac -s 1000 -m "$calls" -r "$rate" -l "$limit" -d 1000 -t u1 "$@"
  assert_confab_alive "after the load run $name"
  cpu_after="$(cpu_seconds "$CONFAB_PID")"
  read_load "$name" "$calls"
  LOAD_CPU="$(awk -v a="$cpu_before" -v b="$cpu_after" 'BEGIN { printf "%.2f\n", b - a }')"
}

# read_load NAME CALLS: the LOAD_* figures of run_load but LOAD_CPU, from the statistics of the
# SIPp run NAME that placed CALLS calls.
read_load() {
  local name=$1 calls=$2
  [[ -s "$WORK/$name.csv" ]] || { show_sipp "$name"; fail "sipp $name wrote no statistics"; }
  LOAD_SUCCESS="$(sipp_stat "$name" 'SuccessfulCall(C)')"
  LOAD_FAILED="$(sipp_stat "$name" 'FailedCall(C)')"
  LOAD_RETRANS="$(sipp_stat "$name" 'Retransmissions(C)')"
  LOAD_UNEXPECTED="$(sipp_stat "$name" 'FailedUnexpectedMessage(C)')"
  local start end length response
  start="$(epoch_seconds "$(sipp_stat "$name" 'StartTime')")"
  end="$(epoch_seconds "$(sipp_stat "$name" 'CurrentTime')")"
  length="$(duration_seconds "$(sipp_stat "$name" 'CallLength(C)')")"
  response="$(duration_seconds "$(sipp_stat "$name" 'ResponseTime1(C)')")"
  LOAD_CPS="$(awk -v n="$calls" -v a="$start" -v b="$end" -v l="$length" 'BEGIN {
    d = b - a - l; if (d < 0.001) d = 0.001; printf "%.1f\n", n / d }')"
  LOAD_RESPONSE_MS="$(awk -v t="$response" 'BEGIN { if (t < 0.001) print "<1"; else printf "%.0f\n", t * 1000 }')"
}
