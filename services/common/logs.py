"""JSON log lines. Only the message and whitelisted context keys are written: never event data,
so no personal data reaches a log by accident."""
import json
import logging

CONTEXT_KEYS = ("event_id", "event_type", "call_id", "attempt", "error", "reason", "service",
                "registration_id", "group_id", "notification_id", "contact_point_id")


class JsonFormatter(logging.Formatter):
    def format(self, record):
        line = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in CONTEXT_KEYS:
            if hasattr(record, key):
                line[key] = getattr(record, key)
        if record.exc_info:
            line["exc_type"] = record.exc_info[0].__name__
        return json.dumps(line, ensure_ascii=False)


JsonFormatter.converter = __import__("time").gmtime
