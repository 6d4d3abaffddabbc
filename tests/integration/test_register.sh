#!/usr/bin/env bash
# Registering a room address with a PBX (issue 12 item 4): SIPp plays a registrar with digest
# authentication (scenarios/registrar_401.xml, which checks the credentials with <verifyauth>).
# confab --register sends REGISTER, answers the 401, is granted 4 s, refreshes after about 2 s
# with the same credentials, and on SIGTERM removes the binding with Expires: 0. Each step shows
# in confab's log and in the API (GET /v1/registrations); the password comes from a file, never
# the command line.
source "$(dirname "$0")/lib.sh"
integ_init "$@"
require_tool sipp

# The registrar first: confab registers as soon as it starts.
registrar_port="$(free_port)"
rm -f "$WORK"/registrar*.csv "$WORK"/registrar_*.log
(
  cd "$WORK"
  exec timeout -k 5 70 sipp -sf "$SCENARIOS/registrar_401.xml" -i 127.0.0.1 -p "$registrar_port" \
    -t u1 -m 1 -nostdin -timeout 60s -timeout_error \
    -trace_stat -stf "$WORK/registrar.csv" -fd 1 \
    -trace_screen -screen_file "$WORK/registrar_screen.log" \
    -trace_err -error_file "$WORK/registrar_errors.log" \
    -trace_msg -message_file "$WORK/registrar_messages.log" -trace_calldebug -calldebug_file "$WORK/registrar_calldebug.log"
) >"$WORK/registrar_stdout.log" 2>&1 &
registrar_pid=$!
HELPER_PIDS+=("$registrar_pid")
# Bound once its UDP socket shows in /proc/net/udp (127.0.0.1 is 0100007F there, ports in hex).
deadline=$((SECONDS + 10))
until grep -q "0100007F:$(printf '%04X' "$registrar_port") " /proc/net/udp; do
  ((SECONDS < deadline)) || fail "sipp (registrar) did not start"
  kill -0 "$registrar_pid" 2>/dev/null || fail "sipp (registrar) exited while starting"
  sleep 0.1
done

printf '# digest passwords for --register\n1000:s3cret pass\n' >"$WORK/passwords"
chmod 600 "$WORK/passwords"
CONFAB_API=127.0.0.1:0 start_confab --register "sip:1000@pbx.test,127.0.0.1:$registrar_port" \
  --password-file "$WORK/passwords"
wait_api_address
if grep -q "s3cret" "/proc/$CONFAB_PID/cmdline"; then
  fail "the password is on confab's command line"
fi

aor="sip:1000@pbx.test"
[[ "$(count_when "$CONFAB_LOG" "registration $aor: registered for 4 s" 1 10)" -ge 1 ]] ||
  fail "confab did not log the registration"
# The refresh comes about 2 s later; the registrar then grants 60 s.
[[ "$(count_when "$CONFAB_LOG" "registration $aor: registered for 60 s" 1 10)" -ge 1 ]] ||
  fail "confab did not log the refreshed registration"
assert_confab_alive "after the refresh"
# The API shows the registration's state (issue 12 item 4).
python3 - "$API" >&2 <<'PY' || fail "GET /v1/registrations"
import json, os, sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/v1/registrations",
                             headers={"Authorization": "Bearer " + os.environ["CONFAB_API_TOKEN"]})
body = json.load(urllib.request.urlopen(req, timeout=5))
[r] = body["registrations"]
assert r["aor"] == "sip:1000@pbx.test" and r["state"] == "registered", r
assert 0 <= r["expiresInSeconds"] <= 60 and "lastError" not in r, r
print("GET /v1/registrations: %s %s, %d s left" % (r["aor"], r["state"], r["expiresInSeconds"]))
PY

kill -TERM "$CONFAB_PID"
wait_confab_exit 15
assert_eq 0 "$CONFAB_STATUS" "confab's exit status after SIGTERM"
assert_file_contains "$CONFAB_LOG" "registration $aor: unregistered$" "confab's log on SIGTERM"
if grep -q "registration $aor: failed" "$CONFAB_LOG"; then
  fail "a registration failed: $(grep "registration $aor: failed" "$CONFAB_LOG" | head -n1)"
fi
if grep -q "s3cret" "$CONFAB_LOG"; then
  fail "the password shows in confab's log"
fi

finish_sipp registrar "$registrar_pid"
assert_sipp_clean registrar 1
# Four REGISTERs, the last one removing the binding.
assert_eq 4 "$(grep -c '^REGISTER ' "$WORK/registrar_messages.log")" "REGISTERs the registrar saw"
log "PASS"
