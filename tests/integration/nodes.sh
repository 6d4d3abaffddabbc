# Several confab nodes behind Kamailio (deploy/kamailio), for tests/integration/test_kamailio.sh
# and tests/bench/scale_out.sh; sourced after lib.sh and integ_init. Each node has its own SIP
# port (UDP and TCP), API, RTP range, store and log under $WORK/NAME, and every room in ROOMS.
# shellcheck shell=bash

ROOMS=("${ROOMS[@]:-1000}")
# Extra options for every node (e.g. --log-level trace).
NODE_OPTIONS=("${NODE_OPTIONS[@]}")
declare -A NODE_PORT NODE_PID NODE_API NODE_TOKEN NODE_RTP
KAMAILIO_PID=""
PROXY_PORT=""

# start_node NAME: starts (or restarts, on the same ports) node NAME; returns once it listens.
# Its pid is ended with the test's helpers.
start_node() {
  local name=$1 dir="$WORK/$1"
  mkdir -p "$dir/data"
  [[ -n "${NODE_PORT[$name]:-}" ]] || NODE_PORT[$name]="$(free_port)"
  [[ -n "${NODE_RTP[$name]:-}" ]] || NODE_RTP[$name]="$(free_rtp_range "${NODE_RTP_PORTS:-100}")"
  local rooms=() r
  for r in "${ROOMS[@]}"; do rooms+=(--room "$r"); done
  [[ ! -f "$dir/confab.log" ]] || mv "$dir/confab.log" "$dir/confab.log.$SECONDS"
  "$CONFAB_BIN" --sip-udp "127.0.0.1:${NODE_PORT[$name]}" --sip-tcp "127.0.0.1:${NODE_PORT[$name]}" \
    --sip-tls off --api 127.0.0.1:0 --rtp-ports "${NODE_RTP[$name]}" --data-dir "$dir/data" \
    "${rooms[@]}" "${NODE_OPTIONS[@]}" >"$dir/confab.log" 2>&1 &
  NODE_PID[$name]=$!
  HELPER_PIDS+=("${NODE_PID[$name]}")
  local deadline=$((SECONDS + 15))
  until NODE_API[$name]="$(sed -n 's|^confab: API on \(http://[0-9.:]*\)$|\1|p' "$dir/confab.log")" &&
    [[ -n "${NODE_API[$name]}" ]] && grep -q "SIP UDP on 127.0.0.1:${NODE_PORT[$name]}" "$dir/confab.log"; do
    kill -0 "${NODE_PID[$name]}" 2>/dev/null ||
      fail "node $name exited while starting: $(tail -n 5 "$dir/confab.log")"
    ((SECONDS < deadline)) || fail "node $name did not log its listening points"
    sleep 0.1
  done
  if [[ -z "${NODE_TOKEN[$name]:-}" ]]; then
    NODE_TOKEN[$name]="$(timeout -k 5 30 "$CONFAB_BIN" key add --operator --name tests \
      --data-dir "$dir/data" | sed -n 's/^token: //p')"
    [[ -n "${NODE_TOKEN[$name]}" ]] || fail "no operator key for node $name"
  fi
  log "node $name: pid ${NODE_PID[$name]}, SIP 127.0.0.1:${NODE_PORT[$name]}, API ${NODE_API[$name]}"
}

# node_of PORT: the name of the node on SIP port PORT ("?PORT" for none).
node_of() {
  local name
  for name in "${!NODE_PORT[@]}"; do
    [[ "${NODE_PORT[$name]}" == "$1" ]] && { echo "$name"; return; }
  done
  echo "?$1"
}

# metric NAME PREFIX [NONE]: the sum of node NAME's /metrics samples whose name and labels start
# with PREFIX; NONE (when given) if there is none, else a failure. Call it in an assignment, never
# inside $(( )), so that a failure ends the test.
metric() {
  local text
  text="$(curl -sf --max-time 5 -H "Authorization: Bearer ${NODE_TOKEN[$1]}" "${NODE_API[$1]}/metrics")" ||
    fail "GET /metrics on node $1 failed"
  PREFIX="$2" NONE="${3:-}" awk 'index($1, ENVIRON["PREFIX"]) == 1 { sum += $2; found = 1 }
    END { if (found) print sum + 0; else if (ENVIRON["NONE"] != "") print ENVIRON["NONE"]; else exit 1 }' \
    <<<"$text" || fail "node $1's /metrics has no sample $2..."
}

# start_kamailio [KAMAILIO-OPTIONS...]: Debian's kamailio with deploy/kamailio/kamailio.cfg (and
# KAMAILIO_SHM_MB of shared memory, 64 by default) on
# PROXY_PORT (UDP and TCP, a free one), every node started so far in its dispatcher list; returns
# once an OPTIONS to ROOMS[0] through it gets 200 from a node.
start_kamailio() {
  require_tool kamailio
  PROXY_PORT="$(free_port)"
  local name
  {
    echo "# setid destination flags priority"
    for name in "${!NODE_PORT[@]}"; do echo "1 sip:127.0.0.1:${NODE_PORT[$name]} 0 0"; done
  } >"$WORK/dispatcher.list"
  mkdir -p "$WORK/kamailio"
  kamailio -f "$INTEG_DIR/../../deploy/kamailio/kamailio.cfg" \
    -A "DISPATCHER_LIST=\"$WORK/dispatcher.list\"" "$@" \
    -l "udp:127.0.0.1:$PROXY_PORT" -l "tcp:127.0.0.1:$PROXY_PORT" -m "${KAMAILIO_SHM_MB:-64}" -M 8 \
    -DD -E -Y "$WORK/kamailio" -P "$WORK/kamailio/kamailio.pid" -w "$WORK/kamailio" \
    >"$WORK/kamailio.log" 2>&1 &
  KAMAILIO_PID=$!
  HELPER_PIDS+=("$KAMAILIO_PID")
  local deadline=$((SECONDS + 15))
  until [[ "$(sip_options "$PROXY_PORT" UDP "${ROOMS[0]}" 2>/dev/null || true)" == "SIP/2.0 200"* ]]; do
    kill -0 "$KAMAILIO_PID" 2>/dev/null || fail "kamailio exited: $(tail -n 20 "$WORK/kamailio.log")"
    ((SECONDS < deadline)) || fail "no OPTIONS 200 through kamailio on $PROXY_PORT"
    sleep 0.2
  done
  log "kamailio pid $KAMAILIO_PID on udp/tcp $PROXY_PORT; OPTIONS through it: 200"
}
