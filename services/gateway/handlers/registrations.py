"""The JSON API of registrations and referrals: register a person, read, withdraw or erase one
(audited), the delivery log, and a referrer's own referrals."""

from typing import Any

from werkzeug.wrappers import Response

from services.common.contracts import RegistrationRequested
from services.common.errors import InvalidInput

from ..context import Context
from ..ports import Ports
from ..responses import json_response
from ..routes import EVERYONE, STAFF, route
from ..schemas import Created, EraseInput, PurposeQuery, ReferralStatus, WithdrawInput

EXAMPLE_INTAKE = {
    "idempotency_key": "web-2b7c9e",
    "name": "Kari",
    "email": "kari@example.no",
    "postal_code": "5003",
    "role": "self",
    "themes": ["grief"],
    "languages": ["nb"],
    "open_to_mixed": True,
    "availability": [{"weekday": "tue", "part_of_day": "evening"}],
    "consent": {
        "purpose": "self_help_group_matching",
        "text_version": "2026-01",
        "given_at": "2026-11-28T08:59:00Z",
        "channel": "self",
    },
}
REG = {"registration_id": "reg-1"}


def register(ports: Ports, ctx: Context, payload: dict[str, Any]) -> dict[str, Any]:
    """registration.register, as the person signed in or, on the public form, as `public`."""
    return ports.registration.register(payload, ctx.actor)


@route(
    "POST",
    "/api/registrations",
    roles=EVERYONE,
    rate_limited=True,
    body=RegistrationRequested,
    response=Created,
    tag="registrations",
    example=EXAMPLE_INTAKE,
    status=201,
    summary="Register a person (the intake contract). A referrer's referral id is always its own.",
)
def create_registration(ports: Ports, ctx: Context) -> Response:
    payload = dict(ctx.raw_body)
    if ctx.role == "referrer":
        referral = payload.get("referral") or {}
        payload["referral"] = {**referral, "referrer_id": ctx.actor["referrer_id"]}
        if "organisation" not in referral:
            raise InvalidInput({"referral": {"organisation": ["Missing data for required field."]}})
    result = register(ports, ctx, payload)
    return json_response(result, 201 if result["created"] else 200)


@route(
    "GET",
    "/api/registrations/<registration_id>",
    roles=STAFF,
    audit="registration",
    tag="registrations",
    purpose="case handling",
    query=PurposeQuery,
    path_example=REG,
    summary="One registration with contact details (audited; `purpose`: why, one of the pages' reasons).",
)
def get_registration(ports: Ports, ctx: Context, registration_id: str) -> Response:
    ctx.purpose = ctx.query.get("purpose")
    return json_response(ports.registration.get_registration(registration_id, ctx.actor))


@route(
    "POST",
    "/api/registrations/<registration_id>/withdraw",
    roles=(*STAFF, "referrer"),
    body=WithdrawInput,
    audit="registration",
    purpose="withdrawal",
    tag="registrations",
    example={"reason": "staff"},
    path_example=REG,
    summary="Take the person out of matching; the record stays.",
)
def withdraw(ports: Ports, ctx: Context, registration_id: str) -> Response:
    return json_response(ports.registration.withdraw(registration_id, ctx.actor, ctx.body["reason"]))


@route(
    "POST",
    "/api/registrations/<registration_id>/erase",
    roles=STAFF,
    body=EraseInput,
    audit="registration",
    purpose="erasure",
    tag="registrations",
    example={"reason": "request"},
    path_example=REG,
    summary="Erase the person's data in every service.",
)
def erase(ports: Ports, ctx: Context, registration_id: str) -> Response:
    return json_response(ports.registration.erase(registration_id, ctx.actor, ctx.body["reason"]))


@route(
    "GET",
    "/api/registrations/<registration_id>/deliveries",
    roles=STAFF,
    audit="registration",
    purpose="delivery follow-up",
    tag="registrations",
    path_example=REG,
    summary="The masked delivery log of one person (audited).",
)
def deliveries(ports: Ports, ctx: Context, registration_id: str) -> Response:
    return json_response(ports.notification.deliveries(registration_id, ctx.actor))


@route(
    "GET",
    "/api/referrals",
    roles=("referrer",),
    audit="referrer",
    purpose="follow referrals",
    response=ReferralStatus,
    response_many=True,
    tag="referrals",
    summary="The status of my referrals.",
)
def referral_statuses(ports: Ports, ctx: Context) -> Response:
    return json_response(ports.registration.referral_statuses(ctx.actor))


@route(
    "GET",
    "/api/referrals/<registration_id>",
    roles=("referrer",),
    audit="registration",
    purpose="follow referral",
    response=ReferralStatus,
    tag="referrals",
    path_example=REG,
    summary="The status of one of my referrals.",
)
def referral_status(ports: Ports, ctx: Context, registration_id: str) -> Response:
    return json_response(ports.registration.referral_status(registration_id, ctx.actor))
