"""Errors that cross RPC: nameko sends the class name and the message; the gateway maps them."""
import json


class InvalidInput(ValueError):
    """Field-level validation errors; the message is the JSON of {field: [messages]}."""

    def __init__(self, errors):
        self.errors = errors
        super().__init__(json.dumps(errors, sort_keys=True))


class NotFound(LookupError):
    pass


class Forbidden(PermissionError):
    pass
