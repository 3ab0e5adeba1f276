"""The whole system as processes for the browser tests and `make screenshots`: a vhost of its
own on the broker, databases of its own in the store, and everything scripts/services.sh starts
(the SMTP sink, the SMS provider, the five services under `nameko run`, or stand-ins for some),
with helpers that go through the system's own doors (seeding, accounts, the API, the mail).
No eventlet here: this module lives in the browser-test process, next to Playwright."""

import base64
import json
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

from tests import waiting
from tests.processes import Services, private_environment

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
PASSWORD = "browser test passphrase"


def _management(method, path, body=None):
    base = os.environ.get("RABBIT_MGMT_URI", "http://guest:guest@127.0.0.1:30002")
    parts = urllib.parse.urlsplit(base)
    data = json.dumps(body or {}).encode() if method == "PUT" else None
    req = urllib.request.Request(f"{parts.scheme}://{parts.hostname}:{parts.port}{path}", method=method, data=data)
    auth = base64.b64encode(f"{parts.username}:{parts.password}".encode()).decode()
    req.add_header("Authorization", f"Basic {auth}")
    req.add_header("Content-Type", "application/json")
    urllib.request.urlopen(req, timeout=10).read()


@contextmanager
def vhost():
    name = f"browser-{uuid.uuid4().hex[:8]}"
    _management("PUT", f"/api/vhosts/{name}")
    _management("PUT", f"/api/permissions/{name}/guest", {"configure": ".*", "write": ".*", "read": ".*"})
    amqp = urllib.parse.urlsplit(os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:30001/"))
    try:
        yield f"amqp://{amqp.username}:{amqp.password}@{amqp.hostname}:{amqp.port}/{name}"
    finally:
        _management("DELETE", f"/api/vhosts/{name}")


class Stack:
    def __init__(self, run_dir, amqp_uri, stand_ins=()):
        self.run_dir = Path(run_dir)
        self.mail_dir = self.run_dir / "mail"
        self.stand_ins = tuple(stand_ins)
        self.env = private_environment(
            self.run_dir,
            amqp_uri,
            f"b{uuid.uuid4().hex[:8]}_",
            FLOKK_RATE_LIMIT="1000/60",
            MONGODB_URI=os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:30003"),
        )
        self.url = f"http://127.0.0.1:{self.env['GATEWAY_PORT']}"
        self.services = Services(self.env)

    def start(self):
        self.services.start(stand_ins=self.stand_ins)
        return self

    def stop(self):
        self.services.stop()

    def run(self, command, extra=None):
        done = subprocess.run(
            command, cwd=ROOT, env={**self.env, **(extra or {})}, capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            raise RuntimeError(f"{command[2:4]} failed: {done.stderr[-2000:]}")
        return done.stdout

    # --- data, through the system's own doors ---------------------------------------------------

    def seed_directory(self):
        return self.run([PY, "scripts/seed_directory.py"])

    def account(self, email, role, *extra):
        lines = self.run(
            [
                PY,
                "-m",
                "services.gateway.accounts",
                "create",
                "--email",
                email,
                "--role",
                role,
                "--password",
                PASSWORD,
                *extra,
            ]
        ).splitlines()
        return lines[0].split()[1]

    def api(self, method, path, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={**({"Content-Type": "application/json"} if data else {}), **(headers or {})},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def mails(self):
        import email
        import email.policy

        return [
            email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted(self.mail_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime)
        ]


def wait_until(probe, timeout=30.0, what="the condition"):
    """The suite's poll with a deadline, with the longer patience a browser round trip needs."""
    return waiting.wait_until(probe, timeout=timeout, interval=0.2, what=what)


def person(n, **changes):
    """The intake of test person n: all share Tuesday evening and grief in Bergen, so five of them
    make a group."""
    data = {
        "idempotency_key": f"browser-{uuid.uuid4().hex[:10]}",
        "name": f"Deltaker{n}",
        "email": f"deltaker{n}.{uuid.uuid4().hex[:6]}@example.no",
        "postal_code": "5003",
        "role": "self",
        "themes": ["grief"],
        "languages": ["nb"],
        "open_to_mixed": True,
        "availability": [{"weekday": "tue", "part_of_day": "evening"}],
        "consent": {
            "purpose": "self_help_group_matching",
            "text_version": "2026-01",
            "given_at": "2026-11-28T08:59:00Z",
            "channel": "self",
        },
    }
    data.update(changes)
    return data
