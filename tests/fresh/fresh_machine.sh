#!/usr/bin/env bash
# The README's first command on a machine that has never seen the project: builds a minimal
# Debian 12 root with mmdebstrap (--variant=minbase: the Essential and required packages and
# apt, nothing else), copies a clean clone of this repository's HEAD into it, and in a chroot
# with /proc, /sys and /dev mounted runs `bash scripts/run.sh` on the default options. Passes
# when SIP OPTIONS to 127.0.0.1:5060 gets 200, the Release build printed no compiler warning,
# `GET /health` on 127.0.0.1:8080 answers 200, and confab leaves with status 0 on SIGTERM. Reports the time each step took.
#
#   bash tests/fresh/fresh_machine.sh [--keep] [--test | --package=FILE.deb]
#
# --package=FILE.deb installs the Debian package (cpack, deploy/CMakeLists.txt) instead, with
# `apt-get install ./FILE.deb` so that its declared dependencies are all the root gets, and checks
# what the package put there (binaries, unit and its enablement, conffile, prompts, the confab
# user), then starts confab as confab.service does (as user confab, in /var/lib/confab, with the
# unit's command line and a NOTIFY_SOCKET) and passes when it says READY=1, answers OPTIONS and
# GET /health, and on SIGTERM says STOPPING=1 and leaves with status 0. systemd itself does not
# run in the root (a chroot has no init); `systemd-analyze verify` checks the unit there once
# systemd is installed, and then the root boots with systemd-nspawn (systemd-container) so that
# the unit runs under a real systemd: active with its READY status, `systemctl reload` reaches
# confab, `systemctl stop` ends it with status 0.
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
deb=""
for arg in "$@"; do
  case "$arg" in
    --keep) keep=1 ;;
    --test) mode=test ;;
    --package=*)
      mode=package
      deb="$(realpath "${arg#--package=}")"
      [[ -f "$deb" ]] || { echo "$0: no package $deb" >&2; exit 2; }
      ;;
    *)
      echo "usage: $0 [--keep] [--test | --package=FILE.deb]" >&2
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
    # SIGTERM first: a booted container (systemd-nspawn) halts its own processes on it.
    kill -TERM "$confab_pid" 2>/dev/null
    for _ in $(seq 1 50); do
      kill -0 "$confab_pid" 2>/dev/null || break
      sleep 0.1
    done
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

# terminate_confab NAME: SIGTERM to confab_pid; it must leave within 10 s with status 0.
terminate_confab() {
  kill -TERM "$confab_pid"
  for _ in $(seq 1 100); do
    kill -0 "$confab_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$confab_pid" 2>/dev/null && die "$1 still runs 10 s after SIGTERM"
  wait "$confab_pid" && rc=0 || rc=$?
  confab_pid=""
  ((rc == 0)) || die "$1 left with status $rc after SIGTERM"
}

# probe options|health: one SIP OPTIONS to 127.0.0.1:5060 (status 0 on 200, 3 on another answer,
# 1 on none) or one GET /health on 127.0.0.1:8080.
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

if [[ "$mode" == package ]]; then
  # --- 3''. The Debian package on a fresh root. --------------------------------------------------
  cp "$deb" "$root/root/"
  name="$(basename "$deb")"
  in_root() {
    env -i HOME=/root TERM=dumb LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      timeout "$(time_left)" chroot "$root" "$@"
  }
  say "apt-get install ./$name in the fresh root"
  { in_root apt-get -o Acquire::Retries=3 update -qq &&
    in_root apt-get install -y -qq --no-install-recommends "/root/$name"; } >"$root/root/run.log" 2>&1 ||
    die "apt-get install ./$name failed"
  step_done "apt-get install the package"
  for path in /usr/bin/confab /usr/bin/confab-mixer /etc/confab/confab.conf \
    /usr/lib/systemd/system/confab.service /usr/lib/systemd/system/confab-mixer.service \
    /etc/confab/confab-mixer.env /etc/confab/mixer.secret /usr/share/confab/sounds/en/enter-pin.wav \
    /usr/share/confab/sounds/en/entry-tone.wav; do
    [[ -e "$root$path" ]] || die "the package did not install $path"
  done
  for conffile in /etc/confab/confab.conf /etc/confab/confab-mixer.env; do
    in_root dpkg-query -W -f='${Conffiles}\n' confab | grep -q "$conffile" ||
      die "$conffile is not a conffile"
  done
  # The mixer secret: made once by the postinst, 64 hex digits, readable by root and confab only.
  secret_mode="$(in_root stat -c '%a %U:%G' /etc/confab/mixer.secret)"
  [[ "$secret_mode" == "640 root:confab" ]] || die "/etc/confab/mixer.secret is $secret_mode"
  grep -Eqx '[0-9a-f]{64}' "$root/etc/confab/mixer.secret" ||
    die "/etc/confab/mixer.secret does not hold 64 hex digits"
  in_root getent passwd confab >/dev/null || die "the package did not create the user confab"
  [[ -L "$root/etc/systemd/system/multi-user.target.wants/confab.service" ]] ||
    die "the package did not enable confab.service (no multi-user.target.wants link)"
  depends="$(in_root dpkg-query -W -f='${Depends}' confab)"
  say "the package depends on: $depends"

  # As the unit starts it: StateDirectory=confab (0750, owned by the user), WorkingDirectory,
  # User/Group, ExecStart, and a notify socket (Type=notify) with a watchdog (WatchdogSec=30s).
  in_root install -d -o confab -g confab -m 0750 /var/lib/confab
  notify="$root/run/confab-notify.sock"
  rm -f "$notify"
  python3 - "$notify" >"$root/root/notify.log" 2>&1 <<'PYEOF' &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
