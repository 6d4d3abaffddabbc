#!/usr/bin/env python3
"""One call over one TLS connection: INVITE with an SDP offer -> (100) -> 200 with an SDP answer,
ACK, BYE -> 200. Usage: tls_call.py PORT [ROOM]. Exit status 0 when every step went as expected."""

import re
import sys
import time

from sipclient import Dialog, Response, StreamReader, TestFailure, is_request, sdp_offer, tls_connect

HOST = "127.0.0.1"


def main():
    port = int(sys.argv[1])
    room = sys.argv[2] if len(sys.argv) > 2 else "1000"
    deadline = time.monotonic() + 30
    sock = tls_connect(HOST, port)
    print(f"tls: connected, {sock.version()} {sock.cipher()[0]}")
    local_host, local_port = sock.getsockname()[:2]
    reader = StreamReader(sock)
    d = Dialog("TLS", local_host, local_port, room, HOST, port)

    def expect(method, cseq, statuses):
        """Reads until a final response to (METHOD, CSEQ); returns the list of responses seen."""
        seen = []
        while True:
            msg = reader.read(min(deadline, time.monotonic() + 10))
            if is_request(msg):
                raise TestFailure(f"unexpected request from confab: {msg.splitlines()[0]!r}")
            r = Response(msg)
            if r.header("cseq") != f"{cseq} {method}":
                raise TestFailure(f"response {r} for CSeq {r.header('cseq')!r}, "
                                  f"expected {cseq} {method}")
            if r.header("call-id") != d.call_id:
                raise TestFailure(f"response {r} with Call-ID {r.header('call-id')!r}")
            seen.append(r)
            print(f"tls: {method} <- {r}")
            if r.status >= 200:
                if r.status not in statuses:
                    raise TestFailure(f"{method} got {r}, expected {statuses}")
                return seen
            if r.status not in (100, 180, 183):
                raise TestFailure(f"{method} got unexpected provisional {r}")

    # INVITE with an offer.
    sock.sendall(d.request("INVITE", sdp_offer(40000)))
    responses = expect("INVITE", 1, [200])
    ok = responses[-1]
    if (ok.header("content-type") or "").split(";")[0].strip().lower() != "application/sdp":
        raise TestFailure(f"200 to INVITE has Content-Type {ok.header('content-type')!r}")
    body = ok.body
    for pattern in (r"(?m)^v=0\r?$", r"(?m)^c=IN IP4 \S+", r"(?m)^m=audio [1-9]\d* RTP/(S)?AVP( \d+)+",
                    r"(?m)^a=sendrecv"):
        if not re.search(pattern, body):
            raise TestFailure(f"SDP answer lacks /{pattern}/:\n{body}")
    m = re.search(r"(?m)^m=audio \d+ RTP/\S+ (.*)$", body)
    answered = set(m.group(1).split())
    if not answered or not answered <= {"0", "8", "101"}:
        raise TestFailure(f"SDP answer offers formats {answered} outside the offer's 0 8 101")
    d.to_tag = ok.to_tag()
    if not d.to_tag:
        raise TestFailure("200 to INVITE has no To tag")
    contact = ok.header("contact")
    if not contact:
        raise TestFailure("200 to INVITE has no Contact")
    cm = re.search(r"<([^>]+)>", contact)
    d.remote_target = cm.group(1) if cm else contact.split(";")[0].strip()
    # RFC 5630 §3.1.3: reached over TLS, the focus asks for TLS in the dialog by its scheme.
    if not d.remote_target.startswith("sips:") or "transport=tls" in d.remote_target:
        raise TestFailure(f"over TLS the Contact should be a sips: URI, got {d.remote_target}")
    print(f"tls: answered, remote target {d.remote_target}")

    # RFC 3261 §13.2.2.4: ACK for a 2xx is its own transaction, same CSeq number.
    sock.sendall(d.request("ACK", cseq=1))

    # Hold the call briefly, then hang up.
    time.sleep(0.5)
    d.cseq = 2
    sock.sendall(d.request("BYE"))
    expect("BYE", 2, [200])
    sock.close()
    print("tls: call completed")


if __name__ == "__main__":
    try:
        main()
    except TestFailure as e:
        print(f"tls: FAIL: {e}", file=sys.stderr)
        sys.exit(1)
    except OSError as e:
        print(f"tls: FAIL: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
