#!/usr/bin/env bash
# The two outside attacks on the API's connections, at their full numbers, against the binary:
#   1. one client (127.0.0.1) opens 256 connections and sends nothing: the per-address cap (32)
#      closes the rest at once, and a probe from another address (127.0.0.9) and one from the
#      attacker's own address get GET /healthz answered well before the 5 s header deadline;
#   2. 300 clients, each from its own loopback address (127.0.1.1 to 127.0.2.44), send a request
#      header a byte every 100 ms: the whole server's cap (256) gives way to new connections by
#      evicting the one that has waited longest for its header, so a probe gets /healthz
#      answered at once; and every slow client is closed by the 5 s header deadline (none is
#      left open at 8 s).
# "Answered at once" is a bound of 2 s: what the test tells apart is an answer before the header
# deadline from one only after it (or none), not a speed.
# Then hostile bodies: JSON cut short, a wrong type, an unknown member, an array, a foreign
# Content-Type, 1 MiB (the limit is 64 KiB), a room id with NUL and a path in it: each gets its
# status and a problem+json naming the member or the rule.
source "$(dirname "$0")/lib.sh"
integ_init "$@"

start_confab_api

python3 - <<'EOF' || fail "the API's connection limits did not hold"
import os, selectors, socket, sys, time, urllib.parse
u = urllib.parse.urlparse(os.environ["API"])
server = (u.hostname, u.port)
failed = []

def connect(source):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.setblocking(False)
    s.connect_ex(server)
    return s

def probe(source):
    """Seconds until GET /healthz from 'source' is answered 200; None if not within 4 s."""
    start = time.monotonic()
    s = socket.create_connection(server, timeout=4, source_address=(source, 0))
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: confab\r\nConnection: close\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        if data.startswith(b"HTTP/1.1 200"):
            return time.monotonic() - start
        return None
    except OSError:
        return None
    finally:
        s.close()

def closed_by_server(sockets, within):
    """How many of 'sockets' the server closed (EOF or reset) within 'within' seconds."""
    sel = selectors.DefaultSelector()
    for s in sockets:
        sel.register(s, selectors.EVENT_READ)
    closed, deadline = 0, time.monotonic() + within
    while sel.get_map() and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.2):
            try:
                data = key.fileobj.recv(4096)
            except OSError:
                data = b""
            if not data:
                closed += 1
                sel.unregister(key.fileobj)
    return closed

# 1. 256 idle connections from one address.
idle = [connect("127.0.0.1") for _ in range(256)]
time.sleep(1.0)
refused = closed_by_server(idle, 1.0)
print("idle: %d of 256 closed at once" % refused, file=sys.stderr)
if refused < 256 - 32:
    failed.append("only %d of 256 idle connections from one address were closed" % refused)
for source in ("127.0.0.9", "127.0.0.1"):
    took = probe(source)
    print("idle: probe from %s answered in %s s" % (source, took), file=sys.stderr)
    if took is None or took > 2.0:
        failed.append("with 256 idle connections open, /healthz from %s: %s" % (source, took))
for s in idle:
    s.close()

# 2. 300 clients, each its own address, dribbling a header.
header = b"GET /healthz HTTP/1.1\r\nHost: confab\r\nUser-Agent: slowloris\r\nX-Pad: " + b"a" * 200
sources = ["127.0.%d.%d" % (1 + i // 200, 1 + i % 200) for i in range(300)]
slow = [connect(a) for a in sources]
time.sleep(0.3)
started = time.monotonic()
sent = 0
probed = None
ended = set()
while time.monotonic() - started < 8.0:
    for i, s in enumerate(slow):
        if i in ended:
            continue
        try:
            s.send(header[sent % len(header):sent % len(header) + 1])
        except OSError:
            ended.add(i)
    sent += 1
    if probed is None and time.monotonic() - started > 1.0:
        probed = probe("127.0.0.9")
        print("slow: probe answered in %s s" % probed, file=sys.stderr)
        if probed is None or probed > 2.0:
            failed.append("with 300 slow clients, /healthz: %s" % probed)
    time.sleep(0.1)
still_open = len(slow) - len(ended) - closed_by_server([s for i, s in enumerate(slow) if i not in ended], 0.5)
print("slow: %d of 300 still open after 8 s" % still_open, file=sys.stderr)
if still_open != 0:
    failed.append("%d slow clients were still connected after 8 s" % still_open)
for s in slow:
    s.close()
for f in failed:
    print("FAILED:", f, file=sys.stderr)
sys.exit(1 if failed else 0)
EOF
# Hostile bodies against the binary: each a problem+json naming what is wrong, never a crash.
# bad NAME STATUS FIELD CURL-ARGS...: the answer's status, and FIELD among the named errors (or
# in the detail when the problem names no member).
bad() {
  local name=$1 want=$2 field=$3
  shift 3
  local got
  got="$(curl -sS -o "$WORK/$name.json" -w '%{http_code} %{content_type}' \
    -H "Authorization: Bearer $CONFAB_API_TOKEN" "$@")" || fail "$name: curl failed (${got:-no answer})"
  [[ "$got" == "$want application/problem+json" ]] || fail "$name: $got $(head -c 300 "$WORK/$name.json")"
  python3 - "$WORK/$name.json" "$field" <<'PY' || fail "$name does not name $field: $(head -c 300 "$WORK/$name.json")"
import json, sys
p = json.load(open(sys.argv[1]))
named = [e.get("field") for e in p.get("errors", [])]
sys.exit(0 if sys.argv[2] in named or sys.argv[2] in p.get("detail", "") else 1)
PY
}
json=(-H 'Content-Type: application/json')
bad not_json 400 JSON "${json[@]}" -X POST "$API/v1/tenants" -d '{"name": "acme",'
bad wrong_type 400 maxRooms "${json[@]}" -X POST "$API/v1/tenants" -d '{"name":"acme","maxRooms":"ten"}'
bad unknown_member 400 colour "${json[@]}" -X POST "$API/v1/tenants" -d '{"name":"acme","colour":"red"}'
bad not_an_object 400 JSON "${json[@]}" -X POST "$API/v1/tenants" -d '[1,2,3]'
bad no_content_type 415 Content-Type -X POST "$API/v1/tenants" --data-binary '{"name":"acme"}' \
  -H 'Content-Type: text/plain'
head -c 1048576 /dev/zero | tr '\0' 'a' >"$WORK/huge.json"
bad huge_body 413 "too large" "${json[@]}" -X POST "$API/v1/tenants" --data-binary "@$WORK/huge.json"
# Without "Expect: 100-continue" the client is still sending when the 413 goes out: it must
# read the answer all the same, not a connection reset.
for i in 1 2 3; do
  bad "huge_body_sent_$i" 413 "too large" "${json[@]}" -H 'Expect:' -X POST "$API/v1/tenants" \
    --data-binary "@$WORK/huge.json"
done
bad bad_room_id 400 id "$API/v1/rooms/%00%2F..%2Fetc"
assert_confab_alive
took="$(curl -s -o /dev/null -w '%{http_code}' "$API/healthz")"
[[ "$took" == 200 ]] || fail "/healthz after the attacks: $took"
log "PASS"
