#!/usr/bin/env python3
"""Requests confab must refuse, each over raw UDP, with the status and headers RFC 3261 asks for;
then garbage that must not hurt it. Usage: udp_errors.py PORT. Prints one line per check; exit
status 1 if any check failed (all checks run)."""

import os
import random
import re
import socket
import struct
import sys
import time

from sipclient import Response, TestFailure, branch, sdp_offer, token

HOST = "127.0.0.1"
WAIT = 5.0

failures = []


class UdpPeer:
    def __init__(self, port):
        self.server = (HOST, port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.local = "%s:%d" % self.sock.getsockname()

    def send(self, data: bytes):
        self.sock.sendto(data, self.server)

    def final_response(self, call_id, wait=WAIT):
        """The first final response for CALL_ID; stray datagrams of other calls are skipped."""
        deadline = time.monotonic() + wait
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure(f"no final response within {wait:.0f}s")
            self.sock.settimeout(left)
            try:
                data, _ = self.sock.recvfrom(65536)
            except socket.timeout:
                raise TestFailure(f"no final response within {wait:.0f}s") from None
            if data.startswith(b"SIP/2.0 "):
                r = Response(data)
                if r.header("call-id") == call_id and r.status >= 200:
                    return r

    def quiet(self, wait):
        """Datagrams that arrive within WAIT seconds (for garbage, which deserves no answer)."""
        got = []
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                got.append(self.sock.recvfrom(65536)[0])
            except socket.timeout:
                break
        return got


def request(peer, method, room="1000", extra=(), body="", headers=None, call_id=None,
            via_branch=None, cseq=1, cseq_method=None):
    """A request from PEER; HEADERS, if given, replace the standard header block entirely."""
    call_id = call_id or token(12) + "@errors"
    via_branch = via_branch or branch()
    host = "%s:%d" % peer.server
    if headers is None:
        headers = [
            f"Via: SIP/2.0/UDP {peer.local};branch={via_branch}",
            "Max-Forwards: 70",
            f"From: \"Errors test\" <sip:tester@{peer.local}>;tag={token(6)}",
            f"To: <sip:{room}@{host}>",
            f"Call-ID: {call_id}",
            f"CSeq: {cseq} {cseq_method or method}",
            f"Contact: <sip:tester@{peer.local}>",
        ]
    lines = [f"{method} sip:{room}@{host} SIP/2.0", *headers, *extra]
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(body.encode())}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode(), call_id, via_branch


def ack_for(peer, response, room, call_id, via_branch):
    """RFC 3261 §17.1.1.3: the ACK for a non-2xx final response, same branch as the INVITE."""
    host = "%s:%d" % peer.server
    lines = [
        f"ACK sip:{room}@{host} SIP/2.0",
        f"Via: SIP/2.0/UDP {peer.local};branch={via_branch}",
        "Max-Forwards: 70",
        f"From: {response.header('from')}",
        f"To: {response.header('to')}",
        f"Call-ID: {call_id}",
        "CSeq: 1 ACK",
        "Content-Length: 0",
    ]
    peer.send(("\r\n".join(lines) + "\r\n\r\n").encode())


def check(name, fn):
    try:
        detail = fn()
        print(f"ok   {name}{': ' + detail if detail else ''}")
    except TestFailure as e:
        print(f"FAIL {name}: {e}")
        failures.append(name)


def expect_status(r, status):
    if r.status != status:
        raise TestFailure(f"expected {status}, got {r}")


def expect_to_tag(r):
    # RFC 3261 §8.2.6.2: a UAS adds a To tag to every response but 100.
    if not r.to_tag():
        raise TestFailure(f"{r} has no To tag: {r.header('to')!r}")


def methods(r, header):
    values = r.header_all(header)
    if not values:
        raise TestFailure(f"{r} has no {header} header")
    return {v.upper() for v in values}


