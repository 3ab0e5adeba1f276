"""JSON log lines: whitelisted context only (never personal data), worker context merged in."""

import json
import logging

from services.common import logs


def record(msg="something happened", **extra):
    logs.install_context_factory()
    rec = logging.getLogger("tests.logs").makeRecord(
        "tests.logs", logging.INFO, __file__, 1, msg, (), None, extra=extra
    )
    return json.loads(logs.JsonFormatter().format(rec))


def test_only_whitelisted_keys_reach_the_line():
    line = record(event_id="e1", email="kari@example.no", first_name="Kari", free_text="I am grieving")
    assert line["event_id"] == "e1" and line["msg"] == "something happened"
    assert not {"email", "first_name", "free_text"} & set(line)
    assert "kari" not in json.dumps(line).lower()


def test_the_worker_context_tags_every_line_until_cleared():
    logs.bind_worker_context(call_id="registration.register.abc", event_id="e9", email="kari@example.no")
    try:
        line = record()
        assert (line["call_id"], line["event_id"]) == ("registration.register.abc", "e9")
        assert "email" not in line
        assert record(event_id="explicit")["event_id"] == "explicit"  # extra wins over the context
    finally:
        logs.clear_worker_context()
    assert "call_id" not in record()


def test_timestamps_are_utc_with_milliseconds():
    line = record()
    assert line["ts"].endswith("Z") and len(line["ts"]) == len("2026-11-28T09:00:00.000Z")
    assert line["level"] == "info"
