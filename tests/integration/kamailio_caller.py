"""Callers through a proxy (tests/integration/test_kamailio.sh): one UDP call per room named,
all to the proxy's port. Each call is placed, answered and ACKed through the proxy, and all stay
up together; then each is hung up with a BYE that follows the route set the 200 OK's
Record-Route gave (RFC 3261 §12.1.2: the proxy must stay on the path). One JSON line per call:
the room, the final status, the node that answered (its port, from the 200's Contact), the
milliseconds from INVITE to the final answer, and the BYE's status.

Calls and hang-ups are paced (--pace, 0.15 s apart by default): every caller here comes from
127.0.0.1, and the proxy blocks one address that sends over 40 requests in 2 s (pike).

usage: kamailio_caller.py PROXY_PORT [--timeout SECONDS] [--pace SECONDS] ROOM [ROOM...]"""

import json
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sipclient import Dialog, Response, is_request, sdp_offer  # noqa: E402


def answer(sock, deadline, want_cseq_method):
    """The first final response for want_cseq_method before the deadline, or None."""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            raw = sock.recv(65536)
        except socket.timeout:
            return None
        if is_request(raw):
            continue  # nothing the focus sends within these few seconds needs an answer here
        response = Response(raw)
        if response.status >= 200 and (response.header("cseq") or "").endswith(want_cseq_method):
            return response
    return None


def main():
    args = sys.argv[1:]
    timeout, pace = 12.0, 0.15
    while len(args) >= 3 and args[1] in ("--timeout", "--pace"):
        if args[1] == "--timeout":
            timeout = float(args[2])
        else:
            pace = float(args[2])
        del args[1:3]
    if len(args) < 2:
        sys.exit(__doc__)
    proxy = ("127.0.0.1", int(args[0]))
    calls = []
    for room in args[1:]:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        dialog = Dialog("UDP", "127.0.0.1", sock.getsockname()[1], room, *proxy)
        started = time.monotonic()
        sock.sendto(dialog.request("INVITE", sdp_offer(port=40000 + 2 * len(calls))), proxy)
        final = answer(sock, started + timeout, "INVITE")
        call = {"room": room, "status": final.status if final else 0, "node": 0,
                "ms": round((time.monotonic() - started) * 1000), "bye": 0}
        routes = []
        if final and final.status == 200:
            dialog.to_tag = final.to_tag()
            contact = final.header("contact") or ""
            dialog.remote_target = contact[contact.find("<") + 1:contact.find(">")]
            port = re.search(r"@[^:;>]+:(\d+)", dialog.remote_target)
            call["node"] = int(port.group(1)) if port else 0
            # The UAC's route set is the Record-Route values in reverse order.
            routes = [f"Route: {r}" for r in reversed(final.header_all("record-route") or [])]
            call["record_route"] = len(routes)
            sock.sendto(dialog.request("ACK", extra=routes), proxy)
        calls.append((call, sock, dialog, routes))
        time.sleep(pace)
    for call, sock, dialog, routes in calls:
        if call["status"] == 200:
            dialog.cseq += 1
            sock.sendto(dialog.request("BYE", extra=routes), proxy)
            bye = answer(sock, time.monotonic() + 8, "BYE")
            call["bye"] = bye.status if bye else 0
            time.sleep(pace)
        sock.close()
        print(json.dumps(call), flush=True)


if __name__ == "__main__":
    main()