print("listening", flush=True)
s.settimeout(1.0)
end = time.monotonic() + 600
while time.monotonic() < end:
    try:
        data = s.recv(4096).decode()
    except socket.timeout:
        continue
    print(data.replace("\n", " "), flush=True)
    if "STOPPING=1" in data:
        break
PYEOF
  notify_pid=$!
  until grep -q listening "$root/root/notify.log"; do sleep 0.1; done
  ExecStart="$(sed -n 's/^ExecStart=//p' "$root/usr/lib/systemd/system/confab.service")"
  say "starting, as user confab in /var/lib/confab: $ExecStart"
  # shellcheck disable=SC2086 # the unit's command line, split as systemd splits it (no quotes)
  env -i HOME=/var/lib/confab LANG=C.UTF-8 NOTIFY_SOCKET=/run/confab-notify.sock \
    WATCHDOG_USEC=30000000 PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    chroot --userspec=confab:confab "$root" /bin/sh -c "cd /var/lib/confab && exec $ExecStart" \
    >"$root/root/confab.log" 2>&1 &
  confab_pid=$!
  until grep -q 'READY=1' "$root/root/notify.log"; do
    kill -0 "$confab_pid" 2>/dev/null || {
      tail -n 20 "$root/root/confab.log" >&2
      die "confab exited before READY=1"
    }
    ((SECONDS < deadline)) || die "no READY=1 from the packaged confab"
    sleep 0.2
  done
  say "notify: $(grep 'READY=1' "$root/root/notify.log" | head -n 1)"
  answered="$(probe options)" || die "OPTIONS to the packaged confab: '$answered'"
  health="$(probe health)" || die "GET /health on the packaged confab: '$health'"
  say "OPTIONS: $answered; GET /health: $health"
  [[ -s "$root/var/lib/confab/policy.db" ]] || die "no policy store in /var/lib/confab"
  [[ "$(in_root stat -c %U /var/lib/confab/policy.db)" == confab ]] ||
    die "the policy store is not owned by confab"
  terminate_confab "the packaged confab"
  wait "$notify_pid" || true
  grep -q 'STOPPING=1' "$root/root/notify.log" || die "no STOPPING=1 on SIGTERM"
  step_done "packaged confab: READY, OPTIONS, health, SIGTERM"
  # The unit against a real systemd's unit files: systemd is not a dependency (containers run
  # confab without it), so it comes in only now, after the package's own dependencies were shown
  # to be enough.
  in_root apt-get install -y -qq --no-install-recommends systemd systemd-sysv >>"$root/root/run.log" 2>&1 ||
    die "apt-get install systemd failed"
  verify="$(systemd-analyze verify --root="$root" confab.service confab-mixer.service 2>&1)" ||
    die "systemd-analyze verify confab.service confab-mixer.service: $verify"
  say "systemd-analyze verify confab.service: ${verify:-no complaint}"
  step_done "systemd-analyze verify"

  # The unit under a real systemd: the root booted as a container (systemd-nspawn, sharing this
  # machine's network), where the package's postinst enabled confab.service. Its hardening, its
  # Type=notify start, a reload and a stop, as an operator's systemctl drives them.
  if command -v systemd-nspawn >/dev/null 2>&1; then
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
      umount -R "${mounted[i]}" 2>/dev/null || umount -lR "${mounted[i]}"
    done
    mounted=()
    systemd-nspawn -D "$root" --boot --register=no --keep-unit -q >"$root.boot.log" 2>&1 &
    confab_pid=$! # the container: cleanup kills it if this fails half-way
    # nspawn's first child is a short-lived intermediate process; the container's PID 1 is the
    # child named systemd (nspawn is its subreaper), so it is looked up only once confab answers.
    until answered="$(probe options 2>/dev/null)"; do
      kill -0 "$confab_pid" 2>/dev/null || { tail -n 20 "$root.boot.log" >&2; die "the container stopped"; }
      ((SECONDS < deadline)) || die "confab.service did not answer OPTIONS in the booted root"
      sleep 0.5
    done
    init="$(pgrep -P "$confab_pid" -x systemd | head -n 1 || true)"
    [[ -n "$init" && -e "/proc/$init/ns/pid" ]] ||
      die "no systemd under systemd-nspawn ($confab_pid): $(pgrep -a -P "$confab_pid" | tr '\n' ' ')"
    in_container() { nsenter -t "$init" -m -u -i -p -n -- "$@"; }
    shown="$(in_container systemctl show confab -p ActiveState -p StatusText -p WatchdogUSec -p User)"
    say "booted: OPTIONS $answered; $(echo "$shown" | tr '\n' ' ')"
    grep -qx 'ActiveState=active' <<<"$shown" || die "confab.service is not active: $shown"
    grep -qx 'StatusText=SIP on .*' <<<"$shown" || die "confab.service has no READY status: $shown"
    # The unit's SystemCallFilter lets io_uring through (the mixer threads' receive path).
    io_path="$(in_container journalctl -u confab --no-pager | grep -o 'mixer threads read RTP through .*' | tail -n 1)"
    say "confab.service: ${io_path:-no line on how the mixer threads read RTP}"
    [[ $io_path != *"Operation not permitted"* ]] ||
      die "confab.service's system call filter refuses io_uring: $io_path"
    in_container systemctl reload confab || die "systemctl reload confab failed"
    in_container journalctl -u confab --no-pager | grep -q 'configuration reloaded' ||
      die "systemctl reload did not reach confab"
    in_container systemctl stop confab || die "systemctl stop confab failed"
    stopped="$(in_container systemctl show confab -p Result -p ExecMainStatus)"
    grep -qx 'Result=success' <<<"$stopped" && grep -qx 'ExecMainStatus=0' <<<"$stopped" ||
      die "confab.service did not stop cleanly: $stopped"
    # The packaged mixer as its own service, and confab on it with the packaged secret over TLS,
    # as an operator would set up a mixer (here on the same machine).
    in_container systemctl start confab-mixer || die "systemctl start confab-mixer failed"
    printf '%s\n' "mixer = 127.0.0.1:7070" "mixer-secret-file = /etc/confab/mixer.secret" \
      "mixer-tls = yes" >>"$root/etc/confab/confab.conf"
    in_container systemctl start confab || die "systemctl start confab (remote mixer) failed"
    until in_container journalctl -u confab --no-pager | grep -q '^.*confab: mixer at 127.0.0.1:7070$'; do
      ((SECONDS < deadline)) || die "confab.service did not get confab-mixer.service: $(in_container journalctl -u confab -u confab-mixer --no-pager | tail -n 5)"
      sleep 0.5
    done
    answered="$(probe options)" || die "OPTIONS to confab on the packaged mixer: '$answered'"
    in_container journalctl -u confab-mixer --no-pager | grep -q 'clients authenticated over TLS' ||
      die "confab-mixer.service did not run with the secret and TLS"
    in_container systemctl stop confab confab-mixer || die "systemctl stop confab confab-mixer failed"
    stopped="$(in_container systemctl show confab-mixer -p Result)"
    grep -qx 'Result=success' <<<"$stopped" || die "confab-mixer.service did not stop cleanly: $stopped"
    io_path="$(in_container journalctl -u confab-mixer --no-pager | grep -o 'mixer threads read RTP through .*' | tail -n 1)"
    [[ $io_path != *"Operation not permitted"* ]] ||
      die "confab-mixer.service's system call filter refuses io_uring: $io_path"
    say "confab-mixer.service: started (${io_path:-no line on its I/O}), confab on it with the packaged secret over TLS (OPTIONS $answered), stopped cleanly"
    exposure="$(in_container systemd-analyze security confab --no-pager 2>/dev/null | tail -n 1 || true)"
    say "systemctl reload and stop: clean; systemd-analyze security: ${exposure#→ }"
    in_container systemctl poweroff 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$confab_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$confab_pid" 2>/dev/null || true
    wait "$confab_pid" 2>/dev/null || true
    confab_pid=""
    rm -f "$root.boot.log"
    step_done "confab.service under systemd (nspawn)"
  else
    say "systemd-nspawn (systemd-container) is not installed: the unit was not booted"
  fi
  say "PASS: the package installs on a fresh Debian 12 and its confab runs as the unit says"
  printf '  %s\n' "${timings[@]}"
  exit 0
fi

# --- 3. The README's first command. ---------------------------------------------------------------
# A clean environment, as a root login on a new machine has; the chroot shares this machine's
# network, so confab's ports are reachable on 127.0.0.1.
env -i HOME=/root TERM=dumb LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  chroot "$root" /bin/bash -c 'cd /root/confab && exec bash scripts/run.sh' \
  >"$root/root/run.log" 2>&1 &
confab_pid=$!
say "started scripts/run.sh in the chroot (pid $confab_pid); waiting for SIP OPTIONS to get 200"

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
terminate_confab confab
step_done "health check and SIGTERM"

say "PASS: a fresh Debian 12 root ran scripts/run.sh to a working confab"
# What it passed with: scripts/test.sh runs this again only when these inputs change.
if [[ "$mode" == run ]]; then
  printf 'inputs %s\nverified %s at %s\n' "$(bash "$here/inputs.sh")" "$(date -u +%Y-%m-%d)" \
    "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)" >"$here/VERIFIED"
  say "wrote tests/fresh/VERIFIED (commit it with the change it verified)"
fi
say "times:"
printf '  %s\n' "${timings[@]}" "${run_timing:-}"
