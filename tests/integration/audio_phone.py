#!/usr/bin/env python3
"""A SIP phone for the audio integration tests (standard library only).

Phone mode (default): over UDP on 127.0.0.1, INVITEs sip:ROOM@127.0.0.1:PORT with an SDP offer of
PCMU/8000 (PT 0) and telephone-event/8000 (PT 101), a=ptime:20, sendrecv; ACKs the 200, reads the
answer's c=/m= to find the mixer port; from --start-at (a shared wall-clock time, so that several
phones talk over the same interval) sends real-time RTP, one 20 ms G.711 u-law packet per 20 ms of
a monotonic clock, carrying a sine tone of --freq Hz (0: digital silence) for --duration seconds;
optionally an RFC 4733 digit (--dtmf, --dtmf-at); records every RTP packet that comes back; sends
BYE and waits for its 200. Prints one JSON line: packet counts and the analysis of what it heard
in the last --analyze seconds of its call (RMS in dBov, and the level of each --detect frequency,
Goertzel on a Hann window, in dBov as the RMS of a sine of that amplitude).

With --stray-rate N the phone also forges N packets a second in its own stream: its SSRC, from its
own address, random sequence numbers and timestamps, noise as payload (the attack a receiver must
refuse by RFC 3550 A.1 and the stream's timeline).

Stranger mode (--stranger-to HOST:PORT): sends RTP of a tone from its own socket to that address
(somebody else's mixer port) over the same kind of schedule, and counts what comes back.

With --codec g722 the phone speaks G.722 instead (PT 9, G722/8000: 16 kHz audio, 160 bytes and
160 RTP timestamp units per 20 ms, RFC 3551 §4.5.2), coded by SpanDSP through ctypes (Debian's
libspandsp2, which baresip's g722 module uses too), and judges what it heard at 16 kHz.

Everything is bounded by timeouts; exit status 0 when the SIP exchange went as expected (the
audio itself is judged by the caller), 1 otherwise (still printing a JSON line with "error").
"""

import argparse
import ctypes
import ctypes.util
import json
import math
import os
import random
import re
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sipclient import Dialog, Response, TestFailure, is_request  # noqa: E402

HOST = "127.0.0.1"
RATE = 8000
PTIME = 0.020
SAMPLES = 160
PT_PCMU = 0
PT_EVENT = 101
FULL_SCALE = 32768.0
T1 = 0.5

# --- G.711 u-law (ITU-T G.711, the 16-bit linear form with bias 0x84) --------------------------

ULAW_BIAS = 0x84
ULAW_CLIP = 32635


