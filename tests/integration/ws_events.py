#!/usr/bin/env python3
"""Reads confab's live event stream (GET /v1/events, a WebSocket: RFC 6455) and writes each event
as one JSON line, for the integration tests (standard library only).

Usage: ws_events.py URL TOKEN OUTFILE [--until TYPE] [--seconds N]
URL is http://HOST:PORT/v1/events[?room=KEY]. Writes "OPEN" to stderr once the handshake is
done, then one line per text frame until an event of TYPE arrives (then a clean close), the
server closes, or N seconds pass (default 30). Exits 1 when the handshake is refused."""

import base64
import hashlib
import json
import os
import socket
import struct
import sys
import time
import urllib.parse

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3


def read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("closed")
        data += chunk
    return data


def read_frame(sock):
    """One frame: (opcode, payload). Server frames are never masked (§5.1)."""
    b0, b1 = read_exact(sock, 2)
    opcode, length = b0 & 0x0F, b1 & 0x7F
    if b1 & 0x80:
        raise ValueError("a masked frame from the server")
    if length == 126:
        length = struct.unpack("!H", read_exact(sock, 2))[0]
    elif length == 127:
        length = struct.unpack("!Q", read_exact(sock, 8))[0]
    return opcode, read_exact(sock, length)


def send_frame(sock, opcode, payload=b""):
    """A client frame: FIN, masked with a fresh key (§5.3)."""
    mask = os.urandom(4)
    header = bytes([0x80 | opcode, 0x80 | len(payload)])  # control frames are < 126 bytes
    sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def main():
    url, token, out_path = sys.argv[1], sys.argv[2], sys.argv[3]
    until, seconds = None, 30.0
    args = sys.argv[4:]
    while args:
        if args[0] == "--until":
            until, args = args[1], args[2:]
        elif args[0] == "--seconds":
            seconds, args = float(args[1]), args[2:]
        else:
            sys.exit("unknown option " + args[0])
    u = urllib.parse.urlparse(url)
    sock = socket.create_connection((u.hostname, u.port), timeout=seconds)
    key = base64.b64encode(os.urandom(16)).decode()
    target = u.path + ("?" + u.query if u.query else "")
    sock.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                  "Authorization: Bearer %s\r\n\r\n" % (target, u.hostname, u.port, key, token))
                 .encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            sys.exit("closed during the handshake")
        head += chunk
    lines = head.decode(errors="replace").split("\r\n")
    accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
    if not lines[0].startswith("HTTP/1.1 101") or \
            ("sec-websocket-accept: " + accept.lower()) not in head.decode().lower():
        sys.exit("handshake refused: " + lines[0])
    print("OPEN", file=sys.stderr, flush=True)
    deadline = time.monotonic() + seconds
    with open(out_path, "w") as out:
        while time.monotonic() < deadline:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                opcode, payload = read_frame(sock)
            except (EOFError, socket.timeout, OSError):
                break
            if opcode == 0x1:
                out.write(payload.decode() + "\n")
                out.flush()
                if until is not None and json.loads(payload).get("type") == until:
                    send_frame(sock, 0x8, struct.pack("!H", 1000))
                    break
            elif opcode == 0x9:
                send_frame(sock, 0xA, payload)  # pong (§5.5.3)
            elif opcode == 0x8:
                break
    sock.close()


if __name__ == "__main__":
    main()
