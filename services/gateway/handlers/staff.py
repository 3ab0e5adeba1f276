"""The pages of contact point staff (and the national office): the waiting pool, proposals to
confirm or reject, groups, and the contact point's directory entry."""

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
        done=ctx.request.args.get("done"),
        done_ref=ctx.request.args.get("ref", "")[:8],
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


@route("POST", f"{CP_PAGES}/groups/<group_id>/confirm", **OWN)
def staff_confirm(ports: Ports, ctx: Context, contact_point_id: str, group_id: str) -> Response:
    confirmation, errors = domain.confirmation_from_form(ctx.request.form)
    _, errors = send_form(errors, lambda: ports.matching.confirm_group(group_id, confirmation, ctx.actor))
    if errors:
        return _proposals_again(ports, ctx, contact_point_id, group_id, errors)
    return redirect(f"/staff/{contact_point_id}/groups?done=confirm&ref={group_id[:8]}", code=303)


@route("POST", f"{CP_PAGES}/groups/<group_id>/reject", **OWN)
def staff_reject(ports: Ports, ctx: Context, contact_point_id: str, group_id: str) -> Response:
    reason, errors = domain.rejection_from_form(ctx.request.form)
    _, errors = send_form(errors, lambda: ports.matching.reject_group(group_id, reason, ctx.actor))
    if errors:
        return _proposals_again(ports, ctx, contact_point_id, group_id, errors)
    return redirect(f"/staff/{contact_point_id}/proposals?done=reject&ref={group_id[:8]}", code=303)


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
        form=domain.contact_point_form(cp),
        errors={},
        saved=ctx.request.args.get("saved"),
    )


@route("POST", f"{CP_PAGES}/directory", **OWN)
def directory_submit(ports: Ports, ctx: Context, contact_point_id: str) -> Response:
    """A partial change (`update_contact_point`): what the form does not show — meeting places,
    starters, address, e-mail — stays as the directory has it."""
    current = ports.directory.get_contact_point(contact_point_id)
    changes, errors = domain.contact_point_changes(ctx.request.form)
    _, errors = send_form(errors, lambda: ports.directory.update_contact_point(contact_point_id, changes, ctx.actor))
    if not errors:
        return redirect(f"/staff/{contact_point_id}/directory?saved=1", code=303)
    return render(
        ctx,
        "staff_directory.html",
        status=400,
        contact_point_id=contact_point_id,
        contact_point=current,
        form=ctx.request.form.to_dict(),
        errors=errors,
        section="directory",
        done=None,
    )
