#!/usr/bin/env bash
# RFC 4579 conference control with SIPp and the real binary (issue 12 items 3, 7):
#   1. A moderator calls the conference factory (--factory conference): confab makes an ad-hoc
#      conference and names it in the 2xx's Contact (with isfocus).
#   2. The moderator REFERs bob (a SIPp UAS) in: confab answers 202, dials bob from the
#      conference's URI with its own offer, and reports in message/sipfrag NOTIFYs (100 Trying
#      first, 200 OK last, terminated). Then REFER with method=BYE: confab sends bob a BYE.
#   3. The same for carol behind a proxy that challenges with 407: confab answers the Digest
#      challenge with --dial-out-user's password from the password file; the test recomputes
#      the RFC 7616 response from what carol received and compares.
#   4. The same for dave, called from room 4000 of tenant acme (added with `confab tenant add`
#      while confab runs), whose own dial-out account is in the policy store: dave's proxy sees
#      acme's user and a digest of acme's password, not the focus's.
source "$(dirname "$0")/lib.sh"
integ_init "$@"
printf 'focus:s3cret-dial\n' >"$WORK/passwords"
chmod 600 "$WORK/passwords"
start_confab --factory conference --dial-out-user focus --password-file "$WORK/passwords"
printf 'acme-pa55:word\n' >"$WORK/acme-password"
# Requests to 127.0.0.1 are acme's (an exact domain wins over the default tenant's '*').
timeout -k 5 30 "$CONFAB_BIN" tenant add acme --domain 127.0.0.1 --dial-out-user acme-bridge \
  --dial-out-password-file "$WORK/acme-password" --data-dir "$WORK/data" >&2 ||
  fail "confab tenant add acme"
# No PINs: the caller is a participant, and participants may invite in this room.
timeout -k 5 30 "$CONFAB_BIN" room add acme 4000 --participants-invite --data-dir "$WORK/data" >&2 ||
  fail "confab room add acme 4000"

# RFC 3420 status lines from the NOTIFYs a moderator got, in order.
sipfrags() {
  python3 - "$WORK/$1_messages.log" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
for part in re.split(r"-{10,}[^\n]*\n", data):
    m = re.match(r"\s*(UDP|TCP) message received \[\d+\] bytes :\n\n", part)
    if not m or not part[m.end():].startswith("NOTIFY "):
        continue
    msg = part[m.end():]
    head, _, body = msg.partition("\r\n\r\n")
    ctype = re.search(r"(?mi)^Content-Type:\s*(.*)$", head)
    state = re.search(r"(?mi)^Subscription-State:\s*(.*)$", head)
    print("%s | %s | %s" % (body.strip(), ctype.group(1).strip() if ctype else "-",
                            state.group(1).strip() if state else "-"))
PY
}

for who in bob carol dave; do
  service=conference
  [[ $who == dave ]] && service=4000
  if [[ $who == bob ]]; then
    start_sipp "$who" 40 -sn uas -m 1 -t u1 -trace_msg -message_file "$WORK/${who}_messages.log"
  else
    start_sipp "$who" 40 -sf "$SCENARIOS/uas_407.xml" -m 1 -t u1 \
      -trace_msg -message_file "$WORK/${who}_messages.log"
  fi
  phone_pid=$SIPP_PID
  phone_port=$SIPP_PORT
  # SIPp binds its UDP port at once; give it a moment to read its scenario.
  deadline=$((SECONDS + 10))
  until ! python3 -c "import socket,sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).bind(('127.0.0.1', int(sys.argv[1])))" "$phone_port" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "$who's SIPp does not listen on udp $phone_port"
    sleep 0.1
  done
  run_sipp "moderator_$who" 40 -sf "$SCENARIOS/moderator_refer.xml" -s "$service" -m 1 -t u1 \
    -key target "sip:$who@127.0.0.1:$phone_port" \
    -trace_msg -message_file "$WORK/moderator_${who}_messages.log"
  assert_sipp_clean "moderator_$who" 1
  finish_sipp "$who" "$phone_pid"
  assert_sipp_clean "$who" 1

  frags="$(sipfrags "moderator_$who")"
  log "$who: NOTIFYs the moderator got:"$'\n'"$frags"
  first="$(head -n1 <<<"$frags")"
  [[ "$first" == "SIP/2.0 100 Trying | message/sipfrag;version=2.0 | active;expires=60" ]] ||
    fail "$who: the first NOTIFY is '$first'"
  grep -q '^SIP/2.0 200 OK | message/sipfrag;version=2.0 | terminated;reason=noresource$' \
    <<<"$frags" || fail "$who: no final 200 OK sipfrag terminating the REFER's subscription"
  # The dial-out came from the conference (the factory's ad-hoc one, or room 4000), as the focus.
  room='adhoc-[a-z0-9]+'
  [[ $who == dave ]] && room=4000
  assert_file_contains "$WORK/moderator_${who}_messages.log" "^Contact: <sip:$room@[^>]*>;isfocus" \
    "the moderator's 2xx"
  assert_file_contains "$WORK/${who}_messages.log" "^From: .*<sip:$room@" "$who's INVITE"
  assert_file_contains "$WORK/${who}_messages.log" "^Contact: <sip:$room@[^>]*>;isfocus" \
    "$who's INVITE"
  assert_file_contains "$WORK/${who}_messages.log" '^BYE sip:' "$who was removed"
done
# RFC 7616 §3.4.1 (MD5, qop=auth): the response each got must be the one the password gives.
check_digest() {
  local who=$1 user=$2 password=$3
  python3 - "$WORK/${who}_messages.log" "$user" "$password" >&2 <<'PY' || fail "the answer to $who's 407"
import hashlib, re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
m = re.search(r"(?m)^Proxy-Authorization: Digest (.*)$", text)
assert m, "no Proxy-Authorization"
params = dict((k, v.strip('"')) for k, v in re.findall(r'(\w+)=("[^"]*"|[^,\s]+)', m.group(1)))
h = lambda s: hashlib.md5(s.encode()).hexdigest()
ha1 = h("%s:%s:%s" % (params["username"], params["realm"], sys.argv[3]))
ha2 = h("INVITE:%s" % params["uri"])
want = h(":".join([ha1, params["nonce"], params["nc"], params["cnonce"], params["qop"], ha2]))
assert params["username"] == sys.argv[2] and params["realm"] == "pbx.test", params
assert params["response"] == want, "response %s, expected %s" % (params["response"], want)
print("407 answered with a correct digest (user %s, realm pbx.test, nc %s)" % (sys.argv[2], params["nc"]))
PY
}
check_digest carol focus s3cret-dial
check_digest dave acme-bridge 'acme-pa55:word'
assert_confab_alive "after the dial-outs"
log "PASS"