def main():
    port = int(sys.argv[1])
    peer = UdpPeer(port)

    def unknown_room():
        room = "no-such-room-" + token(4)
        data, cid, br = request(peer, "INVITE", room=room, body=sdp_offer(40000))
        peer.send(data)
        r = peer.final_response(cid)
        expect_status(r, 404)
        expect_to_tag(r)
        ack_for(peer, r, room, cid, br)
        # The request is matched to its transaction: a retransmission gets the same answer
        # (RFC 3261 §17.2.1) rather than a second, different one.
        return f"{r}"

    def invite_retransmitted_to_unknown_room():
        room = "no-such-room-" + token(4)
        data, cid, br = request(peer, "INVITE", room=room, body=sdp_offer(40000))
        peer.send(data)
        first = peer.final_response(cid)
        expect_status(first, 404)
        peer.send(data)
        again = peer.final_response(cid)
        expect_status(again, 404)
        if again.to_tag() != first.to_tag():
            raise TestFailure(f"the retransmitted INVITE got a new To tag ({first.to_tag()} then "
                              f"{again.to_tag()}): a second transaction instead of the same one")
        ack_for(peer, first, room, cid, br)
        return "same 404 twice"

    def bad_from():
        cid = token(12) + "@errors"
        host = "%s:%d" % peer.server
        headers = [
            f"Via: SIP/2.0/UDP {peer.local};branch={branch()}",
            "Max-Forwards: 70",
            f"From: \"Unterminated display name <sip:tester@{peer.local}>;tag={token(6)}",
            f"To: <sip:1000@{host}>",
            f"Call-ID: {cid}",
            "CSeq: 1 OPTIONS",
        ]
        data, _, _ = request(peer, "OPTIONS", headers=headers)
        peer.send(data)
        r = peer.final_response(cid)
        expect_status(r, 400)
        # RFC 3261 §21.4.1: "The reason phrase SHOULD identify the syntax problem in more detail".
        if "from" not in r.reason.lower():
            raise TestFailure(f"the reason phrase {r.reason!r} does not name the From header")
        return f"{r}"

    def unanswerable(headers, what):
        """A request too broken to answer (no usable Via to send a response by): RFC 4475 only
        asks that it not break the element. confab drops it; if it ever answers, the answer must
        be a 400 naming the problem."""
        data, _, _ = request(peer, "OPTIONS", headers=headers)
        peer.send(data)
        got = peer.quiet(1.0)
        if not got:
            return "dropped without an answer"
        r = Response(got[0])
        expect_status(r, 400)
        if what.lower() not in r.reason.lower():
            raise TestFailure(f"the reason phrase {r.reason!r} does not name {what}")
        return f"{r}"

    def answered_to_source(headers, what):
        data, _, _ = request(peer, "OPTIONS", headers=headers)
        peer.send(data)
        got = peer.quiet(1.0)
        if not got:
            raise TestFailure("no answer at the request's source")
        r = Response(got[0])
        expect_status(r, 400)
        if what.lower() not in r.reason.lower():
            raise TestFailure(f"the reason phrase {r.reason!r} does not name {what}")
        return f"{r}"

    def torture_badinv01():
        """RFC 4475 §3.1.2.1 as written (stray ';' and ',' in Via and Contact): 400, sent to where
        the datagram came from since its Via names no usable address, with that Via copied."""
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                            "shared", "sip-torture", "rfc4475", "badinv01.dat")
        peer.send(open(path, "rb").read())
        r = peer.final_response("badinv01.0ha0isndaksdjasdf3234nas", wait=2.0)
        expect_status(r, 400)
        if b"\r\nVia: SIP/2.0/UDP 192.0.2.15;;,;,,\r\n" not in r.raw:
            raise TestFailure(f"the Via was not copied as sent: {r.raw[:300]!r}")
        if r.header("cseq") != "8 INVITE":
            raise TestFailure(f"CSeq {r.header('cseq')!r}")
        return f"{r}"

    def missing_call_id():
        """RFC 4475 §3.3.1: the Via and CSeq are there, so the 400 can go back by the Via."""
        host = "%s:%d" % peer.server
        data, _, _ = request(peer, "OPTIONS", headers=[
            f"Via: SIP/2.0/UDP {peer.local};branch={branch()}",
            "Max-Forwards: 70",
            f"From: <sip:tester@{peer.local}>;tag={token(6)}",
            f"To: <sip:1000@{host}>",
            "CSeq: 1 OPTIONS",
        ])
        peer.send(data)
        got = peer.quiet(1.0)
        if not got:
            raise TestFailure("no answer")
        r = Response(got[0])
        expect_status(r, 400)
        if "call-id" not in r.reason.lower():
            raise TestFailure(f"the reason phrase {r.reason!r} does not name Call-ID")
        return f"{r}"

    def unparsable_via():
        """A Via we cannot read: the 400 goes back to the datagram's source (RFC 4475 §3.1.2.1)."""
        host = "%s:%d" % peer.server
        return answered_to_source([
            f"Via: SIP/2.0/UDP 127.0.0.1:99999;branch={branch()};rport",
            "Max-Forwards: 70",
            f"From: <sip:tester@{peer.local}>;tag={token(6)}",
            f"To: <sip:1000@{host}>",
            f"Call-ID: {token(12)}@errors",
            "CSeq: 1 OPTIONS",
        ], "Via")

    def bad_via_branch():
        cid = token(12) + "@errors"
        host = "%s:%d" % peer.server
        headers = [
            # RFC 3261 §8.1.1.7 / RFC 4475 §3.2.1: the magic cookie alone is no transaction id.
            f"Via: SIP/2.0/UDP {peer.local};branch=z9hG4bK",
            "Max-Forwards: 70",
            f"From: <sip:tester@{peer.local}>;tag={token(6)}",
            f"To: <sip:1000@{host}>",
            f"Call-ID: {cid}",
            "CSeq: 1 OPTIONS",
        ]
        data, _, _ = request(peer, "OPTIONS", headers=headers)
        peer.send(data)
        r = peer.final_response(cid)
        expect_status(r, 400)
        if "via" not in r.reason.lower():
            raise TestFailure(f"the reason phrase {r.reason!r} does not name the Via header")
        return f"{r}"

    def unknown_method():
        data, cid, _ = request(peer, "FOO")
        peer.send(data)
        r = peer.final_response(cid)
        expect_status(r, 501)
        expect_to_tag(r)
        allow = methods(r, "allow")  # RFC 3261 §21.5.2 with §20.5
        missing = {"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS"} - allow
        if missing:
            raise TestFailure(f"Allow {sorted(allow)} lacks {sorted(missing)}")
        if "FOO" in allow:
            raise TestFailure("Allow lists FOO, the method just refused")
        return f"{r}, Allow: {', '.join(sorted(allow))}"

    def register():
        data, cid, _ = request(peer, "REGISTER", extra=["Expires: 60"])
        peer.send(data)
        r = peer.final_response(cid)
        expect_status(r, 405)
        expect_to_tag(r)
        allow = methods(r, "allow")  # RFC 3261 §21.4.6: a 405 MUST carry Allow
        if "REGISTER" in allow:
            raise TestFailure(f"Allow {sorted(allow)} lists REGISTER, the method refused")
        if "INVITE" not in allow:
            raise TestFailure(f"Allow {sorted(allow)} lacks INVITE")
        return f"{r}, Allow: {', '.join(sorted(allow))}"

    def require_unknown():
        data, cid, br = request(peer, "INVITE", extra=["Require: frobnicate"],
                                body=sdp_offer(40000))
        peer.send(data)
        r = peer.final_response(cid)
        expect_status(r, 420)
        expect_to_tag(r)
        ack_for(peer, r, "1000", cid, br)
        unsupported = [v.lower() for v in r.header_all("unsupported")]
        if unsupported != ["frobnicate"]:  # RFC 3261 §8.2.2.3
            raise TestFailure(f"Unsupported is {unsupported}, expected ['frobnicate']")
        return f"{r}, Unsupported: frobnicate"

    def options():
        data, cid, _ = request(peer, "OPTIONS", extra=["Accept: application/sdp"])
        peer.send(data)
        r = peer.final_response(cid)
        expect_status(r, 200)
        expect_to_tag(r)
        # RFC 3261 §11.2: Allow, Accept, Accept-Encoding, Accept-Language and Supported SHOULD
        # be present in a 200 to OPTIONS.
        allow = methods(r, "allow")
        if not {"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS"} <= allow:
            raise TestFailure(f"Allow {sorted(allow)} lacks a method confab implements")
        accept = [v.lower() for v in r.header_all("accept")]
        if "application/sdp" not in accept:
            raise TestFailure(f"Accept {accept} lacks application/sdp")
        if r.header("supported") is None:
            raise TestFailure("no Supported header")
        return f"{r}, Supported: {r.header('supported')}"

    def stun_keepalive():
        """RFC 5626 §4.4.2: a STUN Binding request on the SIP port gets a Binding success with
        our transaction id and, in XOR-MAPPED-ADDRESS (RFC 8489 §14.2), our own address."""
        cookie = 0x2112A442
        tid = os.urandom(12)
        peer.send(struct.pack("!HHI", 0x0001, 0, cookie) + tid)
        got = peer.quiet(1.0)
        if not got:
            raise TestFailure("no answer")
        d = got[0]
        kind, length, got_cookie = struct.unpack("!HHI", d[:8])
        if kind != 0x0101 or got_cookie != cookie or d[8:20] != tid or length != len(d) - 20:
            raise TestFailure(f"not a Binding success to our request: {d.hex()}")
        attribute, size, _, family, xport = struct.unpack("!HHBBH", d[20:28])
        if attribute != 0x0020 or size != 8 or family != 1:
            raise TestFailure(f"no IPv4 XOR-MAPPED-ADDRESS first: {d.hex()}")
        address = socket.inet_ntoa(bytes(a ^ b for a, b in zip(d[28:32], struct.pack("!I", cookie))))
        mapped = f"{address}:{xport ^ (cookie >> 16)}"
        if mapped != peer.local:
            raise TestFailure(f"XOR-MAPPED-ADDRESS {mapped}, we are {peer.local}")
        return f"Binding success, XOR-MAPPED-ADDRESS {mapped}"

    def garbage():
        rng = random.Random(4475)
        datagrams = [
            bytes(rng.randrange(256) for _ in range(300)),
            b"\x00" * 64,
            b"\r\n\r\n",                                   # keep-alive (RFC 5626 §3.5.1)
            b"INVITE sip:1000@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP",   # cut short
            b"SIP/2.0 200 OK\r\n\r\n",                     # a response to nothing
            b"INVITE sip:1000@127.0.0.1 SIP/2.0\r\n" + b"X-Long: " + b"a" * 60000 + b"\r\n\r\n",
            b"OPTIONS sip:1000@127.0.0.1 SIP/2.0\r\nContent-Length: 99999999999999999999\r\n\r\n",
            b"\xff\xfe\xfd SIP/2.0\r\n\r\n",
            os.urandom(1400),
        ]
        for d in datagrams:
            peer.send(d)
        peer.quiet(0.5)  # whatever confab answered, if anything, is drained here
        # Still answering afterwards.
        data, cid, _ = request(peer, "OPTIONS")
        peer.send(data)
        r = peer.final_response(cid)
        expect_status(r, 200)
        return f"{len(datagrams)} garbage datagrams, then OPTIONS -> {r}"

    def too_large():
        # confab runs with --max-message-bytes 8192 here: a 12 kB INVITE is over it. RFC 3261
        # §21.5.11: 513, since its start line and headers were read; the phrase plain.
        body = "v=0\r\n" + "".join(f"a=x-filler:{'x' * 90}\r\n" for _ in range(120))
        data, cid, _ = request(peer, "INVITE", body=body)
        assert len(data) > 8192
        peer.send(data)
        r = peer.final_response(cid)
        expect_status(r, 513)
        if r.reason != "Message Too Large":
            raise TestFailure(f"reason phrase {r.reason!r}")
        expect_to_tag(r)
        return f"{len(data)} bytes -> {r}"

    check("INVITE to an unknown room -> 404", unknown_room)
    check("INVITE over --max-message-bytes -> 513", too_large)
    check("retransmitted INVITE to an unknown room -> the same 404", invite_retransmitted_to_unknown_room)
    check("From with an unterminated quote -> 400 naming From", bad_from)
    check("Via branch without a transaction id -> 400 naming Via", bad_via_branch)
    check("no Call-ID -> 400 naming Call-ID", missing_call_id)
    check("Via port 99999 -> 400 naming Via, to the source", unparsable_via)
    check("RFC 4475 badinv01 -> 400 to the source", torture_badinv01)
    check("method FOO -> 501 with Allow", unknown_method)
    check("REGISTER -> 405 with Allow", register)
    check("Require: frobnicate -> 420 with Unsupported", require_unknown)
    check("OPTIONS -> 200 with Allow, Accept, Supported", options)
    check("STUN Binding request -> Binding success with our address", stun_keepalive)
    check("garbage -> no crash", garbage)
    if failures:
        print(f"{len(failures)} check(s) failed: {'; '.join(failures)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
