#!/usr/bin/env bash
# The mixer control protocol's shared secret between real processes (docs/mixer-protocol.md,
# "Authentication"): confab with the wrong secret is refused by confab-mixer (which logs who
# knocked), says why in its own log and reports not ready (/readyz 503, so a load balancer sends
# no calls); restarted with the right secret it is ready and carries calls.
export CONFAB_REMOTE_MIXER=1 # this test is about the remote mixer only
source "$(dirname "$0")/lib.sh"
integ_init "$@"
require_tool curl
require_tool openssl

start_mixer
openssl rand -hex 32 >"$WORK/wrong.secret"
CONFAB_MIXER_SECRET_FILE="$WORK/wrong.secret" start_confab_api
wait_for_line "$CONFAB_LOG" "not ready yet; calls get 503 until it is (the mixer refused us: authentication failed)" 15 \
  "confab did not say why the mixer is not ready"
wait_for_line "$MIXER_LOG" "refused control connection from 127.0.0.1:[0-9]*: wrong proof" 5 \
  "confab-mixer did not log the refused connection"
ready="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$API/readyz")"
assert_eq 503 "$ready" "GET /readyz with the mixer refusing confab"
log "wrong secret: refused by the mixer, logged on both sides, /readyz 503"
stop_confab_only() {
  kill -TERM "$CONFAB_PID"
  wait_confab_exit 10
}
stop_confab_only

# A secret shorter than 32 characters is refused at start, naming the option.
echo "short" >"$WORK/short.secret"
status=0
"$CONFAB_BIN" --mixer "127.0.0.1:$MIXER_PORT" --mixer-secret-file "$WORK/short.secret" \
  --sip-udp 127.0.0.1:0 --sip-tcp 127.0.0.1:0 --sip-tls off --api off --data-dir "$WORK/data" \
  >"$WORK/short.log" 2>&1 || status=$?
assert_eq 1 "$status" "confab's exit status with a short mixer secret"
assert_file_contains "$WORK/short.log" "mixer-secret-file: the secret in .* is 5 characters; at least 32" \
  "the start-up error"

start_confab_api
wait_for_line "$CONFAB_LOG" "^confab: mixer at 127.0.0.1:$MIXER_PORT$" 15 "confab did not get the mixer"
ready="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$API/readyz")"
assert_eq 200 "$ready" "GET /readyz with the right secret"
run_sipp uac_auth 30 -sn uac -s 1000 -m 2 -r 10 -l 2 -d 500 -t u1
assert_sipp_clean uac_auth 2
stop_confab
log "PASS"
