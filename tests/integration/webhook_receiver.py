"""A webhook receiver for the integration tests (stdlib only): listens on 127.0.0.1, checks each
POST's Confab-Signature (v1= hex HMAC-SHA256 keyed with the webhook's secret over
"TIMESTAMP.BODY") and that Confab-Timestamp is within 5 minutes of now, answers 204 when both
hold and 401 otherwise, and appends one JSON line per request to the log: the event id, whether
it was valid, and the event's type, room and participant Call-ID.

The secret is read from --secret-file at each request (the test writes it once the API has made
the webhook, after this receiver has given its port); the port is written to --port-file."""

import argparse
import hashlib
import hmac
import json
import os
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

MAX_BODY = 65536
MAX_SKEW_S = 300


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--secret-file", required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(min(length, MAX_BODY))
            timestamp = self.headers.get("Confab-Timestamp", "")
            signature = self.headers.get("Confab-Signature", "")
            try:
                with open(args.secret_file, encoding="ascii") as f:
                    secret = f.read().strip()
            except OSError:
                secret = ""
            expected = "v1=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body,
                                        hashlib.sha256).hexdigest()
            fresh = timestamp.isdigit() and abs(int(timestamp) - time.time()) <= MAX_SKEW_S
            # After a rotation the header lists a signature per live secret: one must match.
            valid = bool(secret) and fresh and any(
                hmac.compare_digest(expected, candidate.strip())
                for candidate in signature.split(","))
            entry = {"id": self.headers.get("Confab-Event-Id"), "valid": valid,
                     "content_type": self.headers.get("Content-Type")}
            try:
                event = json.loads(body)
                entry.update(type=event.get("type"), room=event.get("room"),
                             call=(event.get("participant") or {}).get("callId"))
            except ValueError:
                entry["type"] = None
            with open(args.log, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")
            self.send_response(204 if valid else 401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *unused):
            pass

    server = HTTPServer(("127.0.0.1", args.port), Handler)
    with open(args.port_file + ".tmp", "w", encoding="ascii") as f:
        f.write(str(server.server_address[1]))
    os.replace(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