def ulaw_encode_sample(x: int) -> int:
    sign = 0x80 if x < 0 else 0
    mag = min(-x if x < 0 else x, ULAW_CLIP) + ULAW_BIAS
    exponent = mag.bit_length() - 8  # mag >= 0x84: bit 7 is the lowest leading bit
    mantissa = (mag >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def ulaw_decode_sample(u: int) -> int:
    u = ~u & 0xFF
    exponent = (u >> 4) & 0x07
    mag = (((u & 0x0F) << 3) + ULAW_BIAS) << exponent
    mag -= ULAW_BIAS
    return -mag if u & 0x80 else mag


ULAW_DECODE = [ulaw_decode_sample(u) for u in range(256)]


def ulaw_encode(samples):
    return bytes(ulaw_encode_sample(int(s)) for s in samples)


def ulaw_decode(payload: bytes):
    return [ULAW_DECODE[b] for b in payload]


def self_test():
    """The codec against known G.711 points, and round trips within the segment's step."""
    assert ulaw_encode_sample(0) == 0xFF and ULAW_DECODE[0xFF] == 0
    assert ULAW_DECODE[0x7F] == 0 and ULAW_DECODE[0x00] == -32124 and ULAW_DECODE[0x80] == 32124
    assert ulaw_encode_sample(32767) == 0x80 and ulaw_encode_sample(-32768) == 0x00
    for u in range(256):
        if u != 0x7F:  # -0 encodes as +0
            assert ulaw_encode_sample(ULAW_DECODE[u]) == u, u
    for x in range(-32768, 32768, 7):
        y = ULAW_DECODE[ulaw_encode_sample(x)]
        step = 1 << max(3, (min(abs(x), ULAW_CLIP) + ULAW_BIAS).bit_length() - 5)
        assert abs(x - y) <= step, (x, y)
    tone = [4634 * math.sin(2 * math.pi * 1000 * n / RATE) for n in range(16000)]
    dec = ulaw_decode(ulaw_encode(tone))
    levels = analyse_samples(dec, [1000, 1500])
    assert abs(levels["rms_dbov"] - -20.0) < 0.5, levels
    assert abs(levels["tones_dbov"]["1000"] - -20.0) < 0.5, levels
    assert levels["tones_dbov"]["1500"] < -70, levels
    print("self-test ok")


# --- analysis -----------------------------------------------------------------------------------

def db(x):
    return round(20 * math.log10(x), 2) if x > 1e-9 else -200.0


def goertzel_amplitude(samples, window, freq):
    """Amplitude of a sine at FREQ in SAMPLES (Hann-windowed Goertzel, any frequency)."""
    w = 2 * math.pi * freq / CODEC.rate
    coeff = 2 * math.cos(w)
    s1 = s2 = 0.0
    for x, h in zip(samples, window):
        s0 = x * h + coeff * s1 - s2
        s2, s1 = s1, s0
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    gain = sum(window)  # coherent gain: a sine of amplitude A gives |X| = A * gain / 2
    return 2 * math.sqrt(max(power, 0.0)) / gain if gain else 0.0


def analyse_samples(samples, freqs):
    n = len(samples)
    if n == 0:
        return {"samples": 0, "rms_dbov": -200.0, "tones_dbov": {str(f): -200.0 for f in freqs}}
    rms = math.sqrt(sum(x * x for x in samples) / n)
    window = [0.5 - 0.5 * math.cos(2 * math.pi * i / (n - 1)) for i in range(n)] if n > 1 else [1]
    tones = {str(f): db(goertzel_amplitude(samples, window, f) / math.sqrt(2) / FULL_SCALE)
             for f in freqs}
    return {"samples": n, "rms_dbov": db(rms / FULL_SCALE), "tones_dbov": tones}


# --- the codec this phone speaks ---------------------------------------------------------------

class Pcmu:
    name, pt, rate = "PCMU", PT_PCMU, RATE

    def encoder(self):
        return ulaw_encode

    def decoder(self):
        return ulaw_decode

    def silence(self):
        return b"\xff" * SAMPLES


class G722:
    """G.722 at 64 kbit/s through SpanDSP: 320 samples at 16 kHz per 160 bytes."""
    name, pt, rate = "G722", 9, 16000

    def __init__(self):
        path = ctypes.util.find_library("spandsp") or "libspandsp.so.2"
        self.lib = ctypes.CDLL(path)
        self.lib.g722_encode_init.restype = ctypes.c_void_p
        self.lib.g722_encode_init.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
        self.lib.g722_decode_init.restype = ctypes.c_void_p
        self.lib.g722_decode_init.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
        self.lib.g722_encode.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p,
                                         ctypes.c_int]
        self.lib.g722_decode.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p,
                                         ctypes.c_int]

    def encoder(self):
        state = self.lib.g722_encode_init(None, 64000, 0)

        def encode(pcm):
            n = len(pcm)
            samples = (ctypes.c_int16 * n)(*[max(-32768, min(32767, int(round(x)))) for x in pcm])
            out = ctypes.create_string_buffer(n // 2)
            written = self.lib.g722_encode(state, out, samples, n)
            return out.raw[:written]
        return encode

    def decoder(self):
        state = self.lib.g722_decode_init(None, 64000, 0)

        def decode(payload):
            out = (ctypes.c_int16 * (2 * len(payload)))()
            written = self.lib.g722_decode(state, out, bytes(payload), len(payload))
            return list(out[:written])
        return decode

    def silence(self):
        return None  # encoded from zeros: G.722 has no one silent byte


CODEC = Pcmu()


def extend_seq(packets):
    """Sequence numbers extended past 16-bit wrap, in arrival order."""
    out, last, cycles = [], None, 0
    for p in packets:
        s = p["seq"]
        if last is not None:
            if s < last and last - s > 0x8000:
                cycles += 0x10000
            elif s > last and s - last > 0x8000:
                s -= 0x10000  # late packet from before a wrap
        out.append(cycles + s)
        last = p["seq"]
    return out


def reconstruct(packets):
    """The audio of PACKETS (one SSRC, the phone's codec): played out in sequence order, gaps
    (from the RTP timestamps) filled with silence, duplicates dropped. G.711 and G.722 both take
    one RTP timestamp unit per byte."""
    if not packets:
        return [], 0
    decode = CODEC.decoder()
    per_tick = CODEC.rate // RATE
    ext = extend_seq(packets)
    order = sorted(range(len(packets)), key=lambda i: ext[i])
    samples, seen, gaps, prev_end = [], set(), 0, None
    for i in order:
        if ext[i] in seen:
            continue
        seen.add(ext[i])
        p = packets[i]
        if prev_end is not None:
            gap = (p["ts"] - prev_end) & 0xFFFFFFFF
            if 0 < gap <= RATE:  # at most a second of missing audio is filled
                samples.extend([0] * (gap * per_tick))
                gaps += 1
        samples.extend(decode(p["payload"]))
        prev_end = (p["ts"] + len(p["payload"])) & 0xFFFFFFFF
    return samples, gaps


# --- RTP ----------------------------------------------------------------------------------------

def parse_rtp(data: bytes):
    if len(data) < 12 or data[0] >> 6 != 2:
        return None
    cc = data[0] & 0x0F
    has_ext = data[0] & 0x10
    has_pad = data[0] & 0x20
    off = 12 + 4 * cc
    if has_ext:
        if len(data) < off + 4:
            return None
        off += 4 + 4 * struct.unpack("!H", data[off + 2:off + 4])[0]
    end = len(data)
    if has_pad:
        end -= data[-1]
    if off > end:
        return None
    seq, ts, ssrc = struct.unpack("!HII", data[2:12])
    return {"pt": data[1] & 0x7F, "marker": bool(data[1] & 0x80), "seq": seq, "ts": ts,
            "ssrc": ssrc, "payload": data[off:end]}


class RtpSender:
    def __init__(self, sock, dest):
        self.sock = sock
        self.dest = dest
        self.seq = random.randint(0, 0xFFFF)
        self.ts0 = random.randint(0, 0xFFFFFFFF)
        self.ssrc = random.randint(1, 0xFFFFFFFF)
        self.sent = 0
        self.sent_events = 0

    def send(self, pt, marker, ts, payload):
        header = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, self.seq,
                             (self.ts0 + ts) & 0xFFFFFFFF, self.ssrc)
        self.seq = (self.seq + 1) & 0xFFFF
        try:
            self.sock.sendto(header + payload, self.dest)
        except OSError:
            pass  # e.g. an ICMP error from an earlier datagram: keep the pace


