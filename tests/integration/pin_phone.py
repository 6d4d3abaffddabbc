#!/usr/bin/env python3
"""A scripted SIP phone for the integration tests of PIN entry, lobbies and room rules (standard
library only, python3 >= 3.9).

Over UDP from 127.0.0.1, INVITEs sip:ROOM@DOMAIN:PORT (the packets always go to 127.0.0.1:PORT)
offering PCMU/8000 (PT 0) and telephone-event/8000 (PT 101). From the 200 OK until the call ends
it sends real-time RTP, one 20 ms G.711 u-law packet per 20 ms, of a tone of --freq Hz (0: digital
silence) at --level dBov. --keys "KEYS@SECONDS,..." presses keys, one every 250 ms from SECONDS
after the 200 OK, as RFC 4733 telephone-events in the RTP stream (--dtmf-method rfc4733: same SSRC
and sequence numbers, audio paused during the event, marker on its first packet, 100 ms, three end
packets with the E bit) or as one SIP INFO per key (info: application/dtmf-relay
"Signal=K\\r\\nDuration=160\\r\\n"; info-dtmf: application/dtmf "K"), whose final statuses are
recorded. Every RTP packet that comes back is recorded; for every 0.5 s window since the 200 OK
the phone reports the RMS level of what it heard in dBov (digital silence or nothing: -200.0) and
the level at each --detect frequency (Hann-windowed Goertzel, as audio_phone.py).

The call ends when the far end sends BYE (answered 200; its time since the 200 OK is
bye_from_far_end_at) or --duration seconds after the 200 OK (the phone sends BYE and waits up to
3 s for its 200). In-dialog OPTIONS, INFO, UPDATE and re-INVITE from the far end are answered 200
(an offer is answered with our SDP, its direction mirrored: sendonly -> recvonly, and so on; the
phone sends media only when its answer allows it). A final non-2xx answer to the INVITE is
reported (status, reason, Warning) with exit status 0: the test judges it.

Prints one JSON line:
  {"status", "reason", "warning", "call_id", "windows": [{"t", "rms", "tones": {"440": dBov},
   "packets"}], "bye_from_far_end_at", "info_statuses", "packets_received", "keys_sent",
   "bye_status", "in_dialog_requests"}
Exit status 0 when the SIP side went as expected, 1 otherwise (the line then has "error").
Everything is bounded: 10 s for the INVITE, duration + 15 s in all.

--self-test (no network) checks the RFC 4733 packet builder, the INFO body builder, the --keys
parser and the windowed analysis.
"""

import argparse
import json
import math
import os
import random
import re
import select
import signal
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from audio_phone import (DTMF_EVENTS, HOST, PT_EVENT, PT_PCMU, PTIME, SAMPLES,  # noqa: E402
                         T1, RtpSender, ToneSource, analyse_samples, bind_rtp_pair,
                         parse_answer, parse_rtp, sdp_offer, ulaw_decode)
from sipclient import Dialog, Response, TestFailure, is_request  # noqa: E402

T2 = 4.0
KEY_INTERVAL = 0.25      # one key every 250 ms
EVENT_DURATION = 800     # RFC 4733 event duration in timestamp units: 100 ms at 8 kHz
EVENT_VOLUME = 10        # -10 dBm0
END_PACKETS = 3          # RFC 4733 §2.5.1.4: the end packet sent three times
WINDOW = 0.5             # seconds per analysis window
INVITE_TIMEOUT = 10.0
BYE_TIMEOUT = 3.0
EXTRA_TIME = 15.0        # total run time <= duration + this
DTMF_METHODS = ("rfc4733", "info", "info-dtmf")
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
MIRROR = {"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly",
          "inactive": "inactive"}


# --- builders (checked by --self-test) ----------------------------------------------------------

def parse_keys(spec):
    """'1234#@3.0,9999#@8' -> [(3.0, '1234#'), (8.0, '9999#')], in the order given. Keys are
    0-9 * # A-D (a-d accepted); raises ValueError on anything else."""
    out = []
    for part in (spec or "").split(","):
        part = part.strip()
        if not part:
            continue
        keys, at, seconds = part.rpartition("@")
        keys = keys.strip().upper()
        if not at or not keys:
            raise ValueError(f"--keys item {part!r} is not KEYS@SECONDS")
        bad = [k for k in keys if k not in DTMF_EVENTS]
        if bad:
            raise ValueError(f"--keys item {part!r}: {bad[0]!r} is not a DTMF key (0-9 * # A-D)")
        try:
            t = float(seconds)
        except ValueError:
            raise ValueError(f"--keys item {part!r}: {seconds!r} is not a number of seconds") \
                from None
        if not math.isfinite(t) or t < 0:
            raise ValueError(f"--keys item {part!r}: seconds must be finite and >= 0")
        out.append((t, keys))
    return out


