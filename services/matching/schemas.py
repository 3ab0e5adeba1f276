"""Payloads of matching's RPC methods (docs/rpc.md), validated before any use case runs."""

from marshmallow import Schema, ValidationError, fields, validate

from services.common.contracts import GroupClosed, GroupRejected
from services.common.errors import InvalidInput


class Confirmation(Schema):
    meeting_place_id = fields.String(required=True, validate=validate.Length(1, 64))
    first_meeting_at = fields.AwareDateTime(required=True, format="iso")
    starter_id = fields.String(required=True, validate=validate.Length(1, 64))


def _choices(schema):
    return schema._declared_fields["reason"].validate.choices


REJECT_REASONS = _choices(GroupRejected)
CLOSE_REASONS = _choices(GroupClosed)


def load_confirmation(payload, now):
    """The confirmation, or InvalidInput naming each bad field; the first meeting must be ahead."""
    if not isinstance(payload, dict):
        raise InvalidInput({"confirmation": ["Must be an object."]})
    try:
        confirmation = Confirmation().load(payload)
    except ValidationError as exc:
        raise InvalidInput(exc.messages) from None
    if confirmation["first_meeting_at"] <= now:
        raise InvalidInput({"first_meeting_at": ["Must be in the future."]})
    return confirmation


def check_reason(reason, allowed):
    if reason not in allowed:
        raise InvalidInput({"reason": [f"Must be one of: {', '.join(allowed)}."]})
    return reason


def check_id(value, field_name):
    if not isinstance(value, str) or not 1 <= len(value) <= 64:
        raise InvalidInput({field_name: ["Must be an id of 1-64 characters."]})
    return value
