#!/usr/bin/env python3
"""Drives a running baresip through its ctrl_tcp module (netstring-framed JSON on 127.0.0.1).

One connection is kept for the whole call, because baresip sends call events only to the
clients connected when they happen. Every wait has a deadline. Each event received is printed
on standard output as one JSON line (for the test's log); the outcome the test needs is written
as KEY=VALUE lines to the file given by --result.

  baresip_ctrl.py --port P --result FILE call URI --hold SECONDS
      dial URI, wait for CALL_ESTABLISHED, keep the call up SECONDS (failing if it closes
      meanwhile), hang up, wait for CALL_CLOSED, quit baresip.
  baresip_ctrl.py --port P --result FILE call-until-closed URI --ready FILE --wait SECONDS
      dial URI, wait for CALL_ESTABLISHED, create the --ready file, then wait up to SECONDS for
      the peer to close the call (CALL_CLOSED), quit baresip.

Exit status 0 when everything expected happened; otherwise 1 with the reason on standard error.
"""

import argparse
import json
import os
import re
import socket
import sys
import time


class Failure(Exception):
    pass


class Ctrl:
    def __init__(self, port, connect_seconds):
        deadline = time.monotonic() + connect_seconds
        last = None
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=1)
                break
            except OSError as e:
                last = e
                if time.monotonic() >= deadline:
                    raise Failure(f"cannot connect to baresip's ctrl_tcp on 127.0.0.1:{port}: {last}")
                time.sleep(0.1)
        self.buf = b""
        self.events = []
        self.token = 0

    def send(self, command, params=None):
        self.token += 1
        msg = {"command": command, "token": str(self.token)}
        if params is not None:
            msg["params"] = params
        body = json.dumps(msg).encode()
        self.sock.sendall(str(len(body)).encode() + b":" + body + b",")
        return str(self.token)

    def _read_one(self, deadline):
        """The next netstring's JSON, or None when the deadline passes first."""
        while True:
            colon = self.buf.find(b":")
            if colon > 0:
                length = int(self.buf[:colon])
                end = colon + 1 + length
                if len(self.buf) > end:
                    if self.buf[end:end + 1] != b",":
                        raise Failure(f"bad netstring from baresip: {self.buf[:80]!r}")
                    body = self.buf[colon + 1:end]
                    self.buf = self.buf[end + 1:]
                    return json.loads(body)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.sock.settimeout(min(remaining, 0.5))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise Failure("baresip closed the ctrl_tcp connection")
            self.buf += chunk

    def command(self, command, params=None, seconds=5):
        """Sends a command and returns its response's data; events read meanwhile are kept."""
        token = self.send(command, params)
        deadline = time.monotonic() + seconds
        while True:
            msg = self._read_one(deadline)
            if msg is None:
                raise Failure(f"no response to '{command}' within {seconds}s")
            if msg.get("response") and msg.get("token") == token:
                print(json.dumps({"response": command, **msg}), flush=True)
                if not msg.get("ok"):
                    raise Failure(f"'{command}' failed: {msg.get('data')}")
                return msg.get("data", "")
            self._keep(msg)

    def quit(self, seconds=5):
        """Asks baresip to quit and reads until it closes the connection (so that it never
        writes to a closed socket), at most SECONDS."""
        try:
            self.send("quit")
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                self.sock.settimeout(max(0.05, min(0.5, deadline - time.monotonic())))
                try:
                    if not self.sock.recv(65536):
                        break
                except socket.timeout:
                    continue
        except OSError:
            pass
        finally:
            self.sock.close()

    def _keep(self, msg):
        if msg.get("event"):
            print(json.dumps(msg), flush=True)
            self.events.append(msg)

    def wait_event(self, types, seconds, what):
        """The first call event whose type is in TYPES (kept or new) within SECONDS."""
        deadline = time.monotonic() + seconds
        while True:
            for i, ev in enumerate(self.events):
                if ev.get("type") in types:
                    return self.events.pop(i)
            msg = self._read_one(deadline)
            if msg is None:
                seen = [e.get("type") for e in self.events]
                raise Failure(f"{what}: no {'/'.join(types)} event within {seconds}s (other events: {seen})")
            self._keep(msg)

    def closed_before(self, seconds):
        """Waits SECONDS; returns a CALL_CLOSED event if one came meanwhile."""
        try:
            return self.wait_event({"CALL_CLOSED"}, seconds, "hold")
        except Failure:
            return None


