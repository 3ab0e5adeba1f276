"""A local HTTP SMS provider for the demo and the tests: accepts the adapter's requests
(docs/notification.md) and keeps every accepted message as a .json file in a folder. Runs in a
process of its own, like the SMTP sink.

    python scripts/sms_provider.py --port 8026 --outbox .run/demo/sms [--fail-first N] [--refuse +4790]

--fail-first N answers the first N requests with 503 (try later), for retry tests.
--refuse PREFIX answers 400 for numbers starting with PREFIX (refused for good), for fallback tests.
The same `reference` twice is accepted once (answered 200 with the first id), as real providers do.
"""

import argparse
import json
import os
import re
import signal
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

NUMBER = re.compile(r"^\+\d{8,15}$")


class Provider:
    def __init__(self, outbox, fail_first, refuse):
        self.outbox = Path(outbox)
        self.outbox.mkdir(parents=True, exist_ok=True)
        self.failures_left = fail_first
        self.refuse = refuse
        self.references = {}
        self.lock = threading.Lock()

    def accept(self, body):
        """(status, answer) for one request body."""
        try:
            message = json.loads(body)
        except ValueError:
            return 400, {"error": "body is not JSON"}
        if not isinstance(message, dict):
            return 400, {"error": "body is not a JSON object"}
        missing = [key for key in ("to", "sender", "text", "reference") if not isinstance(message.get(key), str)]
        if missing:
            return 400, {"error": f"missing or not a string: {', '.join(missing)}"}
        if not NUMBER.match(message["to"]) or (self.refuse and message["to"].startswith(self.refuse)):
            return 400, {"error": "number refused"}
        with self.lock:
            if self.failures_left > 0:
                self.failures_left -= 1
                return 503, {"error": "try again later"}
            if message["reference"] in self.references:
                return 200, {"id": self.references[message["reference"]], "duplicate": True}
            message_id = uuid.uuid4().hex
            self.references[message["reference"]] = message_id
        path = self.outbox / f"{message_id}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"id": message_id, **message}, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)  # readers never see half a message
        return 202, {"id": message_id}


def handler_for(provider):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            if self.path != "/messages":
                return self._answer(404, {"error": "POST /messages"})
            length = int(self.headers.get("Content-Length") or 0)
            self._answer(*provider.accept(self.rfile.read(length)))

        def _answer(self, status, answer):
            body = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # no phone numbers in logs
            pass

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8026)
    parser.add_argument("--outbox", required=True)
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--refuse", default="")
    args = parser.parse_args()
    server = ThreadingHTTPServer(
        (args.host, args.port), handler_for(Provider(args.outbox, args.fail_first, args.refuse))
    )
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"sms provider listening on {args.host}:{args.port}, messages in {args.outbox}", flush=True)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
