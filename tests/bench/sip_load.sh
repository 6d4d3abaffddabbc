#!/usr/bin/env bash
# SIP signalling load benchmark, one command: builds an optimised confab (unless given one; build
# type from CONFAB_BENCH_BUILD_TYPE, RelWithDebInfo by default, the tests' build), then has
# SIPp's built-in UAC place one-second calls over UDP at rising rates (1000 calls at 50 cps, then
# 10 s worth of calls at 200, 500, 1000 cps...) until a rate sees a failed call, a retransmission
# or an unexpected message, and writes the table into tests/bench/RESULTS.md, section
# "## SIP signalling load" (the rest of the file is kept).
#   tests/bench/sip_load.sh [PATH-TO-CONFAB] [RATE...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

confab="${1:-}"
[[ -n "$confab" ]] || confab="$(bash "$here/build_confab.sh")"
shift || true
rates=("$@")
((${#rates[@]})) || rates=(50 200 500 1000 2000)

# The rooms fill with up to RATE participants at once: leave room for that many media ports.
export CONFAB_RTP_PORTS=20000-29999
source "$repo/tests/integration/lib.sh"
integ_init "$confab"
start_confab --log-level warning --trusted-source 127.0.0.1  # SIPp stands for a proxy

rows=()
best=""
for rate in "${rates[@]}"; do
  calls=$((rate == 50 ? 1000 : rate * 10))
  run_load "load_$rate" "$rate" "$calls"
  clean=yes
  [[ "$LOAD_SUCCESS" == "$calls" && "$LOAD_FAILED" == 0 && "$LOAD_RETRANS" == 0 &&
    "$LOAD_UNEXPECTED" == 0 ]] || clean=no
  per1000="$(awk -v c="$LOAD_CPU" -v n="$calls" 'BEGIN { printf "%.2f\n", c * 1000 / n }')"
  line="load: $calls calls at $rate cps (achieved $LOAD_CPS cps), $LOAD_SUCCESS ok, $LOAD_FAILED failed,"
  line+=" $LOAD_RETRANS retransmissions, $LOAD_UNEXPECTED unexpected, mean INVITE->200"
  line+=" $LOAD_RESPONSE_MS ms, confab CPU $LOAD_CPU s"
  echo "$line"
  rows+=("| $rate | $LOAD_CPS | $calls | $LOAD_SUCCESS | $LOAD_FAILED | $LOAD_RETRANS | $LOAD_UNEXPECTED | $LOAD_RESPONSE_MS | $LOAD_CPU | $per1000 |")
  if [[ $clean == no ]]; then
    break
  fi
  best=$rate
  # Let the calls of one run end (and their media ports close) before the next.
  sleep 2
done
stop_confab

results="$here/RESULTS.md"
section="$WORK/section.md"
{
  echo "## SIP signalling load"
  echo
  echo "Measured $(date -u +%Y-%m-%d) by \`tests/bench/sip_load.sh\` at commit" \
    "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)," \
    "$(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo))," \
    "confab from $(realpath --relative-to="$repo" "$confab" 2>/dev/null || echo "$confab")" \
    "($(grep -m1 '^CMAKE_BUILD_TYPE:' "$(dirname "$(dirname "$confab")")/CMakeCache.txt" 2>/dev/null |
      cut -d= -f2 || echo "build type unknown")), SIPp $(sipp -v 2>&1 |
      awk '/SIPp v/ { print $2; exit }' | sed 's/[.,]*$//') on the same machine over 127.0.0.1 UDP."
  echo "SIPp's built-in \`uac\` scenario (INVITE, 200, ACK, 1 s pause, BYE, 200) to room 1000:" \
    "every call joins the same room. Achieved rate: calls / (run time - mean call length)." \
    "CPU: confab's user + system time over the run (/proc/PID/stat). SIPp itself runs on the" \
    "same cores and is single-threaded, so the highest rates measure it as much as confab."
  echo
  echo "| target cps | achieved cps | calls | successful | failed | retransmissions | unexpected | mean INVITE->200 (ms) | confab CPU (s) | CPU s per 1000 calls |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
  echo
  if [[ -n "$best" ]]; then
    echo "Highest rate tried with every call successful, no retransmission and nothing unexpected:" \
      "**$best cps**$([[ "$best" == "${rates[-1]}" ]] && echo " (the highest rate tried)")."
  else
    echo "No rate tried completed cleanly."
  fi
} >"$section"

python3 "$here/replace_section.py" "$results" "## SIP signalling load" "$section"
echo "wrote $results"
