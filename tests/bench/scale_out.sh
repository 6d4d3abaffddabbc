#!/usr/bin/env bash
# Scale-out benchmark, one command: calls per second through Kamailio (deploy/kamailio) to two
# confab nodes. Builds an optimised confab (unless given one), starts two nodes and Kamailio on
# loopback ports, and has SIPp place one-second calls (INVITE, 200, ACK, 1 s, BYE through the
# Record-Route) to 100 rooms in turn, at rising rates (10 s worth of calls each) until a rate sees
# a failed call, a retransmission or an unexpected message. Writes the table into
# tests/bench/RESULTS.md, section "## Scale-out: Kamailio in front of two nodes".
#   tests/bench/scale_out.sh [PATH-TO-CONFAB] [RATE...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

confab="${1:-}"
[[ -n "$confab" ]] || confab="$(bash "$here/build_confab.sh")"
shift || true
rates=("$@")
((${#rates[@]})) || rates=(50 100 200 400 600 800 1000)

source "$repo/tests/integration/lib.sh"
integ_init "$confab"
ROOMS=()
for ((i = 3000; i < 3100; i++)); do ROOMS+=("$i"); done
# Kamailio is the only source the nodes see: trusted, as an operator configures it.
NODE_OPTIONS=(--log-level warning --trusted-source 127.0.0.1)
NODE_RTP_PORTS=1600
source "$repo/tests/integration/nodes.sh"
start_node a
start_node b
# SIPp stands for a PBX or SBC that brings every caller from one address. Transactions live in
# Kamailio's shared memory: with 64 MB it runs out at about 500 cps ("500 No error (2/SL)").
KAMAILIO_SHM_MB=512
start_kamailio -A FLOOD_REQUESTS=1000000
{
  echo SEQUENTIAL
  printf '%s;\n' "${ROOMS[@]}"
} >"$WORK/rooms.csv"

# cpu: user + system seconds of both nodes and every kamailio process so far.
cpu() {
  local total=0 pid
  for pid in "${NODE_PID[a]}" "${NODE_PID[b]}" "$KAMAILIO_PID" $(pgrep -P "$KAMAILIO_PID"); do
    total="$(awk -v t="$total" -v c="$(cpu_seconds "$pid")" 'BEGIN { printf "%.2f", t + c }')"
  done
  echo "$total"
}
# answered NAME: INVITEs node NAME answered 200 so far (its SIP transaction counts).
answered() { metric "$1" 'confab_sip_transactions_total{side="server",method="INVITE",status="200"}' 0; }

SIP_PORT="$PROXY_PORT" # start_sipp aims at SIP_PORT
rows=()
best=""
for rate in "${rates[@]}"; do
  calls=$((rate * 10))
  name="scale_$rate"
  cpu_before="$(cpu)"
  run_sipp "$name" $((calls / rate + 60)) -sf "$here/scenarios/uac_rooms.xml" -inf "$WORK/rooms.csv" \
    -m "$calls" -r "$rate" -l $((2 * rate > 200 ? 2 * rate : 200)) -t u1
  cpu_after="$(cpu)"
  for n in a b; do kill -0 "${NODE_PID[$n]}" 2>/dev/null || fail "node $n died at $rate cps"; done
  read_load "$name" "$calls"
  cpu_used="$(awk -v a="$cpu_before" -v b="$cpu_after" 'BEGIN { printf "%.2f\n", b - a }')"
  echo "scale_out: $calls calls at $rate cps (achieved $LOAD_CPS), $LOAD_SUCCESS ok, $LOAD_FAILED failed," \
    "$LOAD_RETRANS retransmissions, $LOAD_UNEXPECTED unexpected, INVITE->200 $LOAD_RESPONSE_MS ms, CPU $cpu_used s"
  per1000="$(awk -v c="$cpu_used" -v n="$calls" 'BEGIN { printf "%.2f\n", c * 1000 / n }')"
  rows+=("| $rate | $LOAD_CPS | $calls | $LOAD_SUCCESS | $LOAD_FAILED | $LOAD_RETRANS | $LOAD_UNEXPECTED | $LOAD_RESPONSE_MS | $cpu_used | $per1000 |")
  if ! [[ "$LOAD_SUCCESS" == "$calls" && "$LOAD_FAILED" == 0 && "$LOAD_RETRANS" == 0 && "$LOAD_UNEXPECTED" == 0 ]]; then
    # What SIPp got instead: the status lines of the unexpected messages, most frequent first.
    refusals="$(grep -ao 'SIP/2.0 [0-9]\{3\} [^[:cntrl:]]*' "$WORK/${name}_errors.log" 2>/dev/null |
      sort | uniq -c | sort -rn | head -n 3 | awk '{ $1 = $1 " x"; print }' | paste -sd ';' || true)"
    echo "scale_out: at $rate cps SIPp got: ${refusals:-nothing it could name}"
    break
  fi
  best=$rate
  sleep 2
done
# The split: every call's 200 as the nodes counted them (transactions end up to 32 s later).
sleep 33
a_calls="$(answered a)"
b_calls="$(answered b)"

results="$here/RESULTS.md"
section="$WORK/section.md"
{
  echo "## Scale-out: Kamailio in front of two nodes"
  echo
  echo "Measured $(date -u +%Y-%m-%d) by \`tests/bench/scale_out.sh\` at commit" \
    "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)," \
    "$(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)): Kamailio" \
    "$(kamailio -v 2>/dev/null | awk '/^version:/ { print $3; exit }') with deploy/kamailio/kamailio.cfg," \
    "two confab nodes ($(realpath --relative-to="$repo" "$confab" 2>/dev/null || echo "$confab")) and" \
    "SIPp $(sipp -v 2>&1 | awk '/SIPp v/ { print $2; exit }' | sed 's/[.,]*$//'), all on this machine over 127.0.0.1 UDP."
  echo "SIPp places one-second calls (tests/bench/scenarios/uac_rooms.xml: INVITE, 200, ACK, 1 s," \
    "BYE, each in-dialog request through the Record-Route) to 100 rooms in turn; the dispatcher" \
    "hashes the room onto a node. Achieved rate: calls / (run time - mean call length). CPU: both" \
    "nodes' and every Kamailio process's user + system time over the run. Everything shares the" \
    "two cores, SIPp included, so this is the whole chain's cost on one small machine, not a" \
    "node's ceiling (one node alone: \"SIP signalling load\" above). Kamailio runs with" \
    "$KAMAILIO_SHM_MB MB of shared memory: with Debian's default 64 MB its transactions run out" \
    "of it at about 500 cps (500 \"No error (2/SL)\" answers)."
  echo
  echo "| target cps | achieved cps | calls | successful | failed | retransmissions | unexpected | mean INVITE->200 (ms) | CPU, nodes + Kamailio (s) | CPU s per 1000 calls |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Calls answered per node over all rates: a $a_calls, b $b_calls (100 rooms hashed over two nodes)."
  [[ -z "${refusals:-}" ]] || echo "At the first rate that failed, SIPp got instead of 200: $refusals."
  if [[ -n "$best" ]]; then
    echo "Highest rate tried with every call successful, no retransmission and nothing unexpected:" \
      "**$best cps**$([[ "$best" == "${rates[-1]}" ]] && echo " (the highest rate tried)")."
  else
    echo "No rate tried completed cleanly."
  fi
} >"$section"
python3 "$here/replace_section.py" "$results" "## Scale-out: Kamailio in front of two nodes" "$section"
echo "wrote $results"
