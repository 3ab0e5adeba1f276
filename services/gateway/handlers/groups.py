"""The JSON API of matching, per contact point: the pool, proposals and groups (audited), what staff
decide about a group and its life after the start (handover, check-ins), and acquaintances who
must never share one."""

from typing import Any

from marshmallow import Schema
from werkzeug.wrappers import Response

from ..context import Context
from ..ports import Ports
from ..responses import json_response
from ..routes import STAFF, route
from ..schemas import (
    AcquaintancesInput,
    AdvanceInput,
    CheckinSent,
    CloseInput,
    ConfirmInput,
    HandoverInput,
    LeaveInput,
    RejectInput,
)

CP = {"contact_point_id": "link-bergen"}
GROUP = {"contact_point_id": "link-bergen", "group_id": "grp-1"}
PEOPLE = "/api/contact-points/<contact_point_id>"
A_GROUP = "/api/contact-points/<contact_point_id>/groups/<group_id>"
# Reads of one contact point's people, and decisions about one of its groups.
READ: dict[str, Any] = dict(roles=STAFF, scope="contact_point", audit="contact_point", tag="matching", path_example=CP)
DECIDE: dict[str, Any] = dict(roles=STAFF, scope="contact_point", audit="group", tag="matching", path_example=GROUP)


@route(
    "GET",
    f"{PEOPLE}/pool",
    purpose="review pool",
    summary="The people waiting: ids, waiting since, role, language, themes, slots (audited).",
    **READ,
)
def pool(ports: Ports, ctx: Context, contact_point_id: str) -> Response:
    return json_response(ports.matching.pool(contact_point_id, ctx.actor))


@route(
    "GET",
    f"{PEOPLE}/proposals",
    purpose="review proposals",
    summary="Proposed groups with their explanations (audited).",
    **READ,
)
def proposals(ports: Ports, ctx: Context, contact_point_id: str) -> Response:
    return json_response(ports.matching.proposals(contact_point_id, ctx.actor))


@route("GET", f"{PEOPLE}/groups", purpose="review groups", summary="Confirmed and running groups (audited).", **READ)
def groups(ports: Ports, ctx: Context, contact_point_id: str) -> Response:
    return json_response(ports.matching.groups(contact_point_id, ctx.actor))


def _raw(ctx: Context, schema: type[Schema]) -> dict[str, Any]:
    """The JSON values as sent (timestamps stay strings on the wire), limited to the schema's fields."""
    return {key: ctx.raw_body[key] for key in schema._declared_fields if key in ctx.raw_body}


@route(
    "POST",
    f"{A_GROUP}/confirm",
    body=ConfirmInput,
    example={"meeting_place_id": "mp-1", "first_meeting_at": "2026-12-01T18:00:00+01:00", "starter_id": "st-1"},
    summary="Confirm a proposal: meeting place, first meeting, starter (and, optionally, the date the starter "
    "hands over and a reason to override one of matching's rules). Only now are people invited.",
    **DECIDE,
)
def confirm_group(ports: Ports, ctx: Context, contact_point_id: str, group_id: str) -> Response:
    return json_response(ports.matching.confirm_group(group_id, _raw(ctx, ConfirmInput), ctx.actor))


@route(
    "POST",
    f"{A_GROUP}/reject",
    body=RejectInput,
    example={"reason": "no_room"},
    summary="Reject a proposal with a reason.",
    **DECIDE,
)
def reject_group(ports: Ports, ctx: Context, contact_point_id: str, group_id: str) -> Response:
    return json_response(ports.matching.reject_group(group_id, ctx.body["reason"], ctx.actor))


@route(
    "POST",
    f"{A_GROUP}/advance",
    body=AdvanceInput,
    example={"state": "started"},
    summary="Move a confirmed group on: started (the starter holds the first meetings), then self_run.",
    **DECIDE,
)
def advance_group(ports: Ports, ctx: Context, contact_point_id: str, group_id: str) -> Response:
    return json_response(ports.matching.advance_group(group_id, ctx.body["state"], ctx.actor))


@route(
    "POST",
    f"{A_GROUP}/leave",
    body=LeaveInput,
    example={"registration_id": "reg-1"},
    summary="A member leaves a confirmed group.",
    **DECIDE,
)
def leave_group(ports: Ports, ctx: Context, contact_point_id: str, group_id: str) -> Response:
    return json_response(ports.matching.leave_group(group_id, ctx.body["registration_id"], ctx.actor))


@route(
    "GET",
    A_GROUP,
    roles=STAFF,
    scope="contact_point",
    audit="group",
    purpose="follow up group",
    tag="matching",
    path_example=GROUP,
    summary="One group: members (ids), state, schedule, check-ins with their answers but no comment (audited).",
)
def group_view(ports: Ports, ctx: Context, contact_point_id: str, group_id: str) -> Response:
    return json_response(ports.matching.group_view(group_id, ctx.actor))


@route(
    "POST",
    f"{A_GROUP}/handover",
    body=HandoverInput,
    example={
        "checkin_registration_ids": ["reg-1"],
        "schedule": {"weekday": "thu", "start_time": "18:00", "every": "week", "meeting_place_id": "group-room"},
    },
    summary="The starter hands a started group over: it runs itself from now on (group_self_run).",
    **DECIDE,
)
def record_handover(ports: Ports, ctx: Context, contact_point_id: str, group_id: str) -> Response:
    return json_response(ports.matching.record_handover(group_id, _raw(ctx, HandoverInput), ctx.actor))


@route(
    "POST",
    f"{A_GROUP}/check-ins",
    status=202,
    response=CheckinSent,
    summary="Send the group's check-in members a check-in now; 409 if the group is not self-run or has none.",
    **DECIDE,
)
def send_checkin(ports: Ports, ctx: Context, contact_point_id: str, group_id: str) -> Response:
    return json_response(ports.matching.send_checkin(group_id, ctx.actor), 202)


@route("POST", f"{A_GROUP}/close", body=CloseInput, example={"reason": "completed"}, summary="Close a group.", **DECIDE)
def close_group(ports: Ports, ctx: Context, contact_point_id: str, group_id: str) -> Response:
    return json_response(ports.matching.close_group(group_id, ctx.body["reason"], ctx.actor))


@route(
    "POST",
    f"{PEOPLE}/acquaintances",
    roles=STAFF,
    scope="contact_point",
    audit="contact_point",
    body=AcquaintancesInput,
    tag="matching",
    path_example=CP,
    example={"registration_id_a": "reg-1", "registration_id_b": "reg-2"},
    summary="Record that two people know each other: never in one group.",
)
def record_acquaintances(ports: Ports, ctx: Context, contact_point_id: str) -> Response:
    a, b = ctx.body["registration_id_a"], ctx.body["registration_id_b"]
    return json_response(ports.matching.record_acquaintances(a, b, ctx.actor))