class ToneSource:
    def __init__(self, freq, level_dbov):
        self.freq = freq
        self.amp = FULL_SCALE * 10 ** (level_dbov / 20) * math.sqrt(2)
        self.n = 0
        self.encode = CODEC.encoder()
        self.samples = SAMPLES * CODEC.rate // RATE  # per 20 ms

    def frame(self):
        if self.freq <= 0 and CODEC.silence() is not None:
            self.n += self.samples
            return CODEC.silence()
        w = 2 * math.pi * self.freq / CODEC.rate
        pcm = [self.amp * math.sin(w * (self.n + i)) for i in range(self.samples)]
        self.n += self.samples
        return self.encode(pcm)


DTMF_EVENTS = {**{str(d): d for d in range(10)}, "*": 10, "#": 11, "A": 12, "B": 13, "C": 14,
               "D": 15}


class MediaPlan:
    """What to send in each 20 ms slot: a tone frame, or an RFC 4733 event in place of audio
    (first packet with the marker, every packet with the event's start timestamp, the last three
    with the E bit and the final duration)."""

    def __init__(self, tone, dtmf=None, dtmf_slot=0, dtmf_slots=5):
        self.tone = tone
        self.dtmf = DTMF_EVENTS[dtmf] if dtmf is not None else None
        self.dtmf_slot = dtmf_slot
        self.dtmf_slots = dtmf_slots

    def send_slot(self, sender, slot):
        ts = slot * SAMPLES
        audio = self.tone.frame()  # the tone keeps its phase across an event
        if self.dtmf is not None and self.dtmf_slot <= slot < self.dtmf_slot + self.dtmf_slots + 3:
            k = slot - self.dtmf_slot
            end = k >= self.dtmf_slots  # the last three: E bit, final duration
            duration = SAMPLES * min(k + 1, self.dtmf_slots)
            payload = struct.pack("!BBH", self.dtmf, (0x80 if end else 0) | 10, duration)
            sender.send(PT_EVENT, k == 0, self.dtmf_slot * SAMPLES, payload)
            sender.sent_events += 1
            return
        sender.send(CODEC.pt, slot == 0, ts, audio)
        sender.sent += 1


