#!/usr/bin/env bash
# Webhooks against the real binary (issue 13 item 3), with a receiver on loopback
# (webhook_receiver.py) that checks every signature and timestamp:
#   1. A tenant's key makes a webhook for tenant "default" over the API (confab runs with
#      --api-webhooks-private yes: the receiver is on 127.0.0.1); a SIPp call to room 1000 is
#      heard as participant.joined and participant.left, each signed.
#   2. The receiver stops; a second call's events wait in the outbox (the API shows them
#      pending); confab is killed with SIGKILL, started again on the same data directory, and
#      the receiver comes back on the same port: the second call's events arrive, signed.
# Without the option, the same URL is refused (422 naming url).
source "$(dirname "$0")/lib.sh"
integ_init "$@"
require_tool sipp

RECEIVER="$INTEG_DIR/webhook_receiver.py"
EVENTS="$WORK/events.jsonl"
SECRET="$WORK/secret"
RECEIVER_PID=""

CONFAB_API="127.0.0.1:0"
export CONFAB_API
start_confab --api-webhooks-private yes
wait_api_address

# api METHOD PATH [BODY] [TOKEN]: prints the status, a space and the JSON body.
api() {
  timeout -k 2 10 python3 - "$API" "$@" <<'PYEOF'
import json, os, sys, urllib.request, urllib.error
api, method, path = sys.argv[1:4]
body = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] else None
token = sys.argv[5] if len(sys.argv) > 5 else os.environ["CONFAB_API_TOKEN"]
req = urllib.request.Request(api + path, data=body.encode() if body else None, method=method)
req.add_header("Authorization", "Bearer " + token)
if body:
    req.add_header("Content-Type", "application/json")
try:
    with urllib.request.urlopen(req, timeout=5) as r:
        print(r.status, r.read().decode() or "null")
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode() or "null")
PYEOF
}
json_field() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]); exec("for k in sys.argv[2:]: v=v[int(k)] if isinstance(v,list) else v[k]"); print(v)' "$@"; }

start_receiver() {
  rm -f "$WORK/receiver.port"
  python3 "$RECEIVER" --port "${1:-0}" --port-file "$WORK/receiver.port" \
    --secret-file "$SECRET" --log "$EVENTS" 2>>"$WORK/receiver.err" &
  RECEIVER_PID=$!
  HELPER_PIDS+=("$RECEIVER_PID")
  local deadline=$((SECONDS + 5))
  until [[ -s "$WORK/receiver.port" ]]; do
    ((SECONDS < deadline)) || fail "the receiver did not start"
    sleep 0.05
  done
  RECEIVER_PORT="$(cat "$WORK/receiver.port")"
}
stop_receiver() {
  kill -TERM "$RECEIVER_PID"
  wait "$RECEIVER_PID" 2>/dev/null || true
}
# events_of TYPE: how many valid events of TYPE the receiver logged; invalid ones fail the test.
events_of() {
  if grep -q '"valid": false' "$EVENTS" 2>/dev/null; then
    fail "the receiver got an event whose signature or timestamp did not check: $(grep '"valid": false' "$EVENTS" | head -n 3)"
  fi
  grep -c "\"type\": \"$1\"" "$EVENTS" 2>/dev/null || true
}
wait_events() {
  local type=$1 want=$2 seconds=$3 deadline=$((SECONDS + $3))
  until (($(events_of "$type") >= want)); do
    ((SECONDS < deadline)) || fail "$want $type events not received within ${seconds}s (got $(events_of "$type"))"
    sleep 0.1
  done
}

start_receiver
log "receiver on 127.0.0.1:$RECEIVER_PORT"

