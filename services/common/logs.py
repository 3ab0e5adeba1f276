"""JSON log lines. Only the message and whitelisted context keys are written: never event data,
so no personal data reaches a log by accident.

Inside a worker, every line also carries the worker's nameko `call_id` and, when it handles an
event, the `event_id`: `bind_worker_context` (called by the observability hooks when a worker
starts) puts them in a greenthread-local context that each new log record copies.
"""

import json
import logging
import threading
import time

CONTEXT_KEYS = (
    "event_id",
    "event_type",
    "call_id",
    "attempt",
    "error",
    "reason",
    "service",
    "registration_id",
    "group_id",
    "notification_id",
    "contact_point_id",
)

_context = threading.local()  # green-local once eventlet has monkey-patched threading
_factory_installed = False


def bind_worker_context(**values):
    """Tag the log lines of the current worker (greenthread) with these context values."""
    _context.values = {key: value for key, value in values.items() if key in CONTEXT_KEYS and value is not None}


def clear_worker_context():
    _context.values = {}


def current_context():
    return dict(getattr(_context, "values", None) or {})


def install_context_factory():
    """Make every log record carry the current worker context (idempotent). Kept apart from the
    record's own attributes, so `extra={"event_id": ...}` still works and wins."""
    global _factory_installed
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        record.flokk_context = current_context()
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True


class JsonFormatter(logging.Formatter):
    converter = staticmethod(time.gmtime)

    def format(self, record):
        line = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        context = getattr(record, "flokk_context", None) or {}
        for key in CONTEXT_KEYS:
            if hasattr(record, key):
                line[key] = getattr(record, key)
            elif key in context:
                line[key] = context[key]
        if record.exc_info:
            line["exc_type"] = record.exc_info[0].__name__
        return json.dumps(line, ensure_ascii=False, default=str)