def seq_put(ctrl):
    """The sequence number of the last RTP packet baresip's jitter buffer took in (its
    audio_debug): it stops moving when baresip drops what arrives as late or duplicate."""
    debug = ctrl.command("audio_debug")
    m = re.search(r"seq_put=(\d+)", debug if isinstance(debug, str) else json.dumps(debug))
    if not m:
        raise Failure("audio_debug shows no seq_put")
    return m.group(1)


def dial_and_establish(ctrl, uri, seconds, result):
    ctrl.command("dial", uri)
    ev = ctrl.wait_event({"CALL_ESTABLISHED", "CALL_CLOSED"}, seconds, "dial " + uri)
    if ev["type"] == "CALL_CLOSED":
        raise Failure(f"call to {uri} closed before being established: {ev.get('param')!r}")
    result["established"] = "yes"
    result["call_id"] = ev.get("id", "")
    result["peer"] = ev.get("peeruri", "")
    return ev


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--result", required=True)
    ap.add_argument("--connect-seconds", type=float, default=15)
    ap.add_argument("--establish-seconds", type=float, default=15)
    sub = ap.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("call")
    c.add_argument("uri")
    c.add_argument("--hold", type=float, default=3)
    c.add_argument("--hold-at", type=float, help="put the call on hold this long after it is up")
    c.add_argument("--resume-at", type=float, help="and resume it this long after it is up")
    c.add_argument("--ready", help="a file that gets the Call-ID once the call is up")
    u = sub.add_parser("call-until-closed")
    u.add_argument("uri")
    u.add_argument("--ready", required=True)
    u.add_argument("--wait", type=float, default=20)
    args = ap.parse_args()

    result = {}
    status = 0
    ctrl = None
    try:
        ctrl = Ctrl(args.port, args.connect_seconds)
        dial_and_establish(ctrl, args.uri, args.establish_seconds, result)
        if args.mode == "call":
            if args.ready:
                with open(args.ready + ".tmp", "w") as f:
                    f.write(result["call_id"] + "\n")
                os.rename(args.ready + ".tmp", args.ready)
            # Hold and resume (re-INVITEs with a=sendonly, then a=sendrecv) at their times, the
            # call staying up throughout.
            steps = []
            if args.hold_at is not None:
                steps.append((args.hold_at, "hold"))
            if args.resume_at is not None:
                steps.append((args.resume_at, "resume"))
            elapsed = 0.0
            for at, command in sorted(steps):
                early = ctrl.closed_before(max(0.0, at - elapsed))
                if early is not None:
                    raise Failure(f"call closed before '{command}': {early.get('param')!r}")
                if command == "hold":
                    result["seq_put_before_hold"] = seq_put(ctrl)
                ctrl.command(command)
                result[command + "_done"] = "yes"
                elapsed = at
            early = ctrl.closed_before(max(0.0, args.hold - elapsed))
            if early is not None:
                raise Failure(f"call closed after less than {args.hold}s: {early.get('param')!r}")
            if steps:
                result["seq_put_end"] = seq_put(ctrl)
            result["held_seconds"] = str(args.hold)
            ctrl.command("hangup")
            ev = ctrl.wait_event({"CALL_CLOSED"}, 10, "hangup")
            result["closed"] = "yes"
            result["closed_reason"] = ev.get("param", "")
        else:
            with open(args.ready + ".tmp", "w") as f:
                f.write(result["call_id"] + "\n")
            os.rename(args.ready + ".tmp", args.ready)
            ev = ctrl.wait_event({"CALL_CLOSED"}, args.wait, "waiting for the peer's BYE")
            result["closed"] = "yes"
            result["closed_reason"] = ev.get("param", "")
    except (Failure, OSError, ValueError) as e:
        print(f"baresip_ctrl: {e}", file=sys.stderr)
        result["error"] = str(e)
        status = 1
    finally:
        if ctrl is not None:
            ctrl.quit()
        with open(args.result, "w") as f:
            for k, v in result.items():
                f.write(f"{k}={v.replace(chr(10), ' ')}\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
