"""RPC arguments through their schemas, with field-level errors."""

from typing import Any

from marshmallow import Schema, ValidationError

from services.common.errors import InvalidInput, invalid


def load(schema: Schema, payload: object) -> dict[str, Any]:
    """The payload as `schema` loads it, or InvalidInput with each field's error code."""
    if not isinstance(payload, dict):
        raise InvalidInput({"_schema": ["invalid"]})
    try:
        loaded: dict[str, Any] = schema.load(payload)
    except ValidationError as exc:
        raise invalid(exc.messages) from None
    return loaded
