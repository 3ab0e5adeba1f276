"""The national office's queue: the people no contact point can take, how long they have waited
and why (matching), found by the reference in the office's e-mail; assigned to a contact point
(matching) or contacted for a purpose from a fixed list (registration). JSON and a page."""

from typing import Any

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from services.common.contracts import CONTACT_PURPOSES
from services.common.errors import InvalidInput

from ..context import Context
from ..pages import optional, render, send_form
from ..ports import Ports
from ..responses import json_response
from ..routes import ADMIN, route
from ..schemas import AssignInput, ContactInput, QueuedPerson, QueueQuery

QUEUE = "/api/national-office/queue"
PERSON = {"registration_id": "3f2a9c10-7d1e-4b6a-9f00-2a1b3c4d5e6f"}
#: The queue lists people (ids, place, wishes): every read is audited, as the staff's pool is.
AUDITED: dict[str, Any] = dict(roles=ADMIN, audit="registration", purpose="national office queue")


def queue_of(ports: Ports, ctx: Context, reference: str | None) -> list[dict[str, Any]]:
    ctx.audit_subject = "national-office-queue"
    return ports.matching.national_queue(reference, ctx.actor)


@route(
    "GET",
    QUEUE,
    query=QueueQuery,
    response=QueuedPerson,
    response_many=True,
    tag="national office",
    summary="The people no contact point can take, longest-waiting first (?reference= the e-mail's reference).",
    **AUDITED,
)
def national_queue(ports: Ports, ctx: Context) -> Response:
    return json_response(queue_of(ports, ctx, ctx.query.get("reference")))


@route(
    "POST",
    f"{QUEUE}/<registration_id>/assign",
    body=AssignInput,
    tag="national office",
    example={"contact_point_id": "link-bergen"},
    path_example=PERSON,
    summary="Assign a queued person to a contact point: they wait in its pool and get a new receipt.",
    **AUDITED,
)
def assign(ports: Ports, ctx: Context, registration_id: str) -> Response:
    return json_response(ports.matching.assign_from_queue(registration_id, ctx.body["contact_point_id"], ctx.actor))


@route(
    "POST",
    f"{QUEUE}/<registration_id>/contacts",
    body=ContactInput,
    tag="national office",
    example={"purpose": "clarify_wishes"},
    path_example=PERSON,
    summary="Note that the national office contacted a queued person, and why (a purpose from a fixed list).",
    **AUDITED,
)
def contact(ports: Ports, ctx: Context, registration_id: str) -> Response:
    return json_response(ports.registration.record_contact(registration_id, ctx.body["purpose"], ctx.actor), 201)


# --- the page --------------------------------------------------------------------------------------


def _page(
    ports: Ports, ctx: Context, status: int = 200, errors: dict[str, Any] | None = None, failed: str | None = None
) -> Response:
    reference = ctx.request.args.get("reference", "").strip()
    search_error = None
    if reference and QueueQuery().validate({"reference": reference}):
        reference, search_error, status = "", "err_reference", 400
    listed = optional(ports.directory.list_contact_points, None, None, None) or []
    choices = [cp for cp in listed if cp.get("active", True) and cp.get("kind") != "national_office"]
    return render(
        ctx,
        "national_queue.html",
        status=status,
        people=queue_of(ports, ctx, reference or None),
        reference=reference,
        search_error=search_error,
        contact_points=sorted(choices, key=lambda cp: cp.get("name") or ""),
        purposes=CONTACT_PURPOSES,
        errors=errors or {},
        failed=failed,
        done=ctx.request.args.get("done"),
    )


@route("GET", "/national/queue", kind="page", **AUDITED)
def queue_page(ports: Ports, ctx: Context) -> Response:
    return _page(ports, ctx)


def _act(ports: Ports, ctx: Context, registration_id: str, field: str, send: Any, done: str) -> Response:
    """One form of the queue page: its field, sent on, then back to the queue (or the errors)."""
    value = ctx.request.form.get(field, "").strip()
    errors = {field: f"err_{field}"} if not value else {}
    _, errors = send_form(errors, lambda: send(value))
    if errors:
        return _page(ports, ctx, 400, errors, registration_id)
    return redirect(f"/national/queue?done={done}", code=303)


@route("POST", "/national/queue/<registration_id>/assign", kind="page", **AUDITED)
def queue_assign(ports: Ports, ctx: Context, registration_id: str) -> Response:
    def send(contact_point_id: str) -> Any:
        return ports.matching.assign_from_queue(registration_id, contact_point_id, ctx.actor)

    return _act(ports, ctx, registration_id, "contact_point_id", send, "assigned")


@route("POST", "/national/queue/<registration_id>/contacts", kind="page", **AUDITED)
def queue_contact(ports: Ports, ctx: Context, registration_id: str) -> Response:
    def send(purpose: str) -> Any:
        if purpose not in CONTACT_PURPOSES:
            raise InvalidInput({"purpose": ["err_purpose"]})
        return ports.registration.record_contact(registration_id, purpose, ctx.actor)

    return _act(ports, ctx, registration_id, "purpose", send, "contacted")
