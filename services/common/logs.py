"""JSON log lines. Only the message and whitelisted context keys are written: never event data,
so no personal data reaches a log by accident.

A failure keeps its traceback without its values: the frames (file, line, function) are always
written, but an exception's text only for Flokk's own exception classes and an allow-list of library
classes whose messages carry no values; any other text becomes its class and a short hash, so two
lines can still be told apart or matched. The same holds for an exception passed as a message
argument (nameko logs `error handling worker %s: %s` with the exception itself).

Inside a worker, every line also carries the worker's nameko `call_id` and, when it handles an
event, the `event_id`: `bind_worker_context` (called by the observability hooks when a worker
starts) puts them in a greenthread-local context that each new log record copies.
"""

import hashlib
import json
import logging
import threading
import time
import traceback
from pathlib import Path
from types import TracebackType

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
    "method",
)

#: Library exceptions whose text names no value of the data being handled (hosts, timeouts, states).
SAFE_LIBRARY_EXCEPTIONS = frozenset(
    {
        "builtins.TimeoutError",
        "builtins.ConnectionError",
        "builtins.ConnectionRefusedError",
        "builtins.ConnectionResetError",
        "builtins.BrokenPipeError",
        "socket.timeout",
        "eventlet.timeout.Timeout",
        "kombu.exceptions.OperationalError",
        "amqp.exceptions.ConnectionForced",
        "amqp.exceptions.RecoverableConnectionError",
        "pymongo.errors.AutoReconnect",
        "pymongo.errors.NetworkTimeout",
        "pymongo.errors.ServerSelectionTimeoutError",
        "pymongo.errors.ConnectionFailure",
        "nameko.exceptions.UnknownService",
        "nameko.exceptions.MethodNotFound",
    }
)
ROOT = Path(__file__).resolve().parents[2]

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


def exception_name(exc: BaseException) -> str:
    cls = type(exc)
    return f"{cls.__module__}.{cls.__qualname__}"


def safe_exception_text(exc: BaseException) -> str:
    """`Class: text` where the text is known to carry no values; otherwise `Class: #hash`."""
    name = exception_name(exc)
    short = type(exc).__name__
    text = str(exc)
    if name.startswith("services.") or name in SAFE_LIBRARY_EXCEPTIONS:
        return f"{short}: {text}" if text else short
    if not text:
        return short
    return f"{short}: #{hashlib.sha256(text.encode('utf-8', 'replace')).hexdigest()[:10]}"


def exception_frames(tb: TracebackType | None) -> list[str]:
    """`path:line in function` for every frame, paths relative to the project where they are in it."""
    frames = []
    for frame in traceback.extract_tb(tb):
        path = Path(frame.filename)
        try:
            shown = str(path.resolve().relative_to(ROOT))
        except ValueError:
            shown = "/".join(path.parts[-3:])
        frames.append(f"{shown}:{frame.lineno} in {frame.name}")
    return frames


def _exception_chain(exc: BaseException | None) -> list[dict]:
    chain: list[dict] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen and len(chain) < 5:
        seen.add(id(exc))
        chain.append({"error": safe_exception_text(exc), "frames": exception_frames(exc.__traceback__)})
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return chain


def _safe_message(record: logging.LogRecord) -> str:
    args = record.args
    if isinstance(args, tuple) and any(isinstance(arg, BaseException) for arg in args):
        args = tuple(safe_exception_text(a) if isinstance(a, BaseException) else a for a in args)
        try:
            return str(record.msg) % args
        except (TypeError, ValueError):
            return str(record.msg)
    return record.getMessage()


class JsonFormatter(logging.Formatter):
    converter = staticmethod(time.gmtime)

    def format(self, record):
        line = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": _safe_message(record),
        }
        context = getattr(record, "flokk_context", None) or {}
        for key in CONTEXT_KEYS:
            if hasattr(record, key):
                line[key] = getattr(record, key)
            elif key in context:
                line[key] = context[key]
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            line["exc_type"] = type(exc).__name__
            line["exception"] = _exception_chain(exc)
        return json.dumps(line, ensure_ascii=False, default=str)
