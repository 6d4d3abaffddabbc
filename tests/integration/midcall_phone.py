#!/usr/bin/env python3
"""A phone that puts its call on hold and resumes it, and judges what it hears (standard library
and the system's libcrypto; issue 10 item 3).

Calls sip:ROOM@127.0.0.1:PORT over UDP or TCP (--transport), offering PCMU/8000 over RTP/AVP or,
with --srtp, RTP/SAVP with an SDES key (AES_CM_128_HMAC_SHA1_80, RFC 4568). Sends 20 ms packets
of its tone (or digital silence) all along. At --hold-at seconds of media it sends a re-INVITE
with a=sendonly (it holds: confab must stop sending, RFC 3264 §8.4), at --resume-at one with
a=sendrecv, then hangs up at --duration. Every RTP packet that comes back is checked (SRTP
authentication and replay with --srtp) and kept with its arrival time.

Prints one JSON line: the tone level heard in the second before the hold; how many packets came
while held; how long after the resume's 200 OK the first packet carrying the tone came; the
sequence numbers and timestamps across the whole call (one SSRC, each sequence number one more
than the last, timestamps never going back, and the timestamp jump over the hold against the
time it lasted); SRTP failures. Exit status 0 when the SIP exchange went as expected (the
audio is judged by the caller), 1 otherwise.
"""

import argparse
import base64
import json
import os
import random
import re
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from audio_phone import (HOST, PT_PCMU, SAMPLES, analyse_samples, bind_rtp_pair,  # noqa: E402
                         parse_answer, parse_rtp, ulaw_decode, ToneSource)
from sipclient import Dialog, Response, StreamReader, TestFailure, is_request  # noqa: E402
from srtp import SrtpContext  # noqa: E402

PTIME = 0.020
T1 = 0.5


