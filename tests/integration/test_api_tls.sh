#!/usr/bin/env bash
# The REST API over HTTPS (--api-tls, issue 13 item 1), checked with curl verifying the server:
#   1. --api-tls-cert/--api-tls-key: a certificate made here with openssl for 127.0.0.1; curl
#      --cacert it: /health, a room list with the key, a WebSocket-less /v1/events (426);
#      plain HTTP to the same port gets no HTTP answer; TLS 1.1 is refused.
#   2. --api-tls alone: the SIP TLS identity confab generates in its data folder (for
#      "confab.local"), trusted by curl with --cacert and reached under that name.
#   3. --api-tls-cert without --api-tls is refused at start (a certificate given for plain HTTP).
source "$(dirname "$0")/lib.sh"
integ_init "$@"
require_tool curl
require_tool openssl

CONFAB_API="127.0.0.1:0"
export CONFAB_API
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$WORK/api-key.pem" -out "$WORK/api-cert.pem" \
  >"$WORK/openssl.log" 2>&1 || fail "openssl req: $(cat "$WORK/openssl.log")"

start_confab --api-tls yes --api-tls-cert "$WORK/api-cert.pem" --api-tls-key "$WORK/api-key.pem"
wait_api_address
[[ "$API" == https://* ]] || fail "confab logged its API as $API, not https"
secure=(curl -sS --max-time 5 --cacert "$WORK/api-cert.pem")
assert_eq '{"status":"ok"}' "$("${secure[@]}" "$API/health")" "GET /health over TLS"
rooms="$("${secure[@]}" -H "Authorization: Bearer $CONFAB_API_TOKEN" "$API/v1/rooms")" ||
  fail "GET /v1/rooms over TLS"
[[ "$rooms" == *'"user":"1000"'* ]] || fail "GET /v1/rooms over TLS: $rooms"
code="$("${secure[@]}" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $CONFAB_API_TOKEN" \
  "$API/v1/events")"
assert_eq 426 "$code" "GET /v1/events without Upgrade over TLS"
plain="http://${API#https://}"
if out="$(curl -sS --max-time 5 "$plain/health" 2>&1)"; then
  fail "plain HTTP to the TLS port was answered: $out"
fi
log "plain HTTP to the TLS port: ${out:0:80}"
if "${secure[@]}" --tls-max 1.1 -o /dev/null "$API/health" 2>/dev/null; then
  fail "a TLS 1.1 client got an answer"
fi
stop_confab
assert_eq 0 "$CONFAB_STATUS" "confab's exit status after SIGTERM"

start_confab --api-tls yes
wait_api_address
port="${API##*:}"
cert="$WORK/data/tls-certificate.pem"
[[ -f "$cert" ]] || fail "no generated certificate $cert"
assert_eq '{"status":"ok"}' "$(curl -sS --max-time 5 --cacert "$cert" \
  --resolve "confab.local:$port:127.0.0.1" "https://confab.local:$port/health")" \
  "GET /health over TLS with the generated identity"
stop_confab
assert_eq 0 "$CONFAB_STATUS" "confab's exit status after SIGTERM"

if "$CONFAB_BIN" --api-tls-cert "$WORK/api-cert.pem" --api-tls-key "$WORK/api-key.pem" \
  --data-dir "$WORK/data" --api off >"$WORK/refused.log" 2>&1; then
  fail "confab started with a certificate for a plain-HTTP API"
fi
assert_file_contains "$WORK/refused.log" "api-tls is off" "the refusal"
log "PASS"
