#!/usr/bin/env bash
# Kernel UDP I/O cost per packet on loopback, by method, one command (root: raw sockets and
# SCHED_FIFO). Builds tests/bench/bench_udp_io.cpp with g++ and liburing (installed if missing),
# runs each variant for N = 500 and 2000 sockets, twice, and writes the table into
# tests/bench/RESULTS.md, section "## Kernel UDP I/O per packet". About 2 minutes.
#   tests/bench/udp_io.sh            (RT= tests/bench/udp_io.sh: without SCHED_FIFO)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d /tmp/confab-bench-udp.XXXXXX)"
trap 'rm -rf "$work"' EXIT
dpkg -s liburing-dev >/dev/null 2>&1 ||
  { apt-get install -y liburing-dev || { apt-get update && apt-get install -y liburing-dev; }; } >/dev/null
g++ -std=c++20 -O2 -Wall -Wextra -Werror -o "$work/bench" "$here/bench_udp_io.cpp" -luring -lpthread
rt=${RT---rt}
variants=(
  "s1" "s2" "s3msg" "s3send --fixed" "s3send --fixed --defer --skipcqe" "s4raw" "s4raw --csum"
  "s5mm" "r1" "r1 --live" "r2mm" "r2rf" "r3" "r3 --live" "r3 --live --defer" "r5mm" "r5mm --live"
  "r4 --defer --skipcqe" "r4 --defer --skipcqe --fixed --conn"
)
for rep in 1 2; do
  for v in "${variants[@]}"; do
    for n in 500 2000; do
      ticks=$((n == 500 ? 200 : 100))
      # shellcheck disable=SC2086  # the variant is several words on purpose
      line=$(timeout 30 "$work/bench" $rt --mode $v --n "$n" --ticks "$ticks" --warm 20 2>&1 |
        grep RESULT || echo "RESULT mode=${v%% *} flags=FAILED n=$n")
      echo "rep=$rep $line" | tee -a "$work/raw.txt"
    done
  done
done
python3 - "$work/raw.txt" "$(uname -r)" "$(date -u +%Y-%m-%d)" \
  "$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)" >"$work/section.md" <<'PY'
import collections, sys
raw, kernel, date, commit = sys.argv[1:5]
rows = collections.OrderedDict()
for l in open(raw):
    d = dict(kv.split("=", 1) for kv in l.split() if "=" in kv)
    rows.setdefault((d["mode"], d.get("flags", "-")), {}).setdefault(d.get("n", "?"), []).append(d)
what = {
    "s1": "send: `sendto`, unconnected (what the mixer does)",
    "s2": "send: `send` on a connected socket",
    "s3msg": "send: io_uring SENDMSG, unconnected, one submit per tick",
    "s3send": "send: io_uring SEND on connected sockets",
    "s4raw": "send: one raw socket, `sendmmsg` of 64, own IP/UDP headers",
    "r1": "receive: epoll + `recvmmsg` per ready socket (what the mixer does)",
    "r2mm": "receive: `recvmmsg` on every socket, no epoll",
    "r2rf": "receive: `recvfrom` on every socket, no epoll",
    "r3": "receive: io_uring multishot recvmsg, provided buffers",
    "r4": "both: one ring, one submit-and-wait per tick (per rx+tx pair)",
    "s5mm": "send: one shared UDP port, `sendmmsg` of 64 to N peers",
    "r5mm": "receive: one shared UDP port, `recvmmsg` of 64, demultiplexed by source (hash)",
}
out = ["## Kernel UDP I/O per packet", "",
       f"Measured {date} by `tests/bench/udp_io.sh` (commit {commit}), kernel {kernel}. N UDP sockets on"
       " 127.0.0.1, one 172-byte packet each per tick, the 'mixer' thread pinned to CPU0 and its peer"
       " to CPU1 (SCHED_FIFO). Figure: the mixer thread's CPU time per packet (µs), two runs each;"
       " on loopback a send also pays for delivery into the peer's socket. Flags: `--live` = the"
       " mixer waits in its own primitive while packets trickle in (else they are all there when it"
       " reads), `--defer` = IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN, `--fixed` = registered"
       " files, `--skipcqe` = no completion for successful sends, `--conn`/SEND = connected"
       " sockets, `--csum` = UDP checksum computed (else 0).", "",
       "| method | flags | N = 500 | N = 2000 |", "|---|---|---:|---:|"]
for (mode, flags), byn in rows.items():
    cell = lambda runs: " / ".join(r.get("mixer_us_pkt", "failed") for r in runs) or "-"
    out.append(f"| {what.get(mode, mode)} | {flags} | {cell(byn.get('500', []))} | {cell(byn.get('2000', []))} |")
print("\n".join(out))
PY
python3 "$here/replace_section.py" "$here/RESULTS.md" "## Kernel UDP I/O per packet" "$work/section.md"
cat "$work/section.md"
