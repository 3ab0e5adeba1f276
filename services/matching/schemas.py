"""Payloads of matching's RPC methods (docs/rpc.md), validated before any use case runs."""

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from services.common.clock import OSLO
from services.common.contracts import Bool, GroupClosed, GroupRejected, Schedule
from services.common.errors import InvalidInput, invalid


class Confirmation(Schema):
    meeting_place_id = fields.String(required=True, validate=validate.Length(1, 64))
    first_meeting_at = fields.AwareDateTime(required=True, format="iso")
    starter_id = fields.String(required=True, validate=validate.Length(1, 64))
    #: The day staff plan to hand the group over to itself ("YYYY-MM-DD"), if they know it.
    handover_planned_on = fields.Date(load_default=None, allow_none=True)
    #: Why staff confirm at a place of the other kind (a digital group in a room, or the reverse).
    override_reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 300))


class Handover(Schema):
    class Meta:
        unknown = "raise"

    checkin_registration_ids = fields.List(
        fields.String(validate=validate.Length(1, 64)), required=True, validate=validate.Length(0, 2)
    )
    schedule = fields.Nested(Schedule, required=True)


class CheckinAnswer(Schema):
    class Meta:
        unknown = "raise"

    still_meeting = Bool(required=True)
    usual_attendance = fields.Integer(required=True, strict=True, validate=validate.Range(0, 20))
    wants_new_members = Bool(required=True)
    needs_help = Bool(required=True)
    comment = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


def _choices(schema):
    return schema._declared_fields["reason"].validate.choices


REJECT_REASONS = _choices(GroupRejected)
CLOSE_REASONS = _choices(GroupClosed)


def _load(schema: Schema, payload: Any, name: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise InvalidInput({name: ["invalid"]})
    try:
        loaded: dict[str, Any] = schema.load(payload)
    except ValidationError as exc:
        raise invalid(exc.messages) from None
    return loaded


def load_confirmation(payload, now):
    """The confirmation, or InvalidInput with each bad field's code; the first meeting must be ahead,
    and a planned handover on or after its day."""
    confirmation = _load(Confirmation(), payload, "confirmation")
    if confirmation["first_meeting_at"] <= now:
        raise InvalidInput({"first_meeting_at": ["date_in_past"]})
    planned = confirmation["handover_planned_on"]
    if planned is not None and planned < confirmation["first_meeting_at"].astimezone(OSLO).date():
        raise InvalidInput({"handover_planned_on": ["before_first_meeting"]})
    return confirmation


def load_handover(payload: Any, members: list[str]) -> dict[str, Any]:
    """The handover: up to two check-in members, each a member, and the schedule."""
    handover = _load(Handover(), payload, "handover")
    named = handover["checkin_registration_ids"]
    if len(set(named)) != len(named):
        raise InvalidInput({"checkin_registration_ids": ["repeated"]})
    strangers = [rid for rid in named if rid not in members]
    if strangers:
        raise InvalidInput({"checkin_registration_ids": ["not_member"]})
    return handover


def load_answer(payload: Any) -> dict[str, Any]:
    answer = _load(CheckinAnswer(), payload, "answer")
    return {**answer, "comment": (answer["comment"] or "").strip() or None}


def check_reason(reason, allowed):
    if reason not in allowed:
        raise InvalidInput({"reason": ["not_one_of"]})
    return reason


def check_id(value, field_name):
    if not isinstance(value, str) or not 1 <= len(value) <= 64:
        raise InvalidInput({field_name: ["invalid_id"]})
    return value