# --- SIP over UDP -------------------------------------------------------------------------------

def bind_rtp_pair():
    """An even RTP port with the odd RTCP port above it free too (RTCP is received and dropped)."""
    for _ in range(200):
        rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rtp.bind((HOST, 0))
        port = rtp.getsockname()[1]
        if port % 2 == 0 and port < 65535:
            rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                rtcp.bind((HOST, port + 1))
                return rtp, rtcp
            except OSError:
                rtcp.close()
        rtp.close()
    raise TestFailure("no free even/odd port pair for RTP/RTCP")


def sdp_offer(rtp_port):
    sess = random.randint(1, 2**31)
    return ("v=0\r\n"
            f"o=audiophone {sess} 1 IN IP4 {HOST}\r\n"
            "s=-\r\n"
            f"c=IN IP4 {HOST}\r\n"
            "t=0 0\r\n"
            f"m=audio {rtp_port} RTP/AVP {CODEC.pt} {PT_EVENT}\r\n"
            f"a=rtpmap:{CODEC.pt} {CODEC.name}/8000\r\n"
            f"a=rtpmap:{PT_EVENT} telephone-event/8000\r\n"
            f"a=fmtp:{PT_EVENT} 0-15\r\n"
            "a=ptime:20\r\n"
            "a=sendrecv\r\n")


def parse_answer(body):
    """(address, port, payload types) of the first m=audio of an SDP answer."""
    session_c, media_c, port, pts, in_audio = None, None, None, [], False
    for line in body.splitlines():
        line = line.strip()
        if line.startswith("m="):
            if port is not None:
                break
            m = re.match(r"m=audio (\d+) \S+ ?(.*)$", line)
            in_audio = bool(m)
            if m:
                port = int(m.group(1))
                pts = [int(x) for x in m.group(2).split()]
        elif line.startswith("c="):
            m = re.match(r"c=IN IP4 (\S+)", line)
            if m:
                if port is None:
                    session_c = m.group(1)
                elif in_audio:
                    media_c = m.group(1)
    address = (media_c or session_c or "").split("/")[0]
    if not address or not port:
        raise TestFailure(f"no c= address or m=audio port in the answer:\n{body}")
    return address, port, pts


