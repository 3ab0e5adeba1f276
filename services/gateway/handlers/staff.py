"""The pages of contact point staff (and the national office): the waiting pool, proposals to
confirm or reject, groups, acquaintances, and the contact point's directory entry. One group's
page is in `group_page.py`, the meeting places in `meeting_places.py`."""

from typing import Any

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from .. import domain
from ..context import Context
from ..pages import optional, render, send_form
from ..ports import Ports
from ..routes import STAFF, route

CP_PAGES = "/staff/<contact_point_id>"
# Pages of one contact point, for its own staff (and the national office); those that show its
# people are audited.
OWN: dict[str, Any] = dict(roles=STAFF, kind="page", scope="contact_point")
PEOPLE: dict[str, Any] = dict(OWN, audit="contact_point")
CHANGE_GROUP: dict[str, Any] = dict(OWN, audit="group")


def contact_point_of(ports: Ports, contact_point_id: str) -> dict[str, Any]:
    """The contact point's directory entry, or its id as its name while the directory is away."""
    return optional(ports.directory.get_contact_point, contact_point_id) or {"name": contact_point_id}


def render_staff(
    ports: Ports, ctx: Context, template: str, contact_point_id: str, section: str, status: int = 200, **values: Any
) -> Response:
    """A staff page with the contact point's directory entry: its meeting places and starters
    fill the confirmation form, and the groups table names its places."""
    cp = contact_point_of(ports, contact_point_id)
    places = {m.get("meeting_place_id"): m.get("name") for m in cp.get("meeting_places") or []}
    starters = [s for s in cp.get("staff") or [] if s.get("role") == "starter"]
    values.setdefault("done", ctx.request.args.get("done"))  # what a redirect after an action says
    values.setdefault("done_ref", ctx.request.args.get("ref", "")[:8])
    return render(
        ctx,
        template,
        status=status,
        contact_point_id=contact_point_id,
        contact_point=cp,
        section=section,
        places=places,
        starters=starters,
        reject_reasons=domain.REJECT_REASONS,
        close_reasons=domain.CLOSE_REASONS,
        **values,
    )


def first_names(ports: Ports, ctx: Context, contact_point_id: str, groups: list[dict[str, Any]]) -> dict[str, str]:
    """The first names of the people in the contact point's proposals or groups, which its staff
    may read (registration checks it again); each person named gets an audit entry of their own.
    Without registration's answer, the page shows references."""
    ids = sorted({rid for group in groups for rid in group.get("registration_ids") or []})
    names = (optional(ports.registration.first_names, ids, contact_point_id, ctx.actor) or {}) if ids else {}
    ctx.named.extend(sorted(rid for rid in names if rid in ids))
    return {rid: name for rid, name in names.items() if rid in ids}


def _groups_page(
    ports: Ports, ctx: Context, contact_point_id: str, section: str, items: list[Any], status: int = 200, **values: Any
) -> Response:
    values.setdefault("errors", {})
    values.setdefault("form", {})
    return render_staff(
        ports,
        ctx,
        f"staff_{section}.html",
        contact_point_id,
        section,
        status=status,
        items=items,
        names=first_names(ports, ctx, contact_point_id, items),
        **values,
    )


@route("GET", f"{CP_PAGES}/pool", purpose="review pool", summary="the waiting pool", **PEOPLE)
def staff_pool(ports: Ports, ctx: Context, contact_point_id: str) -> Response:
    """References only: a person is named where a proposal or group of this contact point holds them."""
    items = ports.matching.pool(contact_point_id, ctx.actor)
    return render_staff(
        ports, ctx, "staff_pool.html", contact_point_id, "pool", items=items, subpools=domain.subpools(items)
    )


@route("GET", f"{CP_PAGES}/proposals", purpose="review proposals", summary="proposals to confirm or reject", **PEOPLE)
def staff_proposals(ports: Ports, ctx: Context, contact_point_id: str) -> Response:
    items = ports.matching.proposals(contact_point_id, ctx.actor)
    return _groups_page(
        ports, ctx, contact_point_id, "proposals", items, **_why_none(ports, ctx, contact_point_id, items)
    )


def _why_none(ports: Ports, ctx: Context, contact_point_id: str, items: list[Any]) -> dict[str, Any]:
    """With no proposal, why: who waits in which part of the waiting list, against the smallest group."""
    if items:
        return {}
    pool = optional(ports.matching.pool, contact_point_id, ctx.actor)
    return {"waiting": None if pool is None else domain.subpools(pool)}


@route("GET", f"{CP_PAGES}/groups", purpose="review groups", summary="confirmed and running groups", **PEOPLE)
def staff_groups(ports: Ports, ctx: Context, contact_point_id: str) -> Response:
    return _groups_page(ports, ctx, contact_point_id, "groups", ports.matching.groups(contact_point_id, ctx.actor))


def _proposals_again(
    ports: Ports, ctx: Context, contact_point_id: str, group_id: str, errors: dict[str, str]
) -> Response:
    """The proposals page with the decision about `group_id` that could not be made, and why."""
    return _groups_page(
        ports,
        ctx,
        contact_point_id,
        "proposals",
        ports.matching.proposals(contact_point_id, ctx.actor),
        status=400,
        errors=errors,
        form=ctx.request.form.to_dict(),
        failed_group=group_id,
    )


