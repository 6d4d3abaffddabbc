#!/usr/bin/env bash
# Policy store benchmark, one command: builds tests/bench/bench_policy.cpp in Release, runs it on
# a scratch SQLite file and on a scratch PostgreSQL server (tests/postgres/server.sh, on a Unix
# socket, with fsync on as a real server has it), and writes both tables into
# tests/bench/RESULTS.md, section "## Policy store at call time" (the rest of the file is kept).
#   tests/bench/policy.sh [TENANTS] [ROOMS-PER-TENANT] [LOOKUPS]   (default 100 100 100000)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
tenants="${1:-100}"
rooms="${2:-100}"
lookups="${3:-100000}"
build="$repo/build/bench-policy"
work="$(mktemp -d /tmp/confab-bench-policy.XXXXXX)"
chmod 755 "$work"
trap 'bash "$repo/tests/postgres/server.sh" stop "$work/pg" || true; rm -rf "$work"' EXIT

cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >"$work/cmake.log" 2>&1 &&
  cmake --build "$build" --target bench_policy >>"$work/cmake.log" 2>&1 ||
  { tail -n 20 "$work/cmake.log" >&2; echo "policy.sh: build failed" >&2; exit 1; }
load="$(cut -d' ' -f1 /proc/loadavg)"
"$build/tests/bench_policy" "$work" "$tenants" "$rooms" "$lookups" >"$work/table.md"
cat "$work/table.md"
uri="$(PG_FSYNC=on bash "$repo/tests/postgres/server.sh" start "$work/pg")"
pg_version="$("$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/postgres" --version)"
"$build/tests/bench_policy" "$uri" "$tenants" "$rooms" "$lookups" >"$work/table-pg.md"
cat "$work/table-pg.md"

section="$work/section.md"
{
  echo "## Policy store at call time"
  echo
  echo "Measured $(date -u +%Y-%m-%d) by \`tests/bench/policy.sh\` at commit" \
    "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)," \
    "$(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), load average" \
    "$load at the start; $tenants tenants with a domain each and $rooms rooms each (plus tenant" \
    "default owning '*'), the same program on both stores."
  echo "What the SIP thread spends per call: finding the room a Request-URI names (the tenant" \
    "that owns the domain, then its room), and checking a PIN (salted PBKDF2-HMAC-SHA256, the" \
    "store's iteration count). Target: a lookup well under a millisecond (the focus answers" \
    "within T1 = 500 ms with room to spare at 1000 calls/s, see SIP signalling load); a PIN" \
    "check is paid once per answer a caller keys, at most a few per call, and bounded per" \
    "address by the abuse controls."
  echo
  echo "SQLite $(pkg-config --modversion sqlite3), WAL mode (synchronous=NORMAL: a commit is not" \
    "flushed to the disk), on the local disk:"
  echo
  cat "$work/table.md"
  echo
  echo "$pg_version on this machine, over its Unix socket (one round trip per query;" \
    "fsync on, synchronous_commit on: each commit waits for the WAL flush), the store as" \
    "several nodes share it:"
  echo
  cat "$work/table-pg.md"
} >"$section"

python3 "$here/replace_section.py" "$here/RESULTS.md" "## Policy store at call time" "$section"
echo "wrote $here/RESULTS.md"
