#!/usr/bin/env python3
"""Reads the NOTIFYs a SIPp watcher received from its message log (-trace_msg) and checks them.

Usage: notify_log.py conference|presence|dialog LOG OUTDIR
Writes each NOTIFY body to OUTDIR/NNN.xml (for the schema check) and prints one line per
NOTIFY: version, state, Subscription-State, the endpoint statuses in it. Exits 1 naming what is
wrong: versions not 1, 2, 3, ... (RFC 4575 §5.1), a first document not full state, a terminated
Subscription-State before the last NOTIFY, or (for the conference package) the flow's statuses
missing: dialing-in, connected, on-hold, disconnected with departed, and a last NOTIFY with
reason=noresource."""

import os
import re
import sys


def received_messages(path):
    """The SIP messages SIPp logged as received, each as bytes."""
    data = open(path, "rb").read()
    # SIPp writes a dashed line with a time, "UDP message received [N] bytes :", a blank line,
    # then the message.
    parts = re.split(rb"-{10,}[^\n]*\n", data)
    out = []
    for part in parts:
        m = re.match(rb"\s*(UDP|TCP|TLS) message received \[(\d+)\] bytes :\n\n", part)
        if m:
            out.append(part[m.end():m.end() + int(m.group(2))])
    return out


def parse(message):
    head, _, body = message.partition(b"\r\n\r\n")
    lines = head.decode("utf-8", "replace").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), value.strip())
    length = int(headers.get("content-length", "0"))
    return lines[0], headers, body[:length].decode("utf-8")


def main():
    package, log, outdir = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(outdir, exist_ok=True)
    notifies = []
    for message in received_messages(log):
        first, headers, body = parse(message)
        if first.startswith("NOTIFY "):
            key = (headers.get("call-id"), headers.get("cseq"))
            if notifies and notifies[-1][0] == key:
                continue  # a retransmission
            notifies.append((key, headers, body))
    problems = []
    if not notifies:
        problems.append("no NOTIFY received")
    statuses = []
    for i, (_, headers, body) in enumerate(notifies):
        path = os.path.join(outdir, "%03d.xml" % (i + 1))
        with open(path, "w") as f:
            f.write(body)
        state = headers.get("subscription-state", "")
        ctype = headers.get("content-type", "")
        if state.startswith("terminated") and i != len(notifies) - 1:
            problems.append(f"NOTIFY {i + 1} terminated the subscription before the last one")
        if package == "conference":
            m = re.search(r'<conference-info [^>]*state="(\w+)" version="(\d+)"', body)
            if not m:
                problems.append(f"NOTIFY {i + 1}: no conference-info state and version")
                continue
            doc_state, version = m.group(1), int(m.group(2))
            if version != i + 1:
                problems.append(f"NOTIFY {i + 1} has version {version}")
            if i == 0 and doc_state != "full":
                problems.append("the first NOTIFY is not full state")
            if ctype != "application/conference-info+xml":
                problems.append(f"NOTIFY {i + 1}: Content-Type {ctype}")
            found = re.findall(r"<status>([a-z-]+)</status>", body)
            endpoint = [s for s in found if s not in ("sendrecv", "sendonly", "recvonly", "inactive")]
            methods = re.findall(r"<disconnection-method>([a-z-]+)<", body)
            statuses += endpoint
            print(f"NOTIFY {i + 1}: version {version} {doc_state}; {state}; "
                  f"endpoint {','.join(endpoint) or '-'}; media "
                  f"{','.join(s for s in found if s not in endpoint) or '-'}"
                  f"{'; left ' + methods[0] if methods else ''}")
        elif package == "dialog":
            m = re.search(r'<dialog-info [^>]*version="(\d+)"', body)
            states = re.findall(r"<state>(\w+)</state>", body)
            print(f"NOTIFY {i + 1}: {state}; version {m.group(1) if m else '?'}; "
                  f"dialogs {','.join(states) or 'none'}")
            if not m or int(m.group(1)) != i:
                problems.append(f"NOTIFY {i + 1}: dialog-info version not {i} (RFC 4235 §4.1)")
            if ctype != "application/dialog-info+xml":
                problems.append(f"NOTIFY {i + 1}: Content-Type {ctype}")
        else:
            basic = re.findall(r"<basic>(\w+)</basic>", body)
            print(f"NOTIFY {i + 1}: {state}; basic {','.join(basic)}; "
                  f"{''.join(re.findall(r'<note>([^<]*)</note>', body))}")
            if ctype != "application/pidf+xml":
                problems.append(f"NOTIFY {i + 1}: Content-Type {ctype}")
    if package == "conference" and notifies:
        for wanted in ("dialing-in", "connected", "on-hold", "disconnected"):
            if wanted not in statuses:
                problems.append(f"no NOTIFY showed the endpoint {wanted}")
        if "<disconnection-method>departed</disconnection-method>" not in "".join(
                n[2] for n in notifies):
            problems.append("no NOTIFY said the caller departed")
        last = notifies[-1][1].get("subscription-state", "")
        if last != "terminated;reason=noresource":
            problems.append(f"the last NOTIFY's Subscription-State is {last!r}")
    for p in problems:
        print("problem: " + p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
