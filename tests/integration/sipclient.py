"""A tiny SIP client for the integration tests: builds requests, reads responses from UDP or a
stream (TCP/TLS) with a size limit and a deadline, and parses them just enough to check them."""

import random
import re
import socket
import ssl
import time

MAX_MESSAGE = 65536


class TestFailure(Exception):
    """A check failed; the message says what was expected and what came."""


def token(n=10):
    return "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))


def branch():
    return "z9hG4bK" + token(12)


def sdp_offer(port=40000, direction="sendrecv", address="127.0.0.1"):
    sess = random.randint(1, 2**31)
    return (
        "v=0\r\n"
        f"o=test {sess} 1 IN IP4 {address}\r\n"
        "s=-\r\n"
        f"c=IN IP4 {address}\r\n"
        "t=0 0\r\n"
        f"m=audio {port} RTP/AVP 0 8 101\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:8 PCMA/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n"
        f"a={direction}\r\n"
    )


class Response:
    def __init__(self, raw: bytes):
        self.raw = raw
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.decode("utf-8", "replace").split("\r\n")
        m = re.match(r"SIP/2\.0 (\d{3}) ?(.*)$", lines[0])
        if not m:
            raise TestFailure(f"not a SIP response: {lines[0]!r}")
        self.status = int(m.group(1))
        self.reason = m.group(2)
        self.headers = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and self.headers:
                name, value = self.headers[-1]
                self.headers[-1] = (name, value + " " + line.strip())
                continue
            name, _, value = line.partition(":")
            self.headers.append((name.strip().lower(), value.strip()))
        self.body = body.decode("utf-8", "replace")

    def header(self, name):
        """The first value of header NAME (long or compact form), or None."""
        compact = {"via": "v", "from": "f", "to": "t", "call-id": "i", "contact": "m",
                   "content-type": "c", "content-length": "l", "supported": "k"}
        names = {name.lower(), compact.get(name.lower(), "")}
        for n, v in self.headers:
            if n in names:
                return v
        return None

    def header_all(self, name):
        """Every value of header NAME, comma lists split."""
        out = []
        for n, v in self.headers:
            if n == name.lower():
                out += [x.strip() for x in v.split(",") if x.strip()]
        return out

    def to_tag(self):
        to = self.header("to") or ""
        m = re.search(r";\s*tag=([^;>\s]+)", to)
        return m.group(1) if m else None

    def __str__(self):
        return f"{self.status} {self.reason}"


class Dialog:
    """Enough state to send in-dialog requests after an INVITE."""

    def __init__(self, transport, local_host, local_port, room, server_host, server_port):
        self.transport = transport
        self.local = f"{local_host}:{local_port}"
        self.room = room
        self.server = f"{server_host}:{server_port}"
        self.call_id = token(16) + "@test"
        self.from_tag = token(8)
        self.to_tag = None
        self.cseq = 1
        self.remote_target = f"sip:{room}@{self.server}"
        self.display_name = "Integration test"  # From's quoted-string (RFC 3261 §25.1)

    def request(self, method, body="", extra=None, cseq=None, branch_param=None, uri=None,
                content_type="application/sdp"):
        if cseq is None:
            cseq = self.cseq
        to = f"<sip:{self.room}@{self.server}>"
        if self.to_tag:
            to += f";tag={self.to_tag}"
        if uri is None:
            uri = self.remote_target if self.to_tag else f"sip:{self.room}@{self.server}"
        lines = [
            f"{method} {uri} SIP/2.0",
            f"Via: SIP/2.0/{self.transport} {self.local};branch={branch_param or branch()};rport",
            "Max-Forwards: 70",
            f"From: \"{self.display_name}\" <sip:tester@{self.local}>;tag={self.from_tag}",
            f"To: {to}",
            f"Call-ID: {self.call_id}",
            f"CSeq: {cseq} {method}",
            f"Contact: <sip:tester@{self.local};transport={self.transport.lower()}>",
        ]
        lines += extra or []
        if body:
            lines.append(f"Content-Type: {content_type}")
        lines.append(f"Content-Length: {len(body.encode())}")
        return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


class StreamReader:
    """Splits SIP messages off a byte stream by Content-Length (RFC 3261 §18.3)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def read(self, deadline):
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                head = self.buf[:end].decode("utf-8", "replace")
                m = re.search(r"(?im)^(?:content-length|l)\s*:\s*(\d+)\s*$", head)
                length = int(m.group(1)) if m else 0
                total = end + 4 + length
                if len(self.buf) >= total:
                    msg, self.buf = self.buf[:total], self.buf[total:]
                    return msg
            if len(self.buf) > MAX_MESSAGE:
                raise TestFailure("more than 64 KiB without a complete message")
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure("timed out waiting for a message")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                raise TestFailure("timed out waiting for a message") from None
            if not data:
                raise TestFailure("connection closed by confab")
            self.buf += data


def tls_connect(host, port, timeout=5.0):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # confab's certificate is self-signed and generated at start-up: nothing to verify against.
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection((host, port), timeout=timeout)
    return ctx.wrap_socket(raw, server_hostname=host)


def is_request(msg: bytes):
    return not msg.startswith(b"SIP/2.0 ")
