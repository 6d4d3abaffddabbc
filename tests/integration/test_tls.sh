#!/usr/bin/env bash
# One call over SIP/TLS with a Python ssl client: confab generates its self-signed certificate in
# its data folder, answers INVITE with an SDP answer, takes ACK and BYE on the same connection.
source "$(dirname "$0")/lib.sh"
integ_init "$@"
require_tool python3
start_confab

# The certificate and key confab generated for itself.
cert="$(find "$WORK/data" -maxdepth 2 -type f -name '*.pem' -exec grep -l 'BEGIN CERTIFICATE' {} + |
  head -n 1)"
[[ -n "$cert" ]] || fail "no PEM certificate generated in the data folder $WORK/data"
find "$WORK/data" -maxdepth 2 -type f -name '*.pem' -exec grep -lq 'PRIVATE KEY' {} + ||
  fail "no PEM private key generated in the data folder $WORK/data"
if command -v openssl >/dev/null 2>&1; then
  openssl x509 -in "$cert" -noout -checkend 86400 >/dev/null ||
    fail "the generated certificate $cert is unreadable or expires within a day"
fi
log "certificate generated: ${cert#"$WORK/"}"

status=0
timeout -k 5 60 python3 "$INTEG_DIR/tls_call.py" "$TLS_PORT" 1000 >"$WORK/tls_call.log" 2>&1 &
HELPER_PIDS+=("$!")
wait "$!" || status=$?
cat "$WORK/tls_call.log" >&2
[[ $status == 0 ]] || fail "the TLS call did not complete (status $status)"

assert_confab_alive "after the TLS call"
stop_confab
assert_eq 0 "$CONFAB_STATUS" "confab's exit status after SIGTERM"
log "PASS"
