"""schemathesis against /openapi.json: no request it can make gets a 5xx from the gateway.

It runs as a process of its own (it is not built for eventlet), against a gateway on the real
broker and store. The four services behind it are stand-ins that answer every documented RPC of
docs/rpc.md with the documented shapes, so what is fuzzed is the gateway itself: routing,
validation, authorisation, error mapping (the real services are fuzzed through it after merging)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from nameko.testing.utils import find_free_port

from services.gateway.service import GatewayService
from tests.browser.stand_ins import stand_in
from tests.fakes.gateway import ANSWERS
from tests.integration.test_gateway import accounts_cli

ROOT = Path(__file__).resolve().parents[2]
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.fixture
def gateway_url(container_factory, service_config):
    port = find_free_port()
    config = {
        **service_config,
        "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
        "FLOKK_RATE_LIMIT": "100000/60",
        "max_workers": 8,
    }
    for name, answers in ANSWERS.items():
        container_factory(stand_in(name, answers), config).start()
    container_factory(GatewayService, config).start()
    return f"http://127.0.0.1:{port}", config


@pytest.mark.parametrize("who", ["anonymous", "national_admin"])
def test_schemathesis_finds_no_server_error(gateway_url, tmp_path, who):
    url, config = gateway_url
    headers = []
    if who != "anonymous":
        token = accounts_cli(config, "create", "--email", f"{who}@example.no", "--role", who, "--token")[1]
        headers = ["-H", f"Authorization: Bearer {token}"]
    done = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{url}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "15",
            # One worker: CPython 3.11's ast module is not safe in parallel threads (gh-106905), and
            # hypothesis parses source while describing strategies ("AST constructor recursion depth").
            "--workers",
            "1",
            "--request-timeout",
            "20",
            "--no-color",
            *headers,
        ],
        cwd=tmp_path,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
        capture_output=True,
        text=True,
        timeout=500,
    )
    report = done.stdout[-6000:] + done.stderr[-2000:]
    assert done.returncode == 0, report
    counted = re.search(r"(\d+) generated, (\d+) passed", done.stdout)
    assert counted and int(counted.group(1)) > 200 and counted.group(1) == counted.group(2), report
    tested = re.search(r"Operations:\s+(\d+) selected / (\d+) total", done.stdout)
    assert tested and tested.group(1) == tested.group(2) and int(tested.group(1)) >= 30, report
