"""The gateway on the real broker and store: over real HTTP, with the real registration and
directory services where their RPCs exist, and the accounts command line against the real store."""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from nameko.testing.utils import find_free_port

from services.directory.service import DirectoryService
from services.gateway.service import GatewayService
from services.registration.service import RegistrationService
from tests import samples
from tests.samples import intake

ROOT = Path(__file__).resolve().parents[2]
BERGEN = dict(samples.BERGEN)


class Http:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"

    def __call__(self, method, path, body=None, headers=None, raw=None):
        data = json.dumps(body).encode() if body is not None else raw
        req = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={**({"Content-Type": "application/json"} if body is not None else {}), **(headers or {})},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    def json(self, method, path, body=None, headers=None):
        status, _, raw = self(method, path, body, headers)
        return status, json.loads(raw)


def accounts_cli(service_config, *args):
    env = {
        **os.environ,
        "MONGODB_URI": service_config["MONGODB_URI"],
        "FLOKK_DB_PREFIX": service_config["FLOKK_DB_PREFIX"],
        "FLOKK_PASSWORD": "integration passphrase",
    }
    done = subprocess.run(
        [sys.executable, "-m", "services.gateway.accounts", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()


@pytest.fixture
def stack(container_factory, service_config):
    port = find_free_port()
    config = {**service_config, "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}", "FLOKK_RATE_LIMIT": "1000/60"}
    for cls in (DirectoryService, RegistrationService, GatewayService):
        container_factory(cls, config).start()
    return Http(port), config


def test_a_registration_over_http_reaches_the_registration_service_once(stack, mongo, db_prefix):
    http, config = stack
    payload = intake()
    assert http.json("POST", "/api/registrations", payload)[0] == 201
    status, again = http.json("POST", "/api/registrations", payload)
    assert status == 200 and again["created"] is False
    token = accounts_cli(config, "create", "--email", "intake@example.no", "--role", "integration", "--token")[1]
    status, by_integration = http.json("POST", "/api/registrations", intake(), {"Authorization": f"Bearer {token}"})
    assert status == 201 and by_integration["created"] is True  # registration accepts the integration's actor
    assert mongo[f"{db_prefix}registration"].registrations.count_documents({}) == 2
    status, error = http.json("POST", "/api/registrations", intake(postal_code="0000"))
    assert status == 400 and error["error"]["fields"] == {"postal_code": ["unknown_postal_code"]}


def test_accounts_from_the_command_line_sign_in_and_edit_the_directory(stack):
    http, config = stack
    lines = accounts_cli(config, "create", "--email", "Admin@Example.no", "--role", "national_admin", "--token")
    assert lines[0].startswith("created acc-") and lines[1].startswith("flk_")
    again = accounts_cli(config, "create", "--email", "admin@example.no", "--role", "national_admin", "--exists-ok")
    assert again == [lines[0].replace("created", "exists")]  # as in a second `make demo`
    token = {"Authorization": f"Bearer {lines[1]}"}
    status, stored = http.json("PUT", "/api/contact-points/link-bergen", BERGEN, token)
    assert status == 200 and stored["revision"] == 1
    assert http.json("GET", "/api/contact-points/link-bergen", headers=token)[1]["name"] == BERGEN["name"]
    status, found = http.json("GET", "/api/postal-codes/5003/contact-points")
    assert found["place"]["municipality_number"] == "4601"
    assert found["candidates"][0]["contact_point_id"] == "link-bergen"
    status, signed_in = http.json(
        "POST", "/api/session", {"email": "admin@example.no", "password": "integration passphrase"}
    )
    assert status == 200 and signed_in["account"]["role"] == "national_admin"


def test_a_refusal_is_written_to_the_gateways_own_audit_log(stack, mongo, db_prefix):
    http, config = stack
    token = accounts_cli(
        config,
        "create",
        "--email",
        "s@example.no",
        "--role",
        "contact_point_staff",
        "--contact-point",
        "link-bergen",
        "--token",
    )[1]
    status, _ = http.json("GET", "/api/contact-points/link-oslo/pool", headers={"Authorization": f"Bearer {token}"})
    assert status == 403
    [entry] = list(mongo[f"{db_prefix}gateway"].audit.find({}, {"_id": 0}))
    assert entry["subject_id"] == "link-oslo" and entry["outcome"] == "refused" and entry["at"]
    account = mongo[f"{db_prefix}gateway"].accounts.find_one({"email": "s@example.no"})
    assert entry["account_id"] == account["_id"] and account["password_hash"].startswith("$argon2id$")
    assert mongo[f"{db_prefix}gateway"].tokens.count_documents({"_id": token}) == 0  # only the digest


def test_probes_and_documents_over_http(stack):
    http, _ = stack
    assert http.json("GET", "/healthz") == (200, {"service": "gateway", "status": "ok", "store": "ok", "broker": "ok"})
    status, headers, raw = http("GET", "/asyncapi.yaml")
    assert status == 200 and raw.startswith(b"asyncapi: 3.0.0")
    status, doc = http.json("GET", "/openapi.json")
    assert doc["openapi"] == "3.1.0"
    status, headers, raw = http("GET", "/metrics")
    assert b'flokk_gateway_http_requests_total{route="openapi"}' in raw
    status, headers, raw = http("GET", "/register")
    assert status == 200 and b"<form" in raw
