#!/usr/bin/env bash
# Two confab nodes on one PostgreSQL store (issue 14 item 5), with a real server (Debian's
# postgresql, started by tests/postgres/server.sh on a Unix socket in the test's folder):
#   1. an operator key made with `confab key add --store URI` opens both nodes' APIs;
#   2. both nodes start on the empty database at once: one creates the tables and seeds the
#      default tenant with room 1000, the other finds them;
#   3. a tenant owning 127.0.0.1 and its room 4000 with a name, made on node A's API, are read on
#      node B's, and a SIPp call to 4000@127.0.0.1 on node B is answered;
#   4. that call's record, written by node B as it ended, is listed by node A;
#   5. the PostgreSQL server restarts: both nodes carry on (their next query opens a new
#      connection): a room made on node B is seen on node A, and a call to it on node A answered;
#   6. SIGTERM: both nodes leave cleanly.
source "$(dirname "$0")/lib.sh"
integ_init "$@"
source "$INTEG_DIR/nodes.sh"
require_tool sipp

PG_DIR="$WORK/pg"
chmod 755 "$WORK"
PG="$(bash "$INTEG_DIR/../postgres/server.sh" start "$PG_DIR")" || fail "no PostgreSQL server"
stop_postgres() { bash "$INTEG_DIR/../postgres/server.sh" stop "$PG_DIR" || true; }
trap 'stop_postgres; integ_cleanup' EXIT
log "PostgreSQL at $PG"

# 1. The key first: the admin tool creates the tables, as a first server would.
TOKEN="$(timeout -k 5 30 "$CONFAB_BIN" key add --operator --name tests --store "$PG" |
  sed -n 's/^token: //p')"
[[ -n "$TOKEN" ]] || fail "confab key add --store gave no token"
NODE_TOKEN[a]=$TOKEN
NODE_TOKEN[b]=$TOKEN

# 2.
ROOMS=(1000)
NODE_OPTIONS=(--store "$PG")
for name in a b; do
  NODE_PORT[$name]="$(free_port)"
  NODE_RTP[$name]="$(free_rtp_range 100)"
done
[[ "${NODE_PORT[a]}" != "${NODE_PORT[b]}" ]] || NODE_PORT[b]="$(free_port)"
start_node a &
start_node b &
wait
# The backgrounded start_node calls set their variables in subshells: read them again.
for name in a b; do
  NODE_API[$name]="$(sed -n 's|^confab: API on \(http://[0-9.:]*\)$|\1|p' "$WORK/$name/confab.log")"
  NODE_PID[$name]="$(pgrep -f -- "--data-dir $WORK/$name/data" | head -n1)"
  [[ -n "${NODE_API[$name]}" && -n "${NODE_PORT[$name]}" && -n "${NODE_PID[$name]}" ]] ||
    fail "node $name did not start: $(tail -n 5 "$WORK/$name/confab.log")"
  HELPER_PIDS+=("${NODE_PID[$name]}")
  grep -q "policy store postgresql://" "$WORK/$name/confab.log" ||
    fail "node $name does not say it runs on PostgreSQL"
  [[ ! -e "$WORK/$name/data/policy.db" ]] || fail "node $name made a SQLite file"
done

# api NODE METHOD PATH [JSON]: prints "STATUS BODY".
api() {
  python3 - "${NODE_API[$1]}" "$2" "$3" "${4:-}" <<'PY'
import json, os, sys, urllib.request, urllib.error
base, method, path, body = sys.argv[1:5]
req = urllib.request.Request(base + path, method=method, data=body.encode() if body else None,
                             headers={"Authorization": "Bearer " + os.environ["TOKEN"],
                                      "Content-Type": "application/json"})
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
PY
}
export TOKEN

answer="$(api a GET /v1/tenants)"
[[ "$answer" == 200* ]] || fail "GET /v1/tenants on node A: $answer"
python3 -c 'import json,sys; t=json.loads(sys.argv[1].split(" ",1)[1])["tenants"]; assert [x["name"] for x in t] == ["default"], t' \
  "$answer" || fail "two nodes starting at once did not seed one default tenant: $answer"

# 3.
answer="$(api a POST /v1/tenants '{"name":"acme","domains":["127.0.0.1"]}')"
[[ "$answer" == 201* ]] || fail "POST /v1/tenants on node A: $answer"
ACME="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1].split(" ",1)[1])["id"])' "$answer")"
answer="$(api a POST /v1/rooms '{"tenant":'"$ACME"',"user":"4000","name":"Board room"}')"
[[ "$answer" == 201* ]] || fail "POST /v1/rooms on node A: $answer"
answer="$(api b GET /v1/rooms/4000@acme)"
[[ "$answer" == 200* && "$answer" == *'"Board room"'* ]] ||
  fail "node B does not see the room node A made: $answer"
log "room 4000@acme made on node A, read on node B"

SIP_PORT=${NODE_PORT[b]}
run_sipp call_b 30 -sn uac -s 4000 -m 1 -d 1000
assert_eq 0 "$SIPP_STATUS" "sipp's exit status for a call to 4000 on node B"
assert_eq 1 "$(sipp_stat call_b 'SuccessfulCall(C)')" "calls answered on node B"

# 4. The record is written as the call ends, on node B's connection.
deadline=$((SECONDS + 10))
until answer="$(api a GET '/v1/records/calls?room=4000@acme')" &&
  [[ "$answer" == *'"disconnection"'* ]]; do
  ((SECONDS < deadline)) || fail "node A does not list node B's call record: $answer"
  sleep 0.2
done
log "node B's call record listed by node A"

# 5.
bash "$INTEG_DIR/../postgres/server.sh" restart "$PG_DIR" || fail "PostgreSQL did not restart"
log "PostgreSQL restarted"
answer="$(api b POST /v1/rooms '{"tenant":'"$ACME"',"user":"4001","name":"After"}')"
[[ "$answer" == 201* ]] || fail "POST /v1/rooms on node B after the restart: $answer"
answer="$(api a GET /v1/rooms/4001@acme)"
[[ "$answer" == 200* && "$answer" == *'"After"'* ]] ||
  fail "node A after the restart: $answer"
SIP_PORT=${NODE_PORT[a]}
run_sipp call_a 30 -sn uac -s 4001 -m 1 -d 500
assert_eq 0 "$SIPP_STATUS" "sipp's exit status for a call to 4001 on node A after the restart"
assert_eq 1 "$(sipp_stat call_a 'SuccessfulCall(C)')" "calls answered on node A after the restart"

# 6.
for name in a b; do
  kill -TERM "${NODE_PID[$name]}"
done
for name in a b; do
  deadline=$((SECONDS + 10))
  while kill -0 "${NODE_PID[$name]}" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "node $name still running 10 s after SIGTERM"
    sleep 0.1
  done
  grep -q "AddressSanitizer\|runtime error" "$WORK/$name/confab.log" &&
    fail "node $name: $(grep -m1 "AddressSanitizer\|runtime error" "$WORK/$name/confab.log")"
done
log "PASS"