class Phone:
    def __init__(self, args):
        self.args = args
        self.sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sip.bind((HOST, 0))
        self.rtp, self.rtcp = bind_rtp_pair()
        self.rtp_port = self.rtp.getsockname()[1]
        self.server = (HOST, args.port)
        self.dialog = Dialog("UDP", HOST, self.sip.getsockname()[1], args.room, HOST, args.port)
        if args.display_name is not None:
            self.dialog.display_name = args.display_name
        self.received = []  # (monotonic arrival, parsed packet)
        self.received_other = 0  # datagrams that were not RTP, or from elsewhere than the mixer
        self.rtcp_received = 0
        self.mixer = None
        self.final_ok = None
        self.in_dialog_requests = []
        self.strays_sent = 0
        self.sender = None
        self.moves = []  # when a re-INVITE moved the media (monotonic)

    # SIP plumbing

    def sip_send(self, data):
        self.sip.sendto(data, self.server)

    def handle_sip(self, data):
        """A datagram on the SIP socket: responses are returned; requests inside the call are
        answered 200 (an in-dialog BYE from confab is recorded)."""
        if not is_request(data):
            try:
                return Response(data)
            except TestFailure:
                return None
        head, _, body = data.partition(b"\r\n\r\n")
        head = head.decode("utf-8", "replace")
        method = head.split(" ", 1)[0]
        self.in_dialog_requests.append(method)
        if method != "ACK":
            keep = [line for line in head.split("\r\n")[1:]
                    if re.match(r"(?i)(via|v|from|f|to|t|call-id|i|cseq)\s*:", line)]
            answer = ""
            if method == "INVITE" and body.strip():
                # A re-INVITE offering the media somewhere else (the focus moved the call to
                # another mixer): send there from now on and answer with our own stream.
                address, port, _ = parse_answer(body.decode("utf-8", "replace"))
                if (address, port) != self.mixer:
                    self.mixer = (address, port)
                    if self.sender is not None:
                        self.sender.dest = self.mixer
                    self.moves.append(time.monotonic())
                answer = sdp_offer(self.rtp_port)
                keep.append(f"Contact: <sip:phone@{HOST}:{self.sip.getsockname()[1]}>")
                keep.append("Content-Type: application/sdp")
            reply = ("SIP/2.0 200 OK\r\n" + "\r\n".join(keep) +
                     f"\r\nContent-Length: {len(answer)}\r\n\r\n" + answer)
            self.sip_send(reply.encode())
        return None

    def poll(self, timeout):
        """Waits up to TIMEOUT for datagrams on any socket; RTP is recorded; returns SIP
        responses."""
        responses = []
        ready, _, _ = select.select([self.sip, self.rtp, self.rtcp], [], [], max(timeout, 0))
        now = time.monotonic()
        for sock in ready:
            while True:
                try:
                    data, src = sock.recvfrom(65536)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break
                if sock is self.sip:
                    r = self.handle_sip(data)
                    if r is not None:
                        responses.append(r)
                elif sock is self.rtcp:
                    self.rtcp_received += 1
                else:
                    p = parse_rtp(data)
                    if p is None or (self.mixer is not None and src != self.mixer):
                        self.received_other += 1
                    else:
                        self.received.append((now, p))
        return responses

    def transaction(self, request, method, cseq, wait):
        """Sends a non-INVITE REQUEST (retransmitted with timer E) until its final response."""
        deadline = time.monotonic() + wait
        interval, next_send = T1, time.monotonic()
        while True:
            now = time.monotonic()
            if now >= deadline:
                raise TestFailure(f"no final response to {method} within {wait:.0f}s")
            if now >= next_send:
                self.sip_send(request)
                next_send = now + interval
                interval = min(interval * 2, 4.0)
            for r in self.poll(min(next_send, deadline) - now):
                if (r.header("call-id") == self.dialog.call_id and r.status >= 200
                        and (r.header("cseq") or "").split() == [str(cseq), method]):
                    return r

    def ack(self, cseq):
        return self.dialog.request("ACK", cseq=cseq)

    def invite(self, wait):
        for s in (self.sip, self.rtp, self.rtcp):
            s.setblocking(False)
        body = sdp_offer(self.rtp_port)
        cseq = self.dialog.cseq
        invite_branch = "z9hG4bK" + "%012x" % random.getrandbits(48)
        request = self.dialog.request("INVITE", body=body, branch_param=invite_branch)
        deadline = time.monotonic() + wait
        interval, next_send, provisional = T1, time.monotonic(), False
        while True:
            now = time.monotonic()
            if now >= deadline:
                raise TestFailure(f"no final response to INVITE within {wait:.0f}s")
            if now >= next_send and not provisional:
                self.sip_send(request)
                next_send = now + interval
                interval = min(interval * 2, 4.0)
            for r in self.poll(min(next_send if not provisional else deadline, deadline) - now):
                if r.header("call-id") != self.dialog.call_id:
                    continue
                if r.status < 200:
                    provisional = True
                    continue
                if r.status >= 300:
                    raise TestFailure(f"INVITE answered {r}")
                self.dialog.to_tag = r.to_tag()
                contact = r.header("contact")
                m = re.search(r"<([^>]+)>", contact or "")
                if m:
                    self.dialog.remote_target = m.group(1)
                self.sip_send(self.ack(cseq))
                address, port, pts = parse_answer(r.body)
                if CODEC.pt not in pts:
                    raise TestFailure(f"the answer does not keep {CODEC.name}: m=audio {port} {pts}")
                self.answer_pts = pts
                self.mixer = (address, port)
                self.dialog.cseq += 1
                return

    def reack_200s(self, responses, invite_cseq):
        for r in responses:
            if r.status == 200 and (r.header("cseq") or "").split() == [str(invite_cseq), "INVITE"]:
                self.sip_send(self.ack(invite_cseq))

    def run(self):
        a = self.args
        t_begin = time.monotonic()
        self.invite(a.sip_timeout)
        invite_cseq = 1
        answered = time.monotonic()
        if a.info_file:
            tmp = a.info_file + ".tmp"
            with open(tmp, "w") as f:
                json.dump({"call_id": self.dialog.call_id, "mixer_host": self.mixer[0],
                           "mixer_port": self.mixer[1], "rtp_port": self.rtp_port}, f)
            os.replace(tmp, a.info_file)
        # Wait for the shared start (wall clock), still receiving.
        start_wall_left = (a.start_at - time.time()) if a.start_at else 0.0
        late_start = start_wall_left < 0
        t0 = time.monotonic() + max(start_wall_left, 0.0)
        while (left := t0 - time.monotonic()) > 0:
            self.reack_200s(self.poll(left), invite_cseq)
        sender = self.sender = RtpSender(self.rtp, self.mixer)
        plan = MediaPlan(ToneSource(a.freq, a.level),
                         a.dtmf, int(round(a.dtmf_at / PTIME)) if a.dtmf else 0)
        slots = int(round(a.duration / PTIME))
        slot, max_late = 0, 0.0
        stray_every = 1.0 / a.stray_rate if a.stray_rate > 0 else None
        next_stray = t0 + (stray_every or 0) / 2
        while slot < slots:
            now = time.monotonic()
            due = t0 + slot * PTIME
            if stray_every is not None and now >= next_stray:
                self.send_stray(sender)
                next_stray += stray_every
                continue
            if now >= due:
                max_late = max(max_late, now - due)
                plan.send_slot(sender, slot)
                slot += 1
                continue
            wake = min(due, next_stray) if stray_every is not None else due
            self.reack_200s(self.poll(wake - now), invite_cseq)
        t_end = t0 + slots * PTIME
        # The last packets the mixer sent before our BYE are still in flight: a moment for them.
        while (left := t_end + 0.05 - time.monotonic()) > 0:
            self.reack_200s(self.poll(left), invite_cseq)
        bye = self.dialog.request("BYE")
        bye_cseq = self.dialog.cseq
        r = self.transaction(bye, "BYE", bye_cseq, a.sip_timeout)
        self.final_ok = r.status == 200
        if not self.final_ok:
            raise TestFailure(f"BYE answered {r}")
        return self.report(t0, t_end, sender, max_late, late_start, answered - t_begin)

    def send_stray(self, sender):
        """A forged packet in our own stream (issue 10 item 17): our SSRC, from our address, with
        a random sequence number and timestamp and loud noise as payload."""
        header = struct.pack("!BBHII", 0x80, CODEC.pt, random.randint(0, 0xFFFF),
                             random.randint(0, 0xFFFFFFFF), sender.ssrc)
        try:
            self.rtp.sendto(header + os.urandom(SAMPLES), self.mixer)
            self.strays_sent += 1
        except OSError:
            pass

    def report(self, t0, t_end, sender, max_late, late_start, setup_s):
        a = self.args
        during = [p for t, p in self.received if t0 <= t < t_end]
        by_pt = {}
        for _, p in self.received:
            by_pt[str(p["pt"])] = by_pt.get(str(p["pt"]), 0) + 1
        window_from = t_end - a.analyze
        audio = [p for t, p in self.received if window_from <= t < t_end and p["pt"] == CODEC.pt]
        ssrcs = {}
        for p in audio:
            ssrcs[p["ssrc"]] = ssrcs.get(p["ssrc"], 0) + 1
        main_ssrc = max(ssrcs, key=ssrcs.get) if ssrcs else None
        samples, gaps = reconstruct([p for p in audio if p["ssrc"] == main_ssrc])
        analysis = analyse_samples(samples, a.detect)
        arrivals = [t for t, _ in self.received if t0 <= t < t_end]
        max_gap = max((b - a_ for a_, b in zip(arrivals, arrivals[1:])), default=None)
        duration = t_end - t0
        return {
            "name": a.name,
            "call_id": self.dialog.call_id,
            "mixer": "%s:%d" % self.mixer,
            "answer_pts": self.answer_pts,
            "rtp_port": self.rtp_port,
            "setup_s": round(setup_s, 3),
            "late_start": late_start,
            "send_max_late_ms": round(max_late * 1000, 1),
            "sent": sender.sent,
            "sent_events": sender.sent_events,
            "strays_sent": self.strays_sent,
            "duration_s": round(duration, 3),
            "expected": int(round(duration / PTIME)),
            "received_total": len(self.received),
            "received_during": len(during),
            "received_by_pt": by_pt,
            "received_other": self.received_other,
            "rtcp_received": self.rtcp_received,
            "max_gap_ms": round(max_gap * 1000, 1) if max_gap is not None else None,
            "window_s": a.analyze,
            "window_packets": len(audio),
            "window_ssrcs": len(ssrcs),
            "window_gaps": gaps,
            "rms_dbov": analysis["rms_dbov"],
            "tones_dbov": analysis["tones_dbov"],
            "in_dialog_requests": self.in_dialog_requests,
            "moves_s": [round(t - t0, 3) for t in self.moves],
            # The longest silence in the last move's neighbourhood: from the last packet before
            # the move (from the old address) to the first one after it (from the new one).
            "move_gap_ms": self.move_gap_ms(),
        }

    def move_gap_ms(self):
        if not self.moves:
            return None
        moved = self.moves[-1]
        before = [t for t, _ in self.received if t < moved]
        after = [t for t, _ in self.received if t >= moved]
        if not before or not after:
            return None
        return round((after[0] - before[-1]) * 1000, 1)


