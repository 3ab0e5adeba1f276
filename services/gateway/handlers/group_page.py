"""One group's page, for the staff of its contact point: its members, schedule and check-ins, and
every step of its life after the proposal — start it, record the handover (who answers the
check-ins, when and where the group meets), send a check-in now, take a member out, close it — and
the check-ins' comments, each read audited."""

from typing import Any

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from services.common.errors import Conflict

from .. import domain
from ..context import Context
from ..pages import send_form
from ..ports import Ports
from ..routes import STAFF, route
from .staff import first_names, render_staff

A_GROUP = "/staff/<contact_point_id>/groups/<group_id>"
# The group's page and what changes it: its contact point's staff (matching re-checks); what
# shows the group's members or answers is audited, with the group as the subject.
OWN: dict[str, Any] = dict(roles=STAFF, kind="page", scope="contact_point")
READS: dict[str, Any] = dict(OWN, audit="group", purpose="follow up group")
# Why a check-in cannot be sent now (matching's Conflict codes)
PROBLEMS = ("not_self_run", "no_checkin_members", "no_checkins_left")


def _group_page(
    ports: Ports,
    ctx: Context,
    contact_point_id: str,
    group_id: str,
    status: int = 200,
    errors: dict[str, Any] | None = None,
    problem: str | None = None,
) -> Response:
    group = ports.matching.group_view(group_id, ctx.actor)
    names = first_names(ports, ctx, contact_point_id, [group])
    return render_staff(
        ports,
        ctx,
        "staff_group.html",
        contact_point_id,
        "groups",
        status=status,
        group=group,
        names=names,
        errors=errors or {},
        form=ctx.request.form.to_dict() if errors else {},
        problem=problem,
        done=ctx.request.args.get("done"),
        weekdays=domain.WEEKDAYS,
        every=domain.EVERY,
    )


def _back(contact_point_id: str, group_id: str, done: str, ref: str = "") -> Response:
    also = f"&ref={ref[:8]}" if ref else ""
    return redirect(f"/staff/{contact_point_id}/groups/{group_id}?done={done}{also}", code=303)


@route("GET", A_GROUP, summary="one group: members, schedule, check-ins", **READS)
def staff_group(ports: Ports, ctx: Context, contact_point_id: str, group_id: str) -> Response:
    return _group_page(ports, ctx, contact_point_id, group_id)


@route("POST", f"{A_GROUP}/start", **OWN)
def staff_start_group(ports: Ports, ctx: Context, contact_point_id: str, group_id: str) -> Response:
    """The starter has held the first meeting: the group is started."""
    ports.matching.advance_group(group_id, "started", ctx.actor)
    return _back(contact_point_id, group_id, "started")


@route("POST", f"{A_GROUP}/handover", **READS)
def staff_handover(ports: Ports, ctx: Context, contact_point_id: str, group_id: str) -> Response:
    """The starter leaves and the group runs itself: from `started` only (matching says so)."""
    members = ports.matching.group_view(group_id, ctx.actor).get("registration_ids") or []
    handover, errors = domain.handover_from_form(ctx.request.form, members)
    _, errors = send_form(errors, lambda: ports.matching.record_handover(group_id, handover, ctx.actor))
    if errors:
        return _group_page(ports, ctx, contact_point_id, group_id, status=400, errors=errors)
    return _back(contact_point_id, group_id, "handover")


@route("POST", f"{A_GROUP}/check-ins", **READS)
def staff_send_checkin(ports: Ports, ctx: Context, contact_point_id: str, group_id: str) -> Response:
    try:
        ports.matching.send_checkin(group_id, ctx.actor)
    except Conflict as conflict:
        problem = next((p for p in PROBLEMS if p in str(conflict)), PROBLEMS[0])
        return _group_page(ports, ctx, contact_point_id, group_id, status=409, problem=problem)
    return _back(contact_point_id, group_id, "checkin_sent")


@route("GET", f"{A_GROUP}/members/<registration_id>/remove", **OWN)
def staff_confirm_remove_member(
    ports: Ports, ctx: Context, contact_point_id: str, group_id: str, registration_id: str
) -> Response:
    """The confirming step before a member is taken out: what will happen, and a way back."""
    back = f"/staff/{contact_point_id}/groups/{group_id}"
    return render_staff(
        ports,
        ctx,
        "confirm.html",
        contact_point_id,
        "groups",
        action="remove_member",
        target=f"{back}/members/{registration_id}/remove",
        back=back,
        subject_ref=registration_id[:8],
    )


@route("POST", f"{A_GROUP}/members/<registration_id>/remove", **OWN)
def staff_remove_member(
    ports: Ports, ctx: Context, contact_point_id: str, group_id: str, registration_id: str
) -> Response:
    ports.matching.leave_group(group_id, registration_id, ctx.actor)
    return _back(contact_point_id, group_id, "removed", registration_id)


@route("POST", f"{A_GROUP}/close", **READS)
def staff_close_group(ports: Ports, ctx: Context, contact_point_id: str, group_id: str) -> Response:
    reason, errors = domain.reason_from_form(ctx.request.form, domain.CLOSE_REASONS)
    _, errors = send_form(errors, lambda: ports.matching.close_group(group_id, reason, ctx.actor))
    if errors:
        return _group_page(ports, ctx, contact_point_id, group_id, status=400, errors=errors)
    return redirect(f"/staff/{contact_point_id}/groups?done=close", code=303)


@route(
    "GET",
    f"{A_GROUP}/check-ins/<checkin_id>/comment",
    audit="checkin",
    purpose="read check-in comment",
    summary="a check-in's comment (free text: every read is audited)",
    **OWN,
)
def staff_checkin_comment(
    ports: Ports, ctx: Context, contact_point_id: str, group_id: str, checkin_id: str
) -> Response:
    comment = ports.matching.checkin_comment(checkin_id, ctx.actor)
    return render_staff(
        ports, ctx, "staff_checkin_comment.html", contact_point_id, "groups", group_id=group_id, comment=comment
    )