def key_schedule(items):
    """[(t, '12')] -> [(t, '1'), (t + 0.25, '2')]: every key with its time, sorted by time."""
    out = []
    for t, keys in items:
        out += [(t + i * KEY_INTERVAL, k) for i, k in enumerate(keys)]
    return sorted(out, key=lambda x: x[0])


def dtmf_event_packets(key, volume=EVENT_VOLUME, duration=EVENT_DURATION, step=SAMPLES):
    """The RFC 4733 packets of one key press, one per 20 ms slot: [(marker, payload)]. All carry
    the event's start timestamp; the first has the marker; the durations grow by STEP up to
    DURATION; then END_PACKETS packets with the E bit and the final duration."""
    event = DTMF_EVENTS[key.upper()]
    if not 0 <= volume <= 63 or not 0 < duration <= 0xFFFF:
        raise ValueError("volume 0-63, duration 1-65535")
    packets = []
    n = -(-duration // step)
    for i in range(n):
        d = min((i + 1) * step, duration)
        packets.append((i == 0, struct.pack("!BBH", event, volume, d)))
    for _ in range(END_PACKETS):
        packets.append((False, struct.pack("!BBH", event, 0x80 | volume, duration)))
    return packets


def info_body(key, method):
    """(Content-Type, body) of the SIP INFO that carries KEY."""
    if method == "info":
        return "application/dtmf-relay", f"Signal={key}\r\nDuration=160\r\n"
    if method == "info-dtmf":
        return "application/dtmf", key
    raise ValueError(f"no INFO body for method {method!r}")


def analyse_windows(received, end_t, freqs, width=WINDOW):
    """RECEIVED: [(seconds since the 200 OK, pt, payload)]. For each WIDTH window starting before
    END_T: the RMS and tone levels (dBov) of the PCMU audio that arrived in it, in arrival
    order; -200.0 for digital silence or no audio at all."""
    n = max(0, int(math.ceil(end_t / width - 1e-9)))
    buckets = [[] for _ in range(n)]
    counts = [0] * n
    for t, pt, payload in received:
        if pt != PT_PCMU or t < 0:
            continue
        i = int(t // width)
        if i < n:
            buckets[i].extend(ulaw_decode(payload))
            counts[i] += 1
    out = []
    for i, samples in enumerate(buckets):
        a = analyse_samples(samples, freqs)
        out.append({"t": round(i * width, 3), "rms": a["rms_dbov"], "tones": a["tones_dbov"],
                    "packets": counts[i]})
    return out


def self_test():
    pk = dtmf_event_packets("5", volume=10, duration=800)
    assert len(pk) == 5 + 3, pk
    assert [m for m, _ in pk] == [True] + [False] * 7, pk
    assert pk[0][1] == bytes([5, 10, 0, 160]), pk[0]
    assert [struct.unpack("!BBH", p)[2] for _, p in pk] == [160, 320, 480, 640, 800, 800, 800,
                                                            800], pk
    for i, (_, p) in enumerate(pk):
        assert p[0] == 5 and p[1] & 0x3F == 10 and p[1] & 0x40 == 0, p
        assert bool(p[1] & 0x80) == (i >= 5), (i, p)
    assert pk[-1][1] == bytes([5, 0x8A, 0x03, 0x20]), pk[-1]
    assert dtmf_event_packets("#")[0][1][0] == 11 and dtmf_event_packets("*")[0][1][0] == 10
    assert dtmf_event_packets("d")[0][1][0] == 15

    assert info_body("5", "info") == ("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n")
    assert info_body("#", "info-dtmf") == ("application/dtmf", "#")
    try:
        info_body("5", "rfc4733")
        raise AssertionError("info_body accepted rfc4733")
    except ValueError:
        pass

    assert parse_keys("1234#@3.0,9999#@8") == [(3.0, "1234#"), (8.0, "9999#")]
    assert parse_keys(" 5@0 , *a@1.5 ") == [(0.0, "5"), (1.5, "*A")]
    assert parse_keys("") == []
    for bad in ("1234", "@3", "12x@1", "1@-1", "1@nan", "1@soon", "1@inf"):
        try:
            parse_keys(bad)
            raise AssertionError(f"parse_keys accepted {bad!r}")
        except ValueError:
            pass
    sched = key_schedule(parse_keys("12@1,3@0.5"))
    assert sched == [(0.5, "3"), (1.0, "1"), (1.25, "2")], sched

    # 1 s of a -20 dBov 440 Hz tone (two windows), then 0.5 s of digital silence, then nothing.
    tone = ToneSource(440, -20.0)
    rx = [(i * PTIME, PT_PCMU, tone.frame()) for i in range(50)]
    rx += [(1.0 + i * PTIME, PT_PCMU, b"\xff" * SAMPLES) for i in range(25)]
    rx.append((0.1, PT_EVENT, b"\x05\x0a\x00\xa0"))  # not audio: ignored
    w = analyse_windows(rx, 2.0, [440, 1000])
    assert [x["t"] for x in w] == [0.0, 0.5, 1.0, 1.5], w
    for x in w[:2]:
        assert abs(x["rms"] + 20) < 0.5 and abs(x["tones"]["440"] + 20) < 0.5, x
        assert x["tones"]["1000"] < -60 and x["packets"] == 25, x
    assert w[2]["rms"] == -200.0 and w[2]["tones"]["440"] == -200.0 and w[2]["packets"] == 25
    assert w[3] == {"t": 1.5, "rms": -200.0, "tones": {"440": -200.0, "1000": -200.0},
                    "packets": 0}, w[3]
    assert len(analyse_windows(rx, 1.75, [440])) == 4 and analyse_windows(rx, 0, [440]) == []
    print("self-test ok")


# --- SIP helpers --------------------------------------------------------------------------------

class PinDialog(Dialog):
    """sipclient's Dialog with our own user in From and Contact."""

    def __init__(self, local_port, room, domain, server_port, from_user):
        super().__init__("UDP", HOST, local_port, room, domain, server_port)
        self.from_user = from_user

    def request(self, method, **kw):
        raw = super().request(method, **kw)
        head, sep, body = raw.partition(b"\r\n\r\n")
        head = head.replace(b"<sip:tester@", b"<sip:" + self.from_user.encode() + b"@")
        return head + sep + body


class Request:
    """An incoming SIP request, parsed just enough to answer it."""

    def __init__(self, raw):
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.decode("utf-8", "replace").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or parts[2] != "SIP/2.0":
            raise TestFailure(f"not a SIP request: {lines[0]!r}")
        self.method, self.uri = parts[0], parts[1]
        self.lines = []  # (lower-case long name, raw line)
        compact = {"v": "via", "f": "from", "t": "to", "i": "call-id", "c": "content-type",
                   "m": "contact", "l": "content-length"}
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and self.lines:
                name, prev = self.lines[-1]
                self.lines[-1] = (name, prev + " " + line.strip())
                continue
            name = line.partition(":")[0].strip().lower()
            self.lines.append((compact.get(name, name), line))
        self.body = body.decode("utf-8", "replace")

    def header(self, name):
        for n, line in self.lines:
            if n == name:
                return line.partition(":")[2].strip()
        return None

    def cseq(self):
        parts = (self.header("cseq") or "").split()
        return int(parts[0]) if parts and parts[0].isdigit() else None


def sdp_direction(body):
    """The direction attribute of the first m=audio (or the session's), default sendrecv."""
    session, media, in_audio, seen_m = None, None, False, False
    for line in body.splitlines():
        line = line.strip()
        if line.startswith("m="):
            if seen_m:
                break
            seen_m, in_audio = True, line.startswith("m=audio")
        elif line.startswith("a=") and line[2:] in DIRECTIONS:
            if not seen_m:
                session = line[2:]
            elif in_audio:
                media = line[2:]
    return media or session or "sendrecv"


class ClientTxn:
    def __init__(self, request, method, cseq, now):
        self.request = request
        self.method = method
        self.cseq = cseq
        self.next_send = now
        self.interval = T1
        self.provisional = False
        self.final = None


class PinPhone:
    def __init__(self, args):
        self.a = args
        self.sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sip.bind((HOST, 0))
        self.rtp, self.rtcp = bind_rtp_pair()
        for s in (self.sip, self.rtp, self.rtcp):
            s.setblocking(False)
        self.rtp_port = self.rtp.getsockname()[1]
        self.server = (HOST, args.port)
        self.dialog = PinDialog(self.sip.getsockname()[1], args.room, args.domain, args.port,
                                args.from_user)
        self.local = self.dialog.local
        self.txns = {}            # (cseq, method) -> ClientTxn
        self.uas_2xx = {}         # cseq -> [response, next_send, interval]: re-INVITE 200s
        self.invite_cseq = None
        self.invite_branch = None
        self.established = False
        self.t0 = None            # monotonic time of the 200 OK
        self.received = []        # (monotonic arrival, pt, payload)
        self.packets_received = 0
        self.far_bye_at = None
        self.in_dialog_requests = []
        self.info_txns = []       # ClientTxn per INFO sent, in order
        self.keys_sent = ""
        self.status = self.reason = self.warning = None
        self.bye_status = None
        self.mixer = None
        self.sender = None
        self.sending = True
        self.local_sdp = sdp_offer(self.rtp_port)
        self.local_dir = "sendrecv"
        self.sdp_version = 1

    # --- plumbing ---

    def sip_send(self, data):
        try:
            self.sip.sendto(data, self.server)
        except OSError:
            pass  # e.g. ICMP port unreachable from an earlier datagram; timeouts judge it

    def start_txn(self, request, method, cseq):
        txn = ClientTxn(request, method, cseq, time.monotonic())
        self.txns[(cseq, method)] = txn
        self.retransmit(time.monotonic())
        return txn

    def new_request(self, method, body="", content_type="application/sdp"):
        cseq = self.dialog.cseq
        self.dialog.cseq += 1
        request = self.dialog.request(method, body=body, content_type=content_type, cseq=cseq)
        return self.start_txn(request, method, cseq)

    def retransmit(self, now):
        for txn in self.txns.values():
            if txn.final is not None or now < txn.next_send:
                continue
            if txn.method == "INVITE" and txn.provisional:
                txn.next_send = float("inf")
                continue
            self.sip_send(txn.request)
            txn.next_send = now + txn.interval
            txn.interval = txn.interval * 2 if txn.method == "INVITE" else min(txn.interval * 2,
                                                                                 T2)
        for cseq, entry in self.uas_2xx.items():
            if now >= entry[1]:
                self.sip_send(entry[0])
                entry[1] = now + entry[2]
                entry[2] = min(entry[2] * 2, T2)

    def next_timer(self):
        times = [t.next_send for t in self.txns.values() if t.final is None]
        times += [e[1] for e in self.uas_2xx.values()]
        return min(times, default=float("inf"))

    def pump(self, until):
        """Retransmits what is due, then waits until UNTIL (or the next retransmission) for
        datagrams: RTP is recorded, requests answered, responses matched to transactions."""
        now = time.monotonic()
        self.retransmit(now)
        wait = max(0.0, min(until, self.next_timer()) - now)
        ready, _, _ = select.select([self.sip, self.rtp, self.rtcp], [], [], wait)
        now = time.monotonic()
        for sock in ready:
            while True:
                try:
                    data, _src = sock.recvfrom(65536)
                except OSError:  # BlockingIOError when drained, or an ICMP error
                    break
                if sock is self.rtp:
                    p = parse_rtp(data)
                    if p is not None:
                        self.packets_received += 1
                        self.received.append((now, p["pt"], p["payload"]))
                elif sock is self.sip:
                    self.handle_sip(data, now)
                # RTCP is received and dropped

    def handle_sip(self, data, now):
        try:
            if is_request(data):
                self.on_request(Request(data), now)
            else:
                self.on_response(Response(data))
        except TestFailure:
            pass  # not SIP: ignored

    def on_response(self, r):
        if r.header("call-id") != self.dialog.call_id:
            return
        parts = (r.header("cseq") or "").split()
        if len(parts) != 2 or not parts[0].isdigit():
            return
        key = (int(parts[0]), parts[1])
        txn = self.txns.get(key)
        if txn is None:
            return
        if r.status < 200:
            txn.provisional = True
            return
        if txn.final is None:
            txn.final = r
        elif txn.method == "INVITE" and 200 <= r.status < 300 and self.established:
            self.sip_send(self.dialog.request("ACK", cseq=txn.cseq))  # our ACK got lost

    def reply(self, req, status, reason, extra=(), body="", content_type="application/sdp"):
        def raw(name):
            return [line for n, line in req.lines if n == name][:1]
        to = req.header("to") or ""
        if not re.search(r";\s*tag=", to):
            to += f";tag={self.dialog.from_tag}"
        lines = ([f"SIP/2.0 {status} {reason}"] + [line for n, line in req.lines if n == "via"]
                 + raw("from") + [f"To: {to}"] + raw("call-id") + raw("cseq") + list(extra))
        if body:
            lines.append(f"Content-Type: {content_type}")
        lines.append(f"Content-Length: {len(body.encode())}")
        data = ("\r\n".join(lines) + "\r\n\r\n" + body).encode()
        self.sip_send(data)
        return data

    def on_request(self, req, now):
        if req.header("call-id") != self.dialog.call_id or not self.established:
            if req.method != "ACK":
                self.reply(req, 481, "Call/Transaction Does Not Exist")
            return
        self.in_dialog_requests.append(req.method)
        contact = f"Contact: <sip:{self.a.from_user}@{self.local};transport=udp>"
        if req.method == "ACK":
            cseq = req.cseq()
            if cseq in self.uas_2xx:
                del self.uas_2xx[cseq]
                if req.body.strip():  # the answer to the offer our 200 carried
                    self.take_remote_sdp(req.body, answer=True)
            return
        if req.method == "BYE":
            self.reply(req, 200, "OK")
            if self.far_bye_at is None:
                self.far_bye_at = now
            return
        if req.method in ("INVITE", "UPDATE"):
            body = req.body.strip()
            if body:
                answer = self.take_remote_sdp(req.body, answer=False)
                if answer is None:
                    self.reply(req, 488, "Not Acceptable Here")
                    return
            else:
                answer = self.local_sdp  # a delayed offer: ours, the answer comes in the ACK
            data = self.reply(req, 200, "OK", [contact], answer)
            if req.method == "INVITE":
                self.uas_2xx[req.cseq()] = [data, now + T1, 2 * T1]
            return
        extra = []
        if req.method == "OPTIONS":
            extra = [contact, "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE",
                     "Accept: application/sdp"]
        self.reply(req, 200, "OK", extra)

    def set_local_direction(self, direction):
        if direction != self.local_dir:
            self.sdp_version += 1
            sdp = re.sub(r"(?m)^a=(sendrecv|sendonly|recvonly|inactive)\r$",
                         f"a={direction}\r", self.local_sdp)
            self.local_sdp = re.sub(r"(?m)^(o=\S+ \d+ )\d+", rf"\g<1>{self.sdp_version}", sdp)
            self.local_dir = direction

    def take_remote_sdp(self, body, answer):
        """A remote offer (answer=False: returns our answer, None if unusable) or answer."""
        try:
            address, port, pts = parse_answer(body)
        except TestFailure:
            return None
        if PT_PCMU not in pts:
            return None
        remote = sdp_direction(body)
        mine = self.local_dir if answer else MIRROR[remote]
        self.set_local_direction(mine)
        self.mixer = (address, port)
        if self.sender is not None:
            self.sender.dest = self.mixer
        self.sending = mine in ("sendrecv", "sendonly") and remote in ("sendrecv", "recvonly")
        return self.local_sdp

    # --- the call ---

    def ack_non2xx(self, txn, r):
        """RFC 3261 §17.1.1.3: the ACK of a non-2xx final response, in the INVITE's transaction."""
        head = txn.request.partition(b"\r\n\r\n")[0].decode()
        keep = [line for line in head.split("\r\n")[1:]
                if re.match(r"(?i)(via|from|call-id|max-forwards)\s*:", line)]
        ruri = head.split("\r\n")[0].split(" ")[1]
        lines = [f"ACK {ruri} SIP/2.0"] + keep + [f"To: {r.header('to')}",
                                                 f"CSeq: {txn.cseq} ACK", "Content-Length: 0"]
        self.sip_send(("\r\n".join(lines) + "\r\n\r\n").encode())

    def cancel(self, txn):
        """Gives up a ringing INVITE: CANCEL, and a moment for the 487 to ACK it."""
        head = txn.request.partition(b"\r\n\r\n")[0].decode()
        keep = [line for line in head.split("\r\n")[1:]
                if re.match(r"(?i)(via|from|to|call-id|max-forwards)\s*:", line)]
        ruri = head.split("\r\n")[0].split(" ")[1]
        lines = [f"CANCEL {ruri} SIP/2.0"] + keep + [f"CSeq: {txn.cseq} CANCEL",
                                                    "Content-Length: 0"]
        self.start_txn(("\r\n".join(lines) + "\r\n\r\n").encode(), "CANCEL", txn.cseq)
        deadline = time.monotonic() + 2.0
        while txn.final is None and time.monotonic() < deadline:
            self.pump(deadline)
        if txn.final is not None and txn.final.status >= 300:
            self.ack_non2xx(txn, txn.final)

    def invite(self):
        self.invite_cseq = self.dialog.cseq
        self.dialog.cseq += 1
        request = self.dialog.request("INVITE", body=self.local_sdp, cseq=self.invite_cseq)
        txn = self.start_txn(request, "INVITE", self.invite_cseq)
        deadline = time.monotonic() + INVITE_TIMEOUT
        while txn.final is None:
            if time.monotonic() >= deadline:
                if txn.provisional:
                    self.cancel(txn)
                raise TestFailure(f"no final response to INVITE within {INVITE_TIMEOUT:.0f}s")
            self.pump(deadline)
        r = txn.final
        self.status, self.reason, self.warning = r.status, r.reason, r.header("warning")
        if r.status >= 300:
            self.ack_non2xx(txn, r)
            return False
        self.t0 = time.monotonic()
        self.t0_wall = time.time()
        self.dialog.to_tag = r.to_tag()
        m = re.search(r"<([^>]+)>", r.header("contact") or "")
        if m:
            self.dialog.remote_target = m.group(1)
        self.sip_send(self.dialog.request("ACK", cseq=self.invite_cseq))
        self.established = True
        if not r.body.strip():
            raise TestFailure("the 200 OK to the INVITE has no SDP answer")
        if self.take_remote_sdp(r.body, answer=True) is None:
            raise TestFailure(f"unusable SDP answer (no PCMU?):\n{r.body}")
        return True

    def media_plan(self):
        """slot -> (marker, payload, event start slot) for RFC 4733; [(t, key)] for INFO."""
        schedule = key_schedule(self.a.keys)
        events, free = {}, 0
        if self.a.dtmf_method != "rfc4733":
            return events, schedule
        for t, key in schedule:
            start = max(int(round(t / PTIME)), free)
            packets = dtmf_event_packets(key)
            for j, (marker, payload) in enumerate(packets):
                events[start + j] = (marker, payload, start, key if j == 0 else None)
            free = start + len(packets)
        return events, []

    def send_slot(self, slot, tone, events):
        audio = tone.frame()  # the tone keeps its phase across an event
        if not self.sending:
            return
        ev = events.get(slot)
        if ev is not None:
            marker, payload, start, first_key = ev
            self.sender.send(PT_EVENT, marker, start * SAMPLES, payload)
            self.sender.sent_events += 1
            if first_key:
                self.keys_sent += first_key
            return
        self.sender.send(PT_PCMU, slot == 0, slot * SAMPLES, audio)
        self.sender.sent += 1

    def run(self):
        if not self.invite():
            return
        a = self.a
        self.sender = RtpSender(self.rtp, self.mixer)
        tone = ToneSource(a.freq, a.level)
        events, infos = self.media_plan()
        t0, end = self.t0, self.t0 + a.duration
        slots = int(round(a.duration / PTIME))
        slot, info_i = 0, 0
        while self.far_bye_at is None:
            now = time.monotonic()
            if now >= end:
                break
            if slot < slots and now >= t0 + slot * PTIME:
                self.send_slot(slot, tone, events)
                slot += 1
                continue
            if info_i < len(infos) and now >= t0 + infos[info_i][0]:
                key = infos[info_i][1]
                content_type, body = info_body(key, a.dtmf_method)
                self.info_txns.append(self.new_request("INFO", body, content_type))
                self.keys_sent += key
                info_i += 1
                continue
            wake = min(t0 + slot * PTIME if slot < slots else end, end,
                       t0 + infos[info_i][0] if info_i < len(infos) else end)
            self.pump(wake)
        if self.far_bye_at is not None:
            return
        # The last packets the far end sent before our BYE are still in flight: a moment.
        linger = time.monotonic() + 0.05
        while self.far_bye_at is None and time.monotonic() < linger:
            self.pump(linger)
        if self.far_bye_at is not None:
            return
        txn = self.new_request("BYE")
        deadline = time.monotonic() + BYE_TIMEOUT
        while txn.final is None and self.far_bye_at is None and time.monotonic() < deadline:
            self.pump(deadline)
        if self.far_bye_at is not None:  # BYEs crossed: the far end's ended the call
            return
        if txn.final is None:
            raise TestFailure(f"no final response to our BYE within {BYE_TIMEOUT:.0f}s")
        self.bye_status = txn.final.status
        if not 200 <= txn.final.status < 300:
            raise TestFailure(f"our BYE answered {txn.final}")

    def report(self, error=None):
        out = {"status": self.status, "reason": self.reason, "warning": self.warning,
               "call_id": self.dialog.call_id, "windows": [], "bye_from_far_end_at": None,
               "info_statuses": [t.final.status if t.final else None for t in self.info_txns],
               "packets_received": self.packets_received, "keys_sent": self.keys_sent,
               "bye_status": self.bye_status, "in_dialog_requests": self.in_dialog_requests,
               "t0_wall": getattr(self, "t0_wall", None)}
        if self.t0 is not None:
            if self.far_bye_at is not None:
                end_t = self.far_bye_at - self.t0
                out["bye_from_far_end_at"] = round(end_t, 3)
            else:
                end_t = min(time.monotonic() - self.t0, self.a.duration)
            rx = [(t - self.t0, pt, payload) for t, pt, payload in self.received]
            out["windows"] = analyse_windows(rx, end_t, self.a.detect)
        if error is not None:
            out["error"] = error
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, help="confab's SIP UDP port on 127.0.0.1")
    ap.add_argument("--room", default="1000")
    ap.add_argument("--domain", default="127.0.0.1", help="host of the Request-URI and To")
    ap.add_argument("--from-user", default="pinphone")
    ap.add_argument("--freq", type=float, default=0.0, help="tone to send, Hz; 0: silence")
    ap.add_argument("--level", type=float, default=-20.0, help="tone level, dBov (RMS)")
    ap.add_argument("--duration", type=float, default=10.0,
                    help="seconds after the 200 OK before the phone hangs up")
    ap.add_argument("--keys", default="", help='KEYS@SECONDS,... e.g. "1234#@3.0,9999#@8"')
    ap.add_argument("--dtmf-method", choices=DTMF_METHODS, default="rfc4733")
    ap.add_argument("--detect", type=float, action="append", default=[],
                    help="frequency to measure in each window, Hz (repeatable)")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if args.self_test:
        try:
            self_test()
        except AssertionError as e:
            print(f"self-test FAILED: {e!r}", file=sys.stderr)
            return 1
        return 0
    if not args.port:
        ap.error("--port is required")
    if not args.from_user or re.search(r"[\s<>@:;\"]", args.from_user):
        ap.error("--from-user must be a plain SIP user name")
    if args.duration < 0 or not math.isfinite(args.duration):
        ap.error("--duration must be >= 0")
    try:
        args.keys = parse_keys(args.keys)
    except ValueError as e:
        ap.error(str(e))
    args.detect = [int(f) if f == int(f) else f for f in args.detect]

    def overall_timeout(_signum, _frame):
        raise TestFailure(f"gave up after {args.duration + EXTRA_TIME:.0f}s in all")

    signal.signal(signal.SIGALRM, overall_timeout)
    signal.setitimer(signal.ITIMER_REAL, args.duration + EXTRA_TIME)
    phone = None
    try:
        phone = PinPhone(args)
        phone.run()
        signal.setitimer(signal.ITIMER_REAL, 0)
        print(json.dumps(phone.report()), flush=True)
        return 0
    except (TestFailure, OSError) as e:
        signal.setitimer(signal.ITIMER_REAL, 0)
        if phone is None:
            print(json.dumps({"status": None, "error": str(e)}), flush=True)
        else:
            print(json.dumps(phone.report(error=str(e))), flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
