#!/usr/bin/env bash
# The container of deploy/Containerfile, by hand (it compiles confab inside the build stage:
# about 6 minutes on 2 cores, so it is not part of scripts/test.sh):
#
#   bash tests/fresh/container.sh
#
# Builds the image with podman (chroot isolation, host network), then runs it: `podman run
# --network host` when this machine's podman can run containers, else from the image's exported
# file system in a chroot, as the image's USER with its ENTRYPOINT (some sandboxes refuse the
# setrlimit and cgroup calls an OCI runtime makes). Passes when the image's confab answers SIP
# OPTIONS on 127.0.0.1:5060 and GET /health on 127.0.0.1:8080, and leaves with status 0 on
# SIGTERM. Needs podman and mmdebstrap (the Debian 12 base images are made with mmdebstrap when
# docker.io cannot be reached), root, and the ports 5060, 5061 and 8080 free.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
say() { echo "[container] $*"; }
die() {
  echo "[container] FAIL: $*" >&2
  exit 1
}
((EUID == 0)) || die "run as root"
command -v podman >/dev/null || die "podman is not installed (apt-get install podman)"
image=localhost/confab:test
work="$(mktemp -d "${TMPDIR:-/tmp}/confab-container.XXXXXX")"
pid=""
cleanup() {
  [[ -n "$pid" ]] && kill -KILL "$pid" 2>/dev/null
  podman rm -f confab-test >/dev/null 2>&1 || true
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

for base in docker.io/library/debian:12 docker.io/library/debian:12-slim; do
  podman image exists "$base" && continue
  if ! timeout 120 podman pull -q "$base" >/dev/null 2>&1; then
    say "cannot pull $base: making it with mmdebstrap"
    [[ -f "$work/debian12.tar" ]] ||
      mmdebstrap --quiet --variant=minbase bookworm "$work/debian12.tar" >/dev/null
    podman import -q "$work/debian12.tar" "$base" >/dev/null
  fi
done
started=$SECONDS
podman build --isolation=chroot --network host -f "$repo/deploy/Containerfile" -t "$image" "$repo" \
  >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; die "podman build failed"; }
say "podman build: $((SECONDS - started)) s, image $(podman image inspect -f '{{.Size}}' "$image") bytes"
# The build stage's image (compilers, sources: over 1 GB) is not wanted once the final one exists.
podman image prune -f >/dev/null 2>&1 || true

probe() {
  python3 - "$1" <<'PYEOF'
import http.client, socket, sys
if sys.argv[1] == "options":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(1.0)
    port = s.getsockname()[1]
    s.sendto((f"OPTIONS sip:127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKc1;rport\r\n"
              "Max-Forwards: 70\r\nFrom: <sip:c@127.0.0.1>;tag=c1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: c1\r\n"
              "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode(), ("127.0.0.1", 5060))
    line = s.recv(65536).split(b"\r\n", 1)[0].decode()
else:
    c = http.client.HTTPConnection("127.0.0.1", 8080, timeout=2)
    c.request("GET", "/health")
    line = str(c.getresponse().status)
print(line)
sys.exit(0 if line.endswith("200 OK") or line == "200" else 3)
PYEOF
}

if podman run -d --name confab-test --network host "$image" >/dev/null 2>"$work/run.err"; then
  how="podman run"
  stop() {
    podman stop -t 10 confab-test >/dev/null
    STOP_RC="$(podman wait confab-test)"
  }
else
  say "podman run failed here ($(tail -n 1 "$work/run.err")): running the image's file system in a chroot"
  podman rm -f confab-test >/dev/null 2>&1 || true
  podman create --name confab-test "$image" >/dev/null
  mkdir "$work/root"
  podman export confab-test | tar -x -C "$work/root"
  user="$(podman image inspect -f '{{.Config.User}}' "$image")"
  dir="$(podman image inspect -f '{{.Config.WorkingDir}}' "$image")"
  entry="$(podman image inspect -f '{{join .Config.Entrypoint " "}}' "$image")"
  for fs in proc sys dev; do mount --rbind "/$fs" "$work/root/$fs" && mount --make-rslave "$work/root/$fs"; done
  trap 'umount -R "$work/root/proc" "$work/root/sys" "$work/root/dev" 2>/dev/null; cleanup' EXIT
  # shellcheck disable=SC2086 # the image's entrypoint, one word per argument
  env -i HOME="$dir" PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    chroot --userspec="$user:$user" "$work/root" /bin/sh -c "cd $dir && exec $entry" >"$work/confab.log" 2>&1 &
  pid=$!
  how="chroot of the exported image ($entry, as $user)"
  stop() {
    kill -TERM "$pid"
    STOP_RC=0
    wait "$pid" || STOP_RC=$?
    pid=""
  }
fi
deadline=$((SECONDS + 30))
until answered="$(probe options 2>/dev/null)"; do
  ((SECONDS < deadline)) || { cat "$work/confab.log" 2>/dev/null | tail -n 20 >&2; die "no answer to OPTIONS"; }
  sleep 0.5
done
health="$(probe health)" || die "GET /health: $health"
stop
[[ "$STOP_RC" == 0 ]] || die "confab left with status $STOP_RC on SIGTERM"
say "PASS ($how): OPTIONS $answered, GET /health $health, SIGTERM: status 0"
