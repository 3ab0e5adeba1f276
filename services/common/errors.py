"""Errors that cross RPC: nameko sends the class name and the message; the gateway maps them."""

import json


def field_errors(messages):
    """marshmallow's messages with every key a string (list items are keyed by index), so they
    can be stored, sent as JSON and read by a person: {"themes": {"0": ["Must be one of: ..."]}}."""
    if isinstance(messages, dict):
        return {str(key): field_errors(value) for key, value in messages.items()}
    if isinstance(messages, (list, tuple)):
        return [field_errors(value) for value in messages]
    return messages


class InvalidInput(ValueError):
    """Field-level validation errors; the message is the JSON of {field: [messages]}."""

    def __init__(self, errors):
        self.errors = field_errors(errors)
        super().__init__(json.dumps(self.errors, sort_keys=True))


class NotFound(LookupError):
    pass


class Forbidden(PermissionError):
    pass


class Conflict(Exception):
    pass


class Unauthenticated(PermissionError):
    """The `actor` of an RPC is missing, malformed, forged, expired or for another method; the
    message is that reason (docs/rpc.md, "Signed actors")."""
