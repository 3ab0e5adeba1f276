"""A contact point's meeting places, for its staff: add, change or remove a place, physical (an
address, a capacity, step-free access and the like) or digital (a video link). The whole list goes
to the directory as a partial change of the contact point. A digital place's video link is never
shown again, so a place changed without a new link is sent without one: the directory keeps it."""

from typing import Any

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from services.common.contracts import ACCESSIBILITY_FEATURES

from .. import domain
from ..context import Context
from ..pages import render, send_form
from ..ports import Document, Ports
from ..routes import STAFF, route

PLACES = "/staff/<contact_point_id>/directory/meeting-places"
OWN: dict[str, Any] = dict(roles=STAFF, kind="page", scope="contact_point")


def _page(
    ctx: Context,
    contact_point: Document,
    status: int = 200,
    errors: dict[str, Any] | None = None,
    failed: str | None = None,
) -> Response:
    return render(
        ctx,
        "staff_meeting_places.html",
        status=status,
        contact_point_id=contact_point["contact_point_id"],
        contact_point=contact_point,
        section="directory",
        places=contact_point.get("meeting_places") or [],
        features=ACCESSIBILITY_FEATURES,
        kinds=domain.PLACE_KINDS,
        errors=errors or {},
        form=ctx.request.form.to_dict() if errors else {},
        failed=failed,
        saved=ctx.request.args.get("saved"),
    )


def _save(ports: Ports, ctx: Context, contact_point_id: str, places: list[dict[str, Any]]) -> dict[str, Any]:
    """The places sent to the directory; its field errors in the page's words, or none."""
    change = {"meeting_places": places}
    _, errors = send_form({}, lambda: ports.directory.update_contact_point(contact_point_id, change, ctx.actor))
    return errors


@route("GET", PLACES, **OWN)
def meeting_places(ports: Ports, ctx: Context, contact_point_id: str) -> Response:
    return _page(ctx, ports.directory.get_contact_point(contact_point_id))


@route("POST", PLACES, **OWN)
def meeting_place_submit(ports: Ports, ctx: Context, contact_point_id: str) -> Response:
    """A new place (no `meeting_place_id` in the form) or a changed one."""
    current = ports.directory.get_contact_point(contact_point_id)
    places = current.get("meeting_places") or []
    place, errors = domain.meeting_place_from_form(ctx.request.form, places)
    if not errors:
        errors = _save(ports, ctx, contact_point_id, domain.places_with(places, place))
    if not errors:
        return redirect(f"/staff/{contact_point_id}/directory/meeting-places?saved=1", code=303)
    return _page(ctx, current, 400, errors, ctx.request.form.get("meeting_place_id") or "new")


@route("POST", f"{PLACES}/<meeting_place_id>/remove", **OWN)
def meeting_place_remove(ports: Ports, ctx: Context, contact_point_id: str, meeting_place_id: str) -> Response:
    current = ports.directory.get_contact_point(contact_point_id)
    places = current.get("meeting_places") or []
    errors = _save(ports, ctx, contact_point_id, domain.places_without(places, meeting_place_id))
    if not errors:
        return redirect(f"/staff/{contact_point_id}/directory/meeting-places?saved=removed", code=303)
    return _page(ctx, current, 400, errors, meeting_place_id)
