#!/usr/bin/env bash
# PIN entry from SIPp, as phones send it: digits as RFC 4733 events replayed from SIPp's own
# captures (dtmf_2833_N.pcap) or as SIP INFO, the closing '#' as SIP INFO (application/dtmf-relay). A right PIN
# takes the call into the room (confab says so in its debug log); a wrong one three times ends
# the call with confab's BYE, which the scenario waits for; with --wrong-pins-per-source 3 that
# address is then locked out: its next INVITE gets 403 before anything is spent on it.
source "$(dirname "$0")/lib.sh"
integ_init "$@"
require_tool sipp
PCAPS=/usr/share/sip-tester
[[ -f "$PCAPS/dtmf_2833_1.pcap" ]] || fail "SIPp's DTMF captures are not in $PCAPS"

CONFAB_RTP_PORTS="$(free_rtp_range 200)"
start_confab --log-level debug --wrong-pins-per-source 3
"$CONFAB_BIN" room add default 5000 --pin 1234 --no-tones --data-dir "$WORK/data" >/dev/null ||
  fail "room add"

# scenario NAME D4 ATTEMPTS END: writes $WORK/NAME.xml from the template: ATTEMPTS times the
# digits 1 2 3 D4 and '#', then END ("bye": we hang up; "wait": confab's BYE is awaited).
scenario() {
  python3 - "$INTEG_DIR/scenarios/pin_pcap.xml.in" "$WORK/$1.xml" "$PCAPS" "$2" "$3" "$4" <<'EOF'
import sys
template, out, pcaps, d4, attempts, end = sys.argv[1:]
entry = open(template).read().split("@ENTRY@")
info = """  <send retrans="500">
    <![CDATA[

      INFO [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: [cseq] INFO
      Max-Forwards: 70
      Content-Type: application/dtmf-relay
      Content-Length: [len]

      Signal=KEY
      Duration=160

    ]]>
  </send>
  <recv response="200"/>
"""
digits = ("1", "2", "3", d4)
# The first attempt sends its digits as RFC 4733 events from SIPp's captures. A capture replayed
# twice repeats its sequence numbers and timestamps, which confab rightly refuses as replayed
# (RFC 3550 A.1), so later attempts key their digits by INFO. '#' always comes by INFO.
by_rtp = "".join(
    f"""  <nop><action><exec play_pcap_audio="{pcaps}/dtmf_2833_{d}.pcap"/></action></nop>
  <pause milliseconds="400"/>
""" for d in digits)
by_info = "".join(info.replace("KEY", d) for d in digits)
first = '\n  <pause milliseconds="1500"/>\n' + by_rtp + info.replace("KEY", "#")
# Later ones after confab's "wrong PIN" prompt and its question again.
later = '\n  <pause milliseconds="3000"/>\n' + by_info + info.replace("KEY", "#")
attempts_xml = first + later * (int(attempts) - 1)
if end == "bye":
    end_xml = """  <pause milliseconds="2000"/>
  <send retrans="500">
    <![CDATA[

      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: [cseq] BYE
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
"""
else:
    end_xml = """  <recv request="BYE" timeout="15000"/>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
"""
rest = entry[1].replace("@END@", end_xml)
open(out, "w").write(entry[0] + attempts_xml + rest)
EOF
}

scenario right 4 1 bye
scenario wrong 9 3 wait
run_sipp right 40 -sf "$WORK/right.xml" -s 5000 -m 1 -l 1 -mp "$(free_port 2)"
assert_sipp_clean right 1
grep -q "media moved to room 5000" "$CONFAB_LOG" || fail "the right PIN did not take the call into room 5000"
grep -Eq "pressed 1$" "$CONFAB_LOG" || fail "RFC 4733 digit 1 from the capture was not seen"
run_sipp wrong 60 -sf "$WORK/wrong.xml" -s 5000 -m 1 -l 1 -mp "$(free_port 2)"
assert_sipp_clean wrong 1
grep -q "too many wrong answers at entry" "$CONFAB_LOG" || fail "no BYE for three wrong PINs"
# Three wrong PINs from 127.0.0.1: locked out. SIPp's UAC is refused (its call fails) with 403.
run_sipp locked 20 -sn uac -s 5000 -m 1 -l 1 -d 500 -t u1
[[ "$(sipp_stat locked 'FailedCall(C)')" == 1 ]] || { show_sipp locked; fail "a locked-out address got in"; }
grep -q ">>> 403 Forbidden to 127.0.0.1" "$CONFAB_LOG" ||
  fail "the locked-out address's INVITE was not answered 403"
grep -q "security event=pin-guessing-lockout source=127.0.0.1:" "$CONFAB_LOG" ||
  fail "no security line for the lockout"
stop_confab
log "PASS"
