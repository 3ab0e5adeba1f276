"""Every service shows itself: /metrics (events per type, handler and RPC latency, outbox backlog),
/livez and /healthz on METRICS_PORT, and log lines that carry the call id and the event id."""

import json
import logging
import urllib.error
import urllib.request

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.utils import find_free_port

from services.common import contracts
from services.common.delivery import handle_event
from services.common.logs import JsonFormatter
from services.common.rpc import rpc
from services.common.store import MongoStore, Storage
from tests.bus import publish
from tests.samples import envelope
from tests.waiting import wait_until

log = logging.getLogger("tests.metrics_probe")


class MetricsProbeService:
    name = "metricsprobe"
    store = MongoStore(Storage)

    @handle_event("matching", "registration_unroutable")
    def handle_registration_unroutable(self, event):
        log.info("handling")
        if event.data["reason"] == "fail":
            raise ValueError("always fails")

    @rpc
    def ping(self):
        log.info("pinged")
        return "pong"


@pytest.fixture
def probe(container_factory, service_config, monkeypatch):
    monkeypatch.setitem(contracts.SUBSCRIPTIONS, "metricsprobe", [("matching", "registration_unroutable")])
    port = find_free_port()
    config = {**service_config, "METRICS_PORT": port, "FLOKK_MAX_ATTEMPTS": 1}
    container = container_factory(MetricsProbeService, config)
    container.start()
    return config, f"http://127.0.0.1:{port}"


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def metric(text, line_start):
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return None


def unroutable(reason):
    return envelope(
        {"registration_id": "r1", "reason": reason}, event_type="registration_unroutable", source="matching"
    )


def test_metrics_count_events_and_time_handlers_and_rpcs(probe):
    config, base = probe
    publish(config["AMQP_URI"], "matching.events", "registration_unroutable", unroutable("no route"))
    publish(config["AMQP_URI"], "matching.events", "registration_unroutable", unroutable("fail"))
    with ServiceRpcProxy("metricsprobe", config) as proxy:
        assert proxy.ping() == "pong"

    def dead_lettered():
        text = get(f"{base}/metrics")[1]
        return text if metric(text, 'flokk_events_dead_lettered{type="registration_unroutable"}') else None

    text = wait_until(dead_lettered, what="the failed event counted as dead-lettered")
    assert metric(text, 'flokk_events_handled{type="registration_unroutable"}') >= 1
    assert metric(text, 'flokk_events_failed{type="registration_unroutable"}') >= 1
    assert metric(text, 'flokk_handler_seconds_count{type="registration_unroutable"}') >= 2
    assert metric(text, 'flokk_handler_seconds_bucket{type="registration_unroutable",le="+Inf"}') >= 2
    assert metric(text, 'flokk_rpc_seconds_count{method="ping"}') >= 1
    assert metric(text, 'flokk_handler_run_seconds_count{type="registration_unroutable"}') >= 2
    assert metric(text, "flokk_outbox_backlog") == 0
    assert metric(text, "flokk_process_resident_memory_bytes") > 10_000_000
    assert "# TYPE flokk_rpc_seconds histogram" in text


def test_probes_answer_from_the_services_own_health_check(probe):
    _, base = probe
    assert get(f"{base}/livez") == (200, "ok\n")
    status, body = get(f"{base}/healthz")
    assert status == 200
    assert json.loads(body) == {"service": "metricsprobe", "status": "ok", "store": "ok", "broker": "ok"}
    assert get(f"{base}/nothing-here")[0] == 404


def test_log_lines_carry_the_call_id_and_the_event_id(probe, caplog):
    config, _ = probe
    caplog.set_level(logging.INFO, logger="tests.metrics_probe")
    body = unroutable("no route")
    publish(config["AMQP_URI"], "matching.events", "registration_unroutable", body)
    with ServiceRpcProxy("metricsprobe", config) as proxy:
        proxy.ping()
    wait_until(
        lambda: len([r for r in caplog.records if r.name == "tests.metrics_probe"]) >= 2,
        what="two log lines from the workers",
    )
    lines = {
        r.getMessage(): json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "tests.metrics_probe"
    }
    assert lines["handling"]["event_id"] == body["event_id"]
    assert lines["handling"]["call_id"].startswith("metricsprobe.handle_registration_unroutable.")
    assert lines["pinged"]["call_id"].startswith("metricsprobe.ping.")
    assert "event_id" not in lines["pinged"]
