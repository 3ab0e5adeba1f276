"""RPC arguments through their schemas, with field-level errors."""

from typing import Any

from marshmallow import Schema, ValidationError

from services.common.errors import InvalidInput


def load(schema: Schema, payload: object) -> dict[str, Any]:
    """The payload as `schema` loads it, or InvalidInput with the field-level errors."""
    if not isinstance(payload, dict):
        raise InvalidInput({"_schema": ["Expected a JSON object."]})
    try:
        loaded: dict[str, Any] = schema.load(payload)
    except ValidationError as exc:
        raise InvalidInput(exc.messages) from None
    return loaded
