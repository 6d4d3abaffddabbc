#!/usr/bin/env bash
# The README's first command on a machine that has never seen the project: builds a minimal
# Debian 12 root with mmdebstrap (--variant=minbase: the Essential and required packages and
# apt, nothing else), copies a clean clone of this repository's HEAD into it, and in a chroot
# with /proc, /sys and /dev mounted runs `bash scripts/run.sh` on the default options. Passes
# when SIP OPTIONS to 127.0.0.1:5060 gets 200, the Release build printed no compiler warning,
# `GET /health` on 127.0.0.1:8080 answers 200, and confab leaves with status 0 on SIGTERM. Reports the time each step took.
#
#   bash tests/fresh/fresh_machine.sh [--keep] [--test]
#
# --test runs the README's second command instead, `bash scripts/test.sh` (with CONFAB_FRESH=0,
# and ../shared beside the clone as the tests expect), and passes when it exits 0: about 30
# minutes on 2 cores, so it is not part of scripts/test.sh; run it after changing dependencies.
#
# Run as root (mmdebstrap, chroot and mounts). It uses the same Debian mirrors as this machine's
# apt and only loopback ports 5060 (UDP and TCP), 5061 and 8080, which must be free. It cleans up
# its root and its mounts whether it passes or fails (--keep leaves the root for inspection, and
# still unmounts). Each step has a time bound; the whole run is bounded by CONFAB_FRESH_MINUTES
# (default 45).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
keep=0
mode=run
for arg in "$@"; do
  case "$arg" in
    --keep) keep=1 ;;
    --test) mode=test ;;
    *)
      echo "usage: $0 [--keep] [--test]" >&2
      exit 2
      ;;
  esac
done
minutes="${CONFAB_FRESH_MINUTES:-45}"
deadline=$((SECONDS + minutes * 60))

say() { echo "[fresh-machine] $*"; }
die() {
  echo "[fresh-machine] FAIL: $*" >&2
  exit 1
}
((EUID == 0)) || die "run as root (mmdebstrap, chroot and mounts)"

root=""
confab_pid=""
mounted=()
timings=()
cleanup() {
  local status=$?
  set +e
  if [[ -n "$confab_pid" ]] && kill -0 "$confab_pid" 2>/dev/null; then
    kill -KILL "$confab_pid" 2>/dev/null
    wait "$confab_pid" 2>/dev/null
  fi
  # Unmount in reverse order; /dev was bound recursively.
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount -R "${mounted[i]}" 2>/dev/null || umount -lR "${mounted[i]}" 2>/dev/null
  done
  if [[ -n "$root" && -d "$root" ]]; then
    if ((status != 0)) && [[ -f "$root/root/run.log" ]]; then
      echo "[fresh-machine] --- last lines of scripts/run.sh in the fresh root ---" >&2
      tail -n 60 "$root/root/run.log" >&2
    fi
    if ((keep)); then
      say "root kept: $root"
    elif findmnt -R "$root" -n >/dev/null 2>&1 && [[ -n "$(findmnt -R "$root" -n -o TARGET | tail -n +2)" ]]; then
      echo "[fresh-machine] something is still mounted under $root; not removing it" >&2
    else
      rm -rf --one-file-system "$root"
    fi
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

step_started=$SECONDS
step_done() {
  timings+=("$(printf '%-34s %5d s' "$1" $((SECONDS - step_started)))")
  say "$1: $((SECONDS - step_started)) s"
  step_started=$SECONDS
}
time_left() { echo $((deadline - SECONDS)); }

# --- 0. What this runs on. ------------------------------------------------------------------------
for tool in mmdebstrap python3 git; do
  command -v "$tool" >/dev/null 2>&1 && continue
  export DEBIAN_FRONTEND=noninteractive
  { apt-get install -y -qq --no-install-recommends mmdebstrap python3 git ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends mmdebstrap python3 git; }; } \
    >/dev/null
  break
done
# The ports the default configuration listens on must be free, or the check below would talk to
# someone else's server.
python3 - <<'EOF' || die "a port confab's default configuration needs is taken (above)"
import socket, sys
for kind, port in ((socket.SOCK_DGRAM, 5060), (socket.SOCK_STREAM, 5060),
                   (socket.SOCK_STREAM, 5061), (socket.SOCK_STREAM, 8080)):
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.bind(("0.0.0.0" if port != 8080 else "127.0.0.1", port))
    except OSError as e:
        sys.exit(f"port {port}: {e}")
    finally:
        s.close()
EOF

