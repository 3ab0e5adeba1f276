"""JSON log lines: whitelisted context only (never personal data), worker context merged in."""

import io
import json
import logging

from services.common import logs
from services.common.errors import NotFound


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


PAYLOAD = {"name": "Kari Nordmann", "email": "kari@example.no", "free_text": "I lost my husband in May"}


def failing_handler(payload):
    """A handler with a bug: the KeyError's text would be a value of the payload."""
    return {"greeting": payload[payload["name"]]}


def formatted(logger_name, *args, **kwargs):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    try:
        try:
            failing_handler(PAYLOAD)
        except KeyError as exc:
            logger.exception(*args, exc, **kwargs) if args else logger.exception("handler failed")
    finally:
        logger.removeHandler(handler)
    return json.loads(stream.getvalue())


def test_a_failing_handlers_frames_reach_the_log_without_the_payloads_values():
    # nameko's own call when a worker fails: the exception is a message argument as well
    line = formatted("nameko.containers", "error handling worker %s: %s", "<WorkerContext [svc.handle]>")
    text = json.dumps(line, ensure_ascii=False)
    assert [word for word in ("Kari", "kari@example.no", "husband") if word in text] == []
    [failure] = line["exception"]
    assert failure["error"].startswith("KeyError: #")
    assert any(
        frame.endswith("in failing_handler") and frame.startswith("tests/unit/test_logs.py:")
        for frame in failure["frames"]
    )
    assert line["msg"].startswith("error handling worker <WorkerContext [svc.handle]>: KeyError: #")


def test_flokks_own_exceptions_keep_their_text():
    try:
        raise NotFound("no registration r-1")
    except NotFound as exc:
        assert logs.safe_exception_text(exc) == "NotFound: no registration r-1"
    assert logs.safe_exception_text(TimeoutError("timed out")) == "TimeoutError: timed out"
    hidden = logs.safe_exception_text(ValueError("kari@example.no"))
    assert hidden.startswith("ValueError: #") and "kari" not in hidden
    assert hidden == logs.safe_exception_text(ValueError("kari@example.no"))  # the same text, the same hash
