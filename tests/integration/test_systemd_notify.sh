#!/usr/bin/env bash
# The systemd service protocol (sd_notify(3), issue 14 item 1) without systemd: this test is the
# service manager's side, a datagram socket at NOTIFY_SOCKET, and runs confab with
# WATCHDOG_USEC=400000 as a unit with WatchdogSec=0.4 would. It must hear, in order:
#   READY=1 once confab answers SIP (OPTIONS over UDP gets 200 when READY has come);
#   WATCHDOG=1 about every 200 ms while it runs;
#   on SIGHUP, RELOADING=1 and then READY=1 again;
#   on SIGTERM, STOPPING=1, and confab leaves with status 0.
source "$(dirname "$0")/lib.sh"
integ_init "$@"
export INTEG_DIR

NOTIFY_SOCKET="$WORK/notify.sock"
python3 - "$NOTIFY_SOCKET" >"$WORK/notify.log" 2>"$WORK/notify.err" <<'PYEOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
s.settimeout(1.0)
end = time.monotonic() + 60
while time.monotonic() < end:
    try:
        data = s.recv(4096).decode()
    except socket.timeout:
        continue
    for line in data.split("\n"):
        print(f"{time.monotonic():.3f} {line}", flush=True)
    if "STOPPING=1" in data:
        break
PYEOF
listener_pid=$!
HELPER_PIDS+=("$listener_pid")
wait_for_line "$WORK/notify.log" '^listening' 5 "the notify socket did not open" "$WORK/notify.err"

NOTIFY_SOCKET="$NOTIFY_SOCKET" WATCHDOG_USEC=400000 start_confab
wait_for() { # wait_for PATTERN SECONDS: a notify line matching PATTERN
  wait_for_line "$WORK/notify.log" "$1" "$2" "no '$1' from confab on NOTIFY_SOCKET" "$WORK/notify.log"
}
wait_for ' READY=1' 10
# READY=1 means serving: the SIP port answers now.
answer="$(sip_options "$SIP_PORT")"
[[ "$answer" == "SIP/2.0 200"* ]] || fail "OPTIONS after READY=1 got '$answer'"
assert_file_contains "$WORK/notify.log" ' STATUS=SIP on ' "the READY message's STATUS"

sleep 1.2
pings="$(grep -c ' WATCHDOG=1' "$WORK/notify.log" || true)"
log "$pings watchdog pings in the first 1.2 s or more (WatchdogSec 0.4 s: one each 0.2 s)"
((pings >= 4)) || fail "only $pings WATCHDOG=1 pings; want one each 200 ms"

kill -HUP "$CONFAB_PID"
wait_for ' RELOADING=1' 5
deadline=$((SECONDS + 5))
until (($(grep -c ' READY=1' "$WORK/notify.log") >= 2)); do
  ((SECONDS < deadline)) || fail "no READY=1 after the reload: $(cat "$WORK/notify.log")"
  sleep 0.05
done
python3 - "$WORK/notify.log" <<'PYEOF' || fail "the reload's messages are out of order"
import sys
lines = [l.split(" ", 1)[1].strip() for l in open(sys.argv[1]) if " " in l]
states = [l for l in lines if l in ("READY=1", "RELOADING=1")]
assert states[:3] == ["READY=1", "RELOADING=1", "READY=1"], states
PYEOF
assert_file_contains "$WORK/notify.log" 'MONOTONIC_USEC=[0-9]+' "the RELOADING message's timestamp"

kill -TERM "$CONFAB_PID"
wait_for ' STOPPING=1' 5
wait_confab_exit 10
assert_eq 0 "$CONFAB_STATUS" "exit status"
wait "$listener_pid" || true
log "PASS"