def run_stranger(args):
    """RTP of a tone from a fresh socket to --stranger-to; counts anything that comes back."""
    host, _, port = args.stranger_to.rpartition(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((HOST, 0))
    sock.setblocking(False)
    sender = RtpSender(sock, (host, int(port)))
    tone = ToneSource(args.freq, args.level)
    start_left = (args.start_at - time.time()) if args.start_at else 0.0
    t0 = time.monotonic() + max(start_left, 0.0)
    slots = int(round(args.duration / PTIME))
    slot, got = 0, 0
    while slot < slots or time.monotonic() < t0 + slots * PTIME + 0.2:
        now = time.monotonic()
        due = t0 + slot * PTIME
        if slot < slots and now >= due:
            sender.send(CODEC.pt, slot == 0, slot * SAMPLES, tone.frame())
            sender.sent += 1
            slot += 1
            continue
        wait = (due - now) if slot < slots else 0.02
        ready, _, _ = select.select([sock], [], [], max(wait, 0))
        if ready:
            while True:
                try:
                    sock.recvfrom(65536)
                    got += 1
                except OSError:
                    break
    return {"name": args.name, "stranger_to": args.stranger_to,
            "source": "%s:%d" % sock.getsockname(), "sent": sender.sent, "received": got}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, help="confab's SIP UDP port")
    ap.add_argument("--room", default="1000")
    ap.add_argument("--name", default="phone")
    ap.add_argument("--display-name", help="From's display name: printable, no double quote or backslash")
    ap.add_argument("--freq", type=float, default=0.0, help="tone to send, Hz; 0: silence")
    ap.add_argument("--level", type=float, default=-20.0, help="tone level, dBov (RMS)")
    ap.add_argument("--duration", type=float, default=4.0, help="seconds of media")
    ap.add_argument("--start-at", type=float, default=0.0,
                    help="wall-clock time (time.time()) to start media; 0: right after the 200")
    ap.add_argument("--dtmf", choices=sorted(DTMF_EVENTS), help="RFC 4733 digit to send once")
    ap.add_argument("--dtmf-at", type=float, default=1.0, help="seconds into the media")
    ap.add_argument("--analyze", type=float, default=2.0, help="judge the last N seconds heard")
    ap.add_argument("--detect", default="1000,1500,2000", help="frequencies to measure, Hz")
    ap.add_argument("--info-file", help="written (atomically) once the call is up")
    ap.add_argument("--sip-timeout", type=float, default=10.0)
    ap.add_argument("--stranger-to", help="HOST:PORT: stranger mode")
    ap.add_argument("--stray-rate", type=float, default=0.0,
                    help="also send this many forged packets a second in our own stream "
                         "(our SSRC, random sequence numbers and timestamps)")
    ap.add_argument("--codec", choices=["pcmu", "g722"], default="pcmu")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    global CODEC
    if args.codec == "g722":
        CODEC = G722()
    if args.self_test:
        self_test()
        return 0
    args.detect = [float(x) if "." in x else int(x) for x in args.detect.split(",") if x]
    if args.stranger_to:
        print(json.dumps(run_stranger(args)), flush=True)
        return 0
    if not args.port:
        ap.error("--port is required")
    phone = Phone(args)
    try:
        print(json.dumps(phone.run()), flush=True)
        return 0
    except (TestFailure, OSError) as e:
        print(json.dumps({"name": args.name, "call_id": phone.dialog.call_id, "error": str(e),
                          "received_total": len(phone.received)}), flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