class MidcallPhone:
    def __init__(self, a):
        self.a = a
        self.tcp = a.transport == "tcp"
        if self.tcp:
            self.sip = socket.create_connection((HOST, a.port), timeout=5)
            self.reader = StreamReader(self.sip)
        else:
            self.sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sip.bind((HOST, 0))
        self.rtp, self.rtcp = bind_rtp_pair()
        self.rtp_port = self.rtp.getsockname()[1]
        self.dialog = Dialog(a.transport.upper(), HOST, self.sip.getsockname()[1], a.room, HOST,
                             a.port)
        self.session = random.randint(1, 2**31)
        self.version = 1
        self.our_key = os.urandom(30)
        self.out = SrtpContext(self.our_key) if a.srtp else None
        self.inbound = None  # from the answer's a=crypto
        self.mixer = None
        self.received = []  # (arrival, packet)
        self.srtp_failures = 0
        self.other = 0
        self.seq = random.randint(0, 0xFFFF)
        self.ts0 = random.randint(0, 0xFFFFFFFF)
        self.ssrc = random.randint(1, 0xFFFFFFFF)
        self.tone = ToneSource(a.freq, -20.0)
        self.slot = 0

    # --- SIP ------------------------------------------------------------------------------------

    def sdp(self, direction):
        proto = "RTP/SAVP" if self.a.srtp else "RTP/AVP"
        lines = ["v=0", f"o=midcall {self.session} {self.version} IN IP4 {HOST}", "s=-",
                 f"c=IN IP4 {HOST}", "t=0 0", f"m=audio {self.rtp_port} {proto} {PT_PCMU}",
                 f"a=rtpmap:{PT_PCMU} PCMU/8000", "a=ptime:20", f"a={direction}"]
        if self.a.srtp:
            key = base64.b64encode(self.our_key).decode()
            lines.append(f"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{key}")
        return "\r\n".join(lines) + "\r\n"

    def sip_send(self, data):
        if self.tcp:
            self.sip.sendall(data)
        else:
            self.sip.sendto(data, (HOST, self.a.port))

    def sip_messages(self, timeout):
        """SIP messages that arrive within TIMEOUT (at most one wait)."""
        out = []
        if self.tcp:
            if b"\r\n\r\n" in self.reader.buf or select.select([self.sip], [], [], timeout)[0]:
                try:
                    out.append(self.reader.read(time.monotonic() + 1.0))
                except TestFailure:
                    pass
            return out
        ready, _, _ = select.select([self.sip], [], [], timeout)
        while ready:
            try:
                out.append(self.sip.recv(65536))
            except (BlockingIOError, OSError):
                break
            ready, _, _ = select.select([self.sip], [], [], 0)
        return out

    def answer_request(self, data):
        head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
        method = head.split(" ", 1)[0]
        if method != "ACK":
            keep = [line for line in head.split("\r\n")[1:]
                    if re.match(r"(?i)(via|v|from|f|to|t|call-id|i|cseq)\s*:", line)]
            reply = "SIP/2.0 200 OK\r\n" + "\r\n".join(keep) + "\r\nContent-Length: 0\r\n\r\n"
            self.sip_send(reply.encode())

    def pump(self, timeout):
        """Waits up to TIMEOUT for anything; keeps RTP, answers requests, returns responses."""
        socks = [self.sip, self.rtp, self.rtcp]
        ready, _, _ = select.select(socks, [], [], max(timeout, 0))
        responses = []
        if self.sip in ready or (self.tcp and b"\r\n\r\n" in self.reader.buf):
            for data in self.sip_messages(0):
                if is_request(data):
                    self.answer_request(data)
                else:
                    responses.append(Response(data))
        now = time.monotonic()
        if self.rtp in ready:
            while True:
                try:
                    data, src = self.rtp.recvfrom(65536)
                except (BlockingIOError, OSError):
                    break
                if self.mixer is None or src != self.mixer:
                    self.other += 1
                    continue
                if self.inbound is not None:
                    data = self.inbound.unprotect(data)
                    if data is None:
                        self.srtp_failures += 1
                        continue
                p = parse_rtp(data)
                if p is None:
                    self.other += 1
                else:
                    self.received.append((now, p))
        if self.rtcp in ready:
            try:
                self.rtcp.recv(65536)
            except OSError:
                pass
        return responses

    def invite(self, direction, wait=10.0):
        """An INVITE (the first, or a re-INVITE) with our SDP; returns the 200's arrival time."""
        body = self.sdp(direction)
        cseq = self.dialog.cseq
        request = self.dialog.request("INVITE", body=body)
        deadline = time.monotonic() + wait
        interval, next_send, provisional = T1, time.monotonic(), False
        while True:
            now = time.monotonic()
            if now >= deadline:
                raise TestFailure(f"no final response to INVITE ({direction}) within {wait:.0f}s")
            if now >= next_send and not provisional:
                self.sip_send(request)
                next_send = now + (1e9 if self.tcp else interval)
                interval = min(interval * 2, 4.0)
            self.send_due()
            for r in self.pump(min(0.01, deadline - now)):
                if r.header("call-id") != self.dialog.call_id or \
                        (r.header("cseq") or "").split() != [str(cseq), "INVITE"]:
                    continue
                if r.status < 200:
                    provisional = True
                    continue
                if r.status >= 300:
                    raise TestFailure(f"INVITE ({direction}) answered {r}")
                arrived = time.monotonic()
                if self.dialog.to_tag is None:
                    self.dialog.to_tag = r.to_tag()
                    m = re.search(r"<([^>]+)>", r.header("contact") or "")
                    if m:
                        self.dialog.remote_target = m.group(1)
                self.sip_send(self.dialog.request("ACK", cseq=cseq))
                address, port, _ = parse_answer(r.body)
                self.mixer = (address, port)
                if self.a.srtp:
                    m = re.search(r"a=crypto:\d+ AES_CM_128_HMAC_SHA1_80 inline:([A-Za-z0-9+/=]+)",
                                  r.body)
                    if not m:
                        raise TestFailure("the answer has no AES_CM_128_HMAC_SHA1_80 a=crypto")
                    key = base64.b64decode(m.group(1))
                    if self.inbound is None:
                        self.inbound = SrtpContext(key)
                    elif key != self.inbound_key:
                        raise TestFailure("confab changed its key in a re-INVITE answer")
                    self.inbound_key = key
                self.dialog.cseq += 1
                self.version += 1
                return arrived

    def bye(self):
        cseq = self.dialog.cseq
        self.sip_send(self.dialog.request("BYE"))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            for r in self.pump(0.05):
                if (r.header("cseq") or "").split() == [str(cseq), "BYE"]:
                    return r.status
        raise TestFailure("no answer to BYE")

    # --- media ----------------------------------------------------------------------------------

    def send_due(self):
        """Sends every 20 ms packet due by now (media runs through the re-INVITEs)."""
        if self.mixer is None:
            return
        while self.t0 + self.slot * PTIME <= time.monotonic():
            header = struct.pack("!BBHII", 0x80, PT_PCMU, self.seq,
                                 (self.ts0 + self.slot * SAMPLES) & 0xFFFFFFFF, self.ssrc)
            packet = header + self.tone.frame()
            if self.out is not None:
                packet = self.out.protect(packet)
            self.seq = (self.seq + 1) & 0xFFFF
            self.slot += 1
            try:
                self.rtp.sendto(packet, self.mixer)
            except OSError:
                pass

    def run_until(self, t):
        while time.monotonic() < t:
            self.send_due()
            self.pump(min(0.005, max(0.0, t - time.monotonic())))

    def run(self):
        a = self.a
        for s in (self.rtp, self.rtcp):
            s.setblocking(False)
        if not self.tcp:
            self.sip.setblocking(False)
        self.t0 = time.monotonic()
        self.invite("sendrecv")
        self.t0 = time.monotonic()
        self.slot = 0
        self.run_until(self.t0 + a.hold_at)
        hold_sent = time.monotonic()
        hold_ok = self.invite("sendonly")
        self.run_until(self.t0 + a.resume_at)
        resume_sent = time.monotonic()
        resume_ok = self.invite("sendrecv")
        self.run_until(self.t0 + a.duration)
        status = self.bye()
        return self.report(hold_sent, hold_ok, resume_sent, resume_ok, status)

    def report(self, hold_sent, hold_ok, resume_sent, resume_ok, bye_status):
        a = self.a
        pkts = self.received

        def level(packets):
            samples = []
            for _, p in packets:
                samples.extend(ulaw_decode(p["payload"]))
            return analyse_samples(samples, [a.detect])["tones_dbov"][str(a.detect)]

        before = [(t, p) for t, p in pkts if hold_sent - 1.0 <= t < hold_sent]
        held = [(t, p) for t, p in pkts if hold_ok + 0.1 <= t < resume_sent]
        after = [(t, p) for t, p in pkts if t >= resume_ok - 0.2]
        first_tone = None
        for t, p in after:
            if t >= resume_sent and analyse_samples(ulaw_decode(p["payload"]), [a.detect])[
                    "tones_dbov"][str(a.detect)] > -30.0:
                first_tone = round((t - resume_ok) * 1000, 1)
                break
        ssrcs = sorted({p["ssrc"] for _, p in pkts})
        seq_breaks, ts_backwards, largest_ts_jump = 0, 0, 0
        for (_, x), (_, y) in zip(pkts, pkts[1:]):
            if (x["seq"] + 1) & 0xFFFF != y["seq"]:
                seq_breaks += 1
            d = (y["ts"] - x["ts"]) & 0xFFFFFFFF
            if d >= 0x80000000:
                ts_backwards += 1
            else:
                largest_ts_jump = max(largest_ts_jump, d)
        return {
            "name": a.name, "transport": a.transport, "srtp": a.srtp,
            "call_id": self.dialog.call_id,
            "received": len(pkts), "other": self.other, "srtp_failures": self.srtp_failures,
            "tone_before_hold_dbov": level(before), "packets_before_hold": len(before),
            "packets_while_held": len(held),
            "hold_s": round(resume_ok - hold_ok, 3),
            "first_tone_after_resume_ms": first_tone,
            "ssrcs": len(ssrcs), "seq_breaks": seq_breaks, "ts_backwards": ts_backwards,
            "largest_ts_jump_ms": round(largest_ts_jump / 8.0, 1),
            "bye_status": bye_status,
        }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--transport", choices=["udp", "tcp"], default="udp")
    ap.add_argument("--srtp", action="store_true")
    ap.add_argument("--room", default="1000")
    ap.add_argument("--name", default="midcall")
    ap.add_argument("--freq", type=float, default=0.0)
    ap.add_argument("--detect", type=int, default=1000)
    ap.add_argument("--hold-at", type=float, default=3.0)
    ap.add_argument("--resume-at", type=float, default=4.0)
    ap.add_argument("--duration", type=float, default=5.5)
    a = ap.parse_args()
    try:
        print(json.dumps(MidcallPhone(a).run()), flush=True)
        return 0
    except (TestFailure, OSError) as e:
        print(json.dumps({"name": a.name, "error": str(e)}), flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
