#!/usr/bin/env bash
# REST API benchmark, one command: builds confab in Release, starts it on loopback pinned to CPU 0
# (the API, the focus and the store share that one thread), and drives it with wrk pinned to
# CPU 1:
#   reads:  GET /v1/rooms/4000@acme with a tenant's bearer key (key lookup, store read, live
#           state, JSON), on keep-alive connections;
#   writes: PATCH /v1/rooms/4000@acme renaming the room (one store transaction per request),
#           with store-sync normal (committed to the WAL before the answer; survives kill -9)
#           and with store-sync full (also flushed to the disk: survives a power loss).
# Writes its table into tests/bench/RESULTS.md, section "## REST API" (the rest is kept).
#   tests/bench/api.sh [SECONDS] [CONNECTIONS]   (default 10 32)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
seconds="${1:-10}"
connections="${2:-32}"
command -v wrk >/dev/null || apt-get install -y -q wrk >/dev/null
build="$repo/build/bench-api"
work="$(mktemp -d /tmp/confab-bench-api.XXXXXX)"
confab_pid=""
cleanup() {
  if [[ -n "$confab_pid" ]]; then kill "$confab_pid" 2>/dev/null || true; wait "$confab_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >"$work/cmake.log" 2>&1 &&
  cmake --build "$build" --target confab >>"$work/cmake.log" 2>&1 ||
  { tail -n 20 "$work/cmake.log" >&2; echo "api.sh: build failed" >&2; exit 1; }
confab="$build/main/confab"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_confab SYNC: confab on fresh ports and the same data directory, pinned to CPU 0.
start_confab() {
  local sip api
  sip="$(free_port)"
  api="$(free_port)"
  taskset -c 0 "$confab" --sip-udp "127.0.0.1:$sip" --sip-tcp "127.0.0.1:$sip" --sip-tls off \
    --api "127.0.0.1:$api" --data-dir "$work/data" --rtp-ports 40000-40999 \
    --log-level warning --store-sync "$1" >"$work/confab.log" 2>&1 &
  confab_pid=$!
  url="http://127.0.0.1:$api"
  for _ in $(seq 100); do
    curl -s -o /dev/null "$url/healthz" && return 0
    sleep 0.1
  done
  cat "$work/confab.log" >&2
  echo "api.sh: confab did not answer" >&2
  exit 1
}
stop_confab() {
  kill "$confab_pid"
  wait "$confab_pid" 2>/dev/null || true
  confab_pid=""
}

start_confab normal
operator="$("$confab" key add --operator --name bench --data-dir "$work/data" | sed -n 's/^token: //p')"
tenant="$(curl -sf -X POST "$url/v1/tenants" -H "Authorization: Bearer $operator" \
  -H 'Content-Type: application/json' -d '{"name":"acme","domains":["acme.example"]}')"
tenant_id="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$tenant")"
key="$(curl -sf -X POST "$url/v1/keys" -H "Authorization: Bearer $operator" \
  -H 'Content-Type: application/json' -d "{\"tenant\":$tenant_id,\"name\":\"bench\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
curl -sf -o /dev/null -X POST "$url/v1/rooms" -H "Authorization: Bearer $key" \
  -H 'Content-Type: application/json' -d '{"user":"4000","name":"Board","participantPin":"2468"}'

cat >"$work/patch.lua" <<EOF
local n = 0
request = function()
  n = n + 1
  return wrk.format("PATCH", "/v1/rooms/4000@acme",
    {["Authorization"] = "Bearer $key", ["Content-Type"] = "application/json"},
    '{"name":"Board ' .. n .. '"}')
end
EOF

# run NAME [wrk options...]: wrk on CPU 1; prints "NAME RPS P50 P99 ERRORS".
run() {
  local name=$1
  shift
  taskset -c 1 wrk -t1 -c "$connections" -d "${seconds}s" --latency \
    -H "Authorization: Bearer $key" "$@" >"$work/$name.txt" 2>&1
  python3 - "$work/$name.txt" "$name" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
def ms(v):
    n, unit = float(re.match(r"[\d.]+", v).group()), re.search(r"[a-z]+", v).group()
    return n * {"us": 0.001, "ms": 1, "s": 1000}[unit]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = ms(re.search(r"50%\s+(\S+)", text).group(1))
p99 = ms(re.search(r"99%\s+(\S+)", text).group(1))
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
errors = re.search(r"Socket errors:.*", text)
print(sys.argv[2], round(rps), round(p50, 2), round(p99, 2),
      (bad.group(1) if bad else "0") + (" / " + errors.group(0) if errors else ""))
EOF
}

load="$(cut -d' ' -f1 /proc/loadavg)"
results=()
results+=("$(run reads "$url/v1/rooms/4000@acme")")
results+=("$(run writes_normal -s "$work/patch.lua" "$url")")
stop_confab
start_confab full
results+=("$(run writes_full -s "$work/patch.lua" "$url")")
stop_confab
# What one flush costs on this disk: the floor under store-sync full.
flush_ms="$(python3 - "$work" <<'EOF'
import os, sys, time
path = os.path.join(sys.argv[1], "flush.test")
fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
n, t = 200, time.perf_counter()
for _ in range(n):
    os.write(fd, b"x" * 4096)
    os.fdatasync(fd)
print(round((time.perf_counter() - t) / n * 1000, 2))
EOF
)"
printf '%s\n' "${results[@]}"

section="$work/section.md"
{
  echo "## REST API"
  echo
  echo "Measured $(date -u +%Y-%m-%d) by \`tests/bench/api.sh $seconds $connections\` at commit" \
    "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)," \
    "$(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), load average" \
    "$load at the start. confab (Release) pinned to CPU 0: one thread runs the API, the focus and" \
    "the policy store; wrk $(wrk --version 2>&1 | head -n1 | awk '{print $2}') pinned to CPU 1," \
    "one thread, $connections keep-alive connections, ${seconds} s per row. Every request carries" \
    "a tenant's bearer key (hashed and looked up in the store each time)."
  echo "Goals (issue 13): authenticated room reads ≥ 5,000/s on one core, durable writes ≥ 500/s."
  echo
  echo "| Request | Requests/s | p50 ms | p99 ms | Errors | Goal |"
  echo "|---|---:|---:|---:|---|---|"
  for row in "${results[@]}"; do
    read -r name rps p50 p99 errors <<<"$row"
    case $name in
      reads) what="GET /v1/rooms/4000@acme (read)"; goal="≥ 5,000/s" ;;
      writes_normal) what="PATCH the room, store-sync normal (survives kill -9)"; goal="≥ 500/s" ;;
      writes_full) what="PATCH the room, store-sync full (survives power loss)"; goal="≥ 500/s" ;;
    esac
    echo "| $what | $rps | $p50 | $p99 | $errors | $goal |"
  done
  echo
  echo "One fdatasync of 4 KiB on this disk takes $flush_ms ms: with store-sync full each commit" \
    "waits for one, and the single store thread commits one change at a time, so its ceiling" \
    "here is about 1000 / $flush_ms changes/s whatever the CPU."
} >"$section"

python3 "$here/replace_section.py" "$here/RESULTS.md" "## REST API" "$section"
echo "wrote $here/RESULTS.md"
