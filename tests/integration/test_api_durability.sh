#!/usr/bin/env bash
# Every write the API acknowledged survives `kill -9` in the middle of a stream of writes, and a
# write whose answer was lost can be repeated safely:
#   1. tenant acme and its key over the API;
#   2. two clients on keep-alive connections write as fast as they are answered: each creates
#      rooms (POST with an Idempotency-Key) and renames each room it made once (PATCH with the
#      ETag from its GET in If-Match), logging every answer;
#   3. once at least 60 writes are acknowledged, confab gets SIGKILL with requests in flight;
#   4. confab starts again on the same data directory: every room whose creation got 201 is there
#      with its name, every rename that got 200 holds, nothing else was created, and each create
#      whose answer was lost (the kill falls on one in most runs: 0 to 2 of them in five runs),
#      repeated with its Idempotency-Key, gets 201 (the first answer, kept with the room, or a
#      creation now), never 409.
source "$(dirname "$0")/lib.sh"
integ_init "$@"

start_confab_api

cat >"$WORK/client.py" <<'EOF'
import http.client, json, os, sys, threading, time, urllib.parse

def connect():
    u = urllib.parse.urlparse(os.environ["API"])
    return http.client.HTTPConnection(u.hostname, u.port, timeout=5)

def call(conn, method, path, key, body=None, headers=None):
    h = {"Authorization": "Bearer " + key}
    if body is not None:
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
    r = conn.getresponse()
    text = r.read().decode()
    return r.status, (json.loads(text) if text else None), r.getheader("ETag")
EOF

# 1.
python3 - "$WORK" >"$WORK/acme.json" <<'EOF' || fail "tenant acme and its key"
import json, os, sys
sys.path.insert(0, sys.argv[1]); from client import connect, call
c, op = connect(), os.environ["CONFAB_API_TOKEN"]
s, t, _ = call(c, "POST", "/v1/tenants", op, {"name": "acme", "maxRooms": 0})
assert s == 201, (s, t)
s, k, _ = call(c, "POST", "/v1/keys", op, {"tenant": t["id"], "name": "writer"})
assert s == 201, (s, k)
print(json.dumps({"tenant": t["id"], "token": k["token"]}))
EOF
ACME="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$WORK/acme.json")"
export ACME

# 2. The writers: one JSON line per write and its outcome in $WORK/writes.log ("status": null
# when the answer never came).
python3 - "$WORK" >"$WORK/writes.log" 2>"$WORK/writer.err" <<'EOF' &
import http.client, json, os, sys, threading, time
sys.path.insert(0, sys.argv[1]); from client import connect, call
key = os.environ["ACME"]
lock = threading.Lock()
def note(**entry):
    with lock:
        print(json.dumps(entry), flush=True)
def writer(n):
    conn = connect()
    deadline = time.time() + 30
    i = 0
    while time.time() < deadline:
        user = "%d%04d" % (n, i)
        idem = "create-%s" % user
        try:
            note(op="create", user=user, idem=idem, status=None, phase="sent")
            s, body, _ = call(conn, "POST", "/v1/rooms", key, {"user": user, "name": "room " + user},
                              {"Idempotency-Key": idem})
            note(op="create", user=user, idem=idem, status=s, phase="answered")
            if s != 201:
                return
            s, body, etag = call(conn, "GET", "/v1/rooms/%s@acme" % user, key)
            if s != 200:
                return
            name = "renamed " + user
            note(op="rename", user=user, name=name, status=None, phase="sent")
            s, body, _ = call(conn, "PATCH", "/v1/rooms/%s@acme" % user, key, {"name": name},
                              {"If-Match": etag})
            note(op="rename", user=user, name=name, status=s, phase="answered")
            if s != 200:
                return
        except (OSError, http.client.HTTPException) as e:
            note(op="error", user=user, error=repr(e))
            return
        i += 1
threads = [threading.Thread(target=writer, args=(n,)) for n in (1, 2)]
for t in threads: t.start()
for t in threads: t.join()
EOF
writer_pid=$!
HELPER_PIDS+=("$writer_pid")

# 3.
deadline=$((SECONDS + 20))
until (($(grep -c '"phase": "answered"' "$WORK/writes.log" || true) >= 60)); do
  ((SECONDS < deadline)) || fail "the writers did not get 60 answers in 20 s"
  kill -0 "$writer_pid" 2>/dev/null || fail "the writers stopped early: $(tail -3 "$WORK/writes.log")"
  sleep 0.05
done
kill -KILL "$CONFAB_PID"
wait "$CONFAB_PID" 2>/dev/null || true
CONFAB_PID=""
wait "$writer_pid" || true
log "killed confab after $(grep -c '"phase": "answered"' "$WORK/writes.log") answers"

# 4.
start_confab_api
python3 - "$WORK" <<'EOF' || fail "a write acknowledged before kill -9 is missing, or a repeat was unsafe"
import json, os, sys
sys.path.insert(0, sys.argv[1]); from client import connect, call
key = os.environ["ACME"]
conn = connect()
entries = [json.loads(l) for l in open(os.path.join(sys.argv[1], "writes.log"))]
created, renamed, unknown_creates = set(), {}, []
sent = {}
for e in entries:
    if e["op"] == "create":
        if e["phase"] == "sent":
            sent[e["user"]] = e
        elif e["status"] == 201:
            created.add(e["user"]); sent.pop(e["user"], None)
    elif e["op"] == "rename" and e["phase"] == "answered" and e["status"] == 200:
        renamed[e["user"]] = e["name"]
unknown_creates = list(sent.values())
failed = []
present, path = {}, "/v1/rooms?limit=500"
while path:
    s, page, _ = call(conn, "GET", path, key)
    assert s == 200, (s, page)
    present.update({r["user"]: r for r in page["rooms"]})
    path = page.get("next")
for user in created:
    if user not in present:
        failed.append("room %s got 201 and is gone" % user)
for user, name in renamed.items():
    if user in present and present[user]["name"] != name:
        failed.append("room %s was renamed (200) to %r and is %r" % (user, name, present[user]["name"]))
for user in present:
    if user not in created and user not in sent:
        failed.append("room %s exists and nobody created it" % user)
for e in unknown_creates:
    s, body, _ = call(conn, "POST", "/v1/rooms", key, {"user": e["user"], "name": "room " + e["user"]},
                      {"Idempotency-Key": e["idem"]})
    if s != 201:
        failed.append("repeating the lost create of %s: %s %s" % (e["user"], s, body))
print("acknowledged creates %d, renames %d, lost answers repeated %d" %
      (len(created), len(renamed), len(unknown_creates)), file=sys.stderr)
for f in failed:
    print("FAILED:", f, file=sys.stderr)
sys.exit(1 if failed else 0)
EOF
assert_confab_alive
log "PASS"