# The default tenant's key makes the webhook.
read -r status body < <(api GET /v1/tenants)
assert_eq 200 "$status" "GET /v1/tenants"
tenant="$(python3 -c 'import json,sys; print([t["id"] for t in json.loads(sys.argv[1])["tenants"] if t["name"] == "default"][0])' "$body")"
read -r status body < <(api POST /v1/keys "{\"tenant\":$tenant,\"name\":\"hooks\"}")
assert_eq 201 "$status" "POST /v1/keys for tenant default"
tenant_token="$(json_field "$body" token)"
url="http://127.0.0.1:$RECEIVER_PORT/confab"
read -r status body < <(api POST /v1/webhooks "{\"url\":\"$url\",\"events\":[\"participant.joined\",\"participant.left\"]}" "$tenant_token")
assert_eq 201 "$status" "POST /v1/webhooks: $body"
hook="$(json_field "$body" id)"
json_field "$body" secret >"$SECRET"
[[ "$(cat "$SECRET")" =~ ^whsec_[A-Za-z0-9_-]{43}$ ]] || fail "the secret is not whsec_ and 43 base64url characters"

# 1. A call, heard signed.
run_sipp call1 20 -sn uac -s 1000 -m 1 -d 500 -t u1
assert_sipp_clean call1 1
wait_events participant.joined 1 10
wait_events participant.left 1 10
assert_eq 0 "$(grep -vc '"content_type": "application/json"' "$EVENTS" || true)" "events that were not application/json"
log "call 1: joined and left received, signed"

# 2. Receiver down, a second call queued, confab killed and started again.
stop_receiver
run_sipp call2 20 -sn uac -s 1000 -m 1 -d 500 -t u1
assert_sipp_clean call2 1
deadline=$((SECONDS + 10))
until
  read -r status body < <(api GET "/v1/webhooks/$hook" "" "$tenant_token")
  [[ "$status" == 200 ]] && (($(json_field "$body" delivery pending) >= 2))
do
  ((SECONDS < deadline)) || fail "the second call's events are not pending: $body"
  sleep 0.2
done
log "call 2: $(json_field "$body" delivery pending) events pending ($(json_field "$body" delivery lastError))"
kill -KILL "$CONFAB_PID"
wait "$CONFAB_PID" 2>/dev/null || true
CONFAB_PID=""
start_confab --api-webhooks-private yes
wait_api_address
start_receiver "$RECEIVER_PORT"
# The sender keeps each event's backoff across the restart: the next attempt can be a few
# seconds away.
wait_events participant.joined 2 15
wait_events participant.left 2 15
calls="$(python3 -c '
import json, sys
calls = {json.loads(l).get("call") for l in open(sys.argv[1]) if "participant.left" in l}
print(len(calls))' "$EVENTS")"
assert_eq 2 "$calls" "distinct calls heard leaving"
read -r status body < <(api GET "/v1/webhooks/$hook" "" "$tenant_token")
deadline=$((SECONDS + 5))
until [[ "$(json_field "$body" delivery pending)" == 0 ]]; do
  ((SECONDS < deadline)) || fail "events still pending after the restart: $body"
  sleep 0.2
  read -r status body < <(api GET "/v1/webhooks/$hook" "" "$tenant_token")
done
log "after SIGKILL and a restart: the queued events arrived, signed; none pending"

# 3. The secret rotated: the receiver, still holding the old one, goes on accepting deliveries
# through the overlap; then it takes the new one.
read -r status body < <(api POST "/v1/webhooks/$hook/secret" '{"overlapSeconds":3600}' "$tenant_token")
assert_eq 200 "$status" "POST /v1/webhooks/$hook/secret: $body"
new_secret="$(json_field "$body" secret)"
[[ "$new_secret" != "$(cat "$SECRET")" ]] || fail "the rotated secret is the old one"
run_sipp call3 20 -sn uac -s 1000 -m 1 -d 500 -t u1
assert_sipp_clean call3 1
wait_events participant.left 3 10
printf '%s\n' "$new_secret" >"$SECRET"
run_sipp call4 20 -sn uac -s 1000 -m 1 -d 500 -t u1
assert_sipp_clean call4 1
wait_events participant.left 4 10
log "secret rotated: signed deliveries checked with the old secret, then with the new"

# Without the option, a loopback URL is refused, naming url.
stop_confab
start_confab
wait_api_address
read -r status body < <(api POST /v1/webhooks "{\"url\":\"$url\"}")
assert_eq 422 "$status" "a loopback webhook without --api-webhooks-private"
assert_eq url "$(json_field "$body" errors 0 field)" "the field the refusal names"
stop_confab
log "PASS"