@route("POST", f"{CP_PAGES}/groups/<group_id>/confirm", **CHANGE_GROUP)
def staff_confirm(ports: Ports, ctx: Context, contact_point_id: str, group_id: str) -> Response:
    confirmation, errors = domain.confirmation_from_form(ctx.request.form)
    _, errors = send_form(errors, lambda: ports.matching.confirm_group(group_id, confirmation, ctx.actor))
    if errors:
        return _proposals_again(ports, ctx, contact_point_id, group_id, errors)
    return redirect(f"/staff/{contact_point_id}/groups?done=confirm&ref={group_id[:8]}", code=303)


@route("POST", f"{CP_PAGES}/groups/<group_id>/reject", **CHANGE_GROUP)
def staff_reject(ports: Ports, ctx: Context, contact_point_id: str, group_id: str) -> Response:
    reason, errors = domain.reason_from_form(ctx.request.form, domain.REJECT_REASONS)
    _, errors = send_form(errors, lambda: ports.matching.reject_group(group_id, reason, ctx.actor))
    if errors:
        return _proposals_again(ports, ctx, contact_point_id, group_id, errors)
    return redirect(f"/staff/{contact_point_id}/proposals?done=reject&ref={group_id[:8]}", code=303)


@route(
    "GET",
    f"{CP_PAGES}/acquaintances",
    purpose="record acquaintances",
    summary="record that two people know each other",
    **PEOPLE,
)
def staff_acquaintances(ports: Ports, ctx: Context, contact_point_id: str) -> Response:
    return _acquaintances_page(ports, ctx, contact_point_id, {}, {})


@route("POST", f"{CP_PAGES}/acquaintances", purpose="record acquaintances", **PEOPLE)
def staff_record_acquaintances(ports: Ports, ctx: Context, contact_point_id: str) -> Response:
    """Two people who know each other are never put in one group (matching keeps them apart)."""
    form = ctx.request.form
    a, b, errors = domain.acquaintances_from_form(form)
    _, errors = send_form(errors, lambda: ports.matching.record_acquaintances(a, b, ctx.actor))
    if not errors:
        return redirect(f"/staff/{contact_point_id}/acquaintances?done=acquaintances", code=303)
    return _acquaintances_page(ports, ctx, contact_point_id, form.to_dict(), errors, status=400)


def _acquaintances_page(
    ports: Ports, ctx: Context, contact_point_id: str, form: dict[str, Any], errors: dict[str, Any], status: int = 200
) -> Response:
    """The people to choose from: those waiting, and the members of the contact point's groups."""
    waiting = [p["registration_id"] for p in ports.matching.pool(contact_point_id, ctx.actor)]
    members = [
        (rid, g["group_id"])
        for g in ports.matching.groups(contact_point_id, ctx.actor)
        if g.get("state") != "closed"
        for rid in g.get("registration_ids") or []
    ]
    return render_staff(
        ports,
        ctx,
        "staff_acquaintances.html",
        contact_point_id,
        "acquaintances",
        status=status,
        waiting=waiting,
        members=members,
        form=form,
        errors=errors,
        done=ctx.request.args.get("done"),
    )


@route("GET", "/staff", roles=STAFF, kind="page")
def staff_home(ports: Ports, ctx: Context) -> Response:
    ids = (ctx.account or {}).get("contact_point_ids") or []
    if ctx.role == "contact_point_staff" and len(ids) == 1:
        return redirect(f"/staff/{ids[0]}/pool", code=303)
    listed = optional(ports.directory.list_contact_points, None, None, None) if ctx.role == "national_admin" else None
    if listed is None:
        listed = [{"contact_point_id": cp_id, **contact_point_of(ports, cp_id)} for cp_id in ids]
    return render(ctx, "staff_home.html", contact_points=listed)


@route("GET", f"{CP_PAGES}/directory", **OWN)
def directory_form(ports: Ports, ctx: Context, contact_point_id: str) -> Response:
    cp = ports.directory.get_contact_point(contact_point_id)
    return render_staff(
        ports,
        ctx,
        "staff_directory.html",
        contact_point_id,
        "directory",
        national=ctx.role == "national_admin",
        form=domain.contact_point_form(cp),
        errors={},
        saved=ctx.request.args.get("saved"),
    )


@route("POST", f"{CP_PAGES}/directory", **PEOPLE)
def directory_submit(ports: Ports, ctx: Context, contact_point_id: str) -> Response:
    """A partial change (`update_contact_point`): what the form does not show — meeting places,
    starters, address, e-mail — stays as the directory has it. Staff change only their own fields."""
    current = ports.directory.get_contact_point(contact_point_id)
    changes, errors = domain.contact_point_changes(ctx.request.form, national=ctx.role == "national_admin")
    _, errors = send_form(errors, lambda: ports.directory.update_contact_point(contact_point_id, changes, ctx.actor))
    if not errors:
        return redirect(f"/staff/{contact_point_id}/directory?saved=1", code=303)
    return render(
        ctx,
        "staff_directory.html",
        status=400,
        contact_point_id=contact_point_id,
        contact_point=current,
        national=ctx.role == "national_admin",
        form=ctx.request.form.to_dict(),
        errors=errors,
        section="directory",
        done=None,
    )