# The host's apt sources for Debian 12 (the same mirrors, main component), as one-line entries.
# shellcheck disable=SC2016 # $(REPO_URI) is apt's format syntax, not the shell's
mapfile -t sources < <(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' \
  'Identifier: Packages' 'Component: main' 2>/dev/null | awk '$2 ~ /^bookworm/ {print "deb " $1 " " $2 " main"}' | sort -u)
if ((${#sources[@]} == 0)); then
  sources=("deb http://deb.debian.org/debian bookworm main"
    "deb http://deb.debian.org/debian bookworm-updates main"
    "deb http://deb.debian.org/debian-security bookworm-security main")
fi

root="$(mktemp -d "${TMPDIR:-/tmp}/confab-fresh.XXXXXX")"
rmdir "$root" # mmdebstrap wants to create it
step_done "set-up"

# --- 1. A minimal Debian 12. ----------------------------------------------------------------------
say "mmdebstrap --variant=minbase bookworm ($(printf '%s; ' "${sources[@]}"))"
timeout "$(time_left)" mmdebstrap --quiet --variant=minbase --mode=root --aptopt='Acquire::Retries "3"' bookworm "$root" "${sources[@]}" \
  >"${root}.mmdebstrap.log" 2>&1 || {
  tail -n 30 "${root}.mmdebstrap.log" >&2
  rm -f "${root}.mmdebstrap.log"
  die "mmdebstrap failed"
}
rm -f "${root}.mmdebstrap.log"
say "the fresh root has $(chroot "$root" dpkg-query -W -f='.\n' | wc -l) packages"
step_done "mmdebstrap minbase"

# --- 2. A clean clone of what is committed, as a user would have it. ------------------------------
git clone -q --no-local --no-hardlinks "$repo" "$root/root/confab"
say "cloned $(git -C "$root/root/confab" rev-parse --short HEAD) into the root"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
mount -t proc proc "$root/proc" && mounted+=("$root/proc")
mount -t sysfs sysfs "$root/sys" && mounted+=("$root/sys")
mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev" && mounted+=("$root/dev")
step_done "clone and mounts"

if [[ "$mode" == test ]]; then
  # --- 3'. The README's second command. -----------------------------------------------------------
  [[ -d "$repo/../shared" ]] && cp -r "$repo/../shared" "$root/root/shared"
  say "running scripts/test.sh in the chroot (log: $root/root/run.log)"
  if env -i HOME=/root TERM=dumb LANG=C.UTF-8 CONFAB_FRESH=0 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    timeout "$(time_left)" chroot "$root" /bin/bash -c 'cd /root/confab && exec bash scripts/test.sh' \
    >"$root/root/run.log" 2>&1; then
    step_done "scripts/test.sh"
    sed -n '/^test.sh: times/,$p' "$root/root/run.log"
    say "PASS: a fresh Debian 12 root ran scripts/test.sh to the end"
    printf '  %s\n' "${timings[@]}"
    exit 0
  fi
  die "scripts/test.sh failed in the fresh root"
fi

# --- 3. The README's first command. ---------------------------------------------------------------
# A clean environment, as a root login on a new machine has; the chroot shares this machine's
# network, so confab's ports are reachable on 127.0.0.1.
env -i HOME=/root TERM=dumb LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  chroot "$root" /bin/bash -c 'cd /root/confab && exec bash scripts/run.sh' \
  >"$root/root/run.log" 2>&1 &
confab_pid=$!
say "started scripts/run.sh in the chroot (pid $confab_pid); waiting for SIP OPTIONS to get 200"

# Polls until OPTIONS gets 200 or run.sh exits.
probe() {
  python3 - "$1" <<'EOF'
import socket, sys, random, http.client
what = sys.argv[1]
if what == "options":
    tag = "%08x" % random.getrandbits(32)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.settimeout(1.0)
    msg = (f"OPTIONS sip:127.0.0.1:5060 SIP/2.0\r\n"
           f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{tag};rport\r\n"
           f"Max-Forwards: 70\r\nFrom: <sip:fresh@127.0.0.1>;tag={tag}\r\n"
           f"To: <sip:127.0.0.1>\r\nCall-ID: fresh-{tag}\r\nCSeq: 1 OPTIONS\r\n"
           f"Accept: application/sdp\r\nContent-Length: 0\r\n\r\n")
    s.sendto(msg.encode(), ("127.0.0.1", 5060))
    try:
        data = s.recv(65536).decode(errors="replace")
    except OSError:
        sys.exit(1)
    first = data.split("\r\n", 1)[0]
    print(first)
    sys.exit(0 if first.startswith("SIP/2.0 200") else 3)
else:
    c = http.client.HTTPConnection("127.0.0.1", 8080, timeout=5)
    c.request("GET", "/health")
    r = c.getresponse()
    body = r.read(4096).decode(errors="replace")
    print(r.status, body.strip())
    sys.exit(0 if r.status == 200 else 3)
EOF
}
answered=""
while ((SECONDS < deadline)); do
  kill -0 "$confab_pid" 2>/dev/null || {
    wait "$confab_pid" && rc=0 || rc=$?
    confab_pid=""
    die "scripts/run.sh exited with status $rc before confab answered"
  }
  answered="$(probe options 2>/dev/null)" && break || rc=$?
  ((rc == 3)) && die "OPTIONS got '$answered', not 200"
  sleep 2
done
[[ "$answered" == "SIP/2.0 200"* ]] || die "no answer to OPTIONS within $minutes minutes"
run_timing="$(grep -o 'run.sh: dependencies .*' "$root/root/run.log" | head -n 1 || true)"
say "OPTIONS: $answered (${run_timing:-no timing line from run.sh})"
step_done "scripts/run.sh until OPTIONS 200"

# The user's build (Release, -O3, no -Werror: a user's compiler must not fail it) has no compiler
# warning either: CI's own builds are -O2 and clang, and -O3 inlines deeper and warns elsewhere.
warnings="$(grep -E ':[0-9]+:[0-9]+: warning:' "$root/root/run.log" || true)"
[[ -z "$warnings" ]] || die "the Release build in scripts/run.sh has compiler warnings:
$warnings"
say "the Release build in scripts/run.sh has no compiler warning"

health="$(probe health)" || die "GET /health answered '$health'"
say "GET /health: $health"

# --- 4. SIGTERM ends it cleanly. ------------------------------------------------------------------
kill -TERM "$confab_pid"
for _ in $(seq 1 100); do
  kill -0 "$confab_pid" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$confab_pid" 2>/dev/null && die "confab still runs 10 s after SIGTERM"
wait "$confab_pid" && rc=0 || rc=$?
confab_pid=""
((rc == 0)) || die "confab left with status $rc after SIGTERM"
step_done "health check and SIGTERM"

say "PASS: a fresh Debian 12 root ran scripts/run.sh to a working confab"
say "times:"
printf '  %s\n' "${timings[@]}" "${run_timing:-}"
