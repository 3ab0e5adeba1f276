"""One person's details, for staff: first they say why they need them (the audit entry's
purpose), then they may see them; withdraw or erase the person after a confirming step; settle
a flag that two registrations may be the same person; find people and groups by reference."""

from typing import Any

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from .. import domain
from ..context import Context, Refused
from ..pages import optional, render
from ..ports import Ports
from ..routes import STAFF, route
from .staff import contact_point_of, render_staff

A_PERSON = "/staff/<contact_point_id>/people/<registration_id>"
# The person's data: audited, for the staff of the person's contact point (registration re-checks).
PERSON: dict[str, Any] = dict(roles=STAFF, kind="page", scope="contact_point", audit="registration")
#: What staff can do to a person that cannot be undone by a click: asked again before it is done.
ACTIONS = ("withdraw", "erase")


def _person_page(ports: Ports, ctx: Context, contact_point_id: str, registration_id: str, **values: Any) -> Response:
    return render(
        ctx,
        "staff_person.html",
        contact_point_id=contact_point_id,
        registration_id=registration_id,
        contact_point=contact_point_of(ports, contact_point_id),
        section="pool",
        purposes=domain.PURPOSES,
        **values,
    )


@route("GET", A_PERSON, roles=STAFF, kind="page", scope="contact_point")
def person_purpose(ports: Ports, ctx: Context, contact_point_id: str, registration_id: str) -> Response:
    """Before any personal data is shown, staff say why: the answer goes to the audit log."""
    return _person_page(ports, ctx, contact_point_id, registration_id, person=None)


@route("GET", f"{A_PERSON}/details", purpose="case handling", **PERSON)
def person_details(ports: Ports, ctx: Context, contact_point_id: str, registration_id: str) -> Response:
    chosen = ctx.request.args.get("purpose")
    if chosen not in domain.PURPOSES:  # nothing was read: no audit entry
        raise Refused(redirect(f"/staff/{contact_point_id}/people/{registration_id}", code=303))
    ctx.purpose = chosen
    person = ports.registration.get_registration(registration_id, ctx.actor)
    deliveries = optional(ports.notification.deliveries, registration_id, ctx.actor)
    home = person.get("contact_point_id")
    return _person_page(
        ports,
        ctx,
        contact_point_id,
        registration_id,
        person=person,
        deliveries=deliveries,
        home=contact_point_of(ports, home) if home and home != contact_point_id else None,
        purpose=chosen,
        done=ctx.request.args.get("done"),
    )


@route("GET", f"{A_PERSON}/<action>", roles=STAFF, kind="page", scope="contact_point", path_example={"action": "erase"})
def person_confirm(ports: Ports, ctx: Context, contact_point_id: str, registration_id: str, action: str) -> Response:
    """The confirming step before a withdrawal or an erasure: what will happen, and a way back."""
    if action not in ACTIONS:
        raise Refused(redirect(f"/staff/{contact_point_id}/people/{registration_id}", code=303))
    return render_staff(
        ports,
        ctx,
        "confirm.html",
        contact_point_id,
        "pool",
        action=action,
        target=f"/staff/{contact_point_id}/people/{registration_id}/{action}",
        back=f"/staff/{contact_point_id}/people/{registration_id}",
        subject_ref=registration_id[:8],
    )


@route("POST", f"{A_PERSON}/withdraw", **PERSON)
def person_withdraw(ports: Ports, ctx: Context, contact_point_id: str, registration_id: str) -> Response:
    ctx.purpose = "withdraw requested"
    ports.registration.withdraw(registration_id, ctx.actor, "staff")
    return redirect(f"/staff/{contact_point_id}/pool?done=withdraw&ref={registration_id[:8]}", code=303)


@route("POST", f"{A_PERSON}/erase", **PERSON)
def person_erase(ports: Ports, ctx: Context, contact_point_id: str, registration_id: str) -> Response:
    ctx.purpose = "erase requested"
    ports.registration.erase(registration_id, ctx.actor, "request")
    return redirect(f"/staff/{contact_point_id}/pool?done=erase&ref={registration_id[:8]}", code=303)


@route("POST", f"{A_PERSON}/duplicates/<other_id>", path_example={"other_id": "reg-2"}, **PERSON)
def person_not_duplicate(
    ports: Ports, ctx: Context, contact_point_id: str, registration_id: str, other_id: str
) -> Response:
    """Staff settle a possible-duplicate flag: two people after all, who may share a group again."""
    ctx.purpose = "duplicate resolved"
    ports.registration.resolve_duplicate(registration_id, other_id, ctx.actor)
    back = f"/staff/{contact_point_id}/people/{registration_id}/details?purpose=correction&done=duplicate"
    return redirect(back, code=303)


@route(
    "GET",
    "/staff/<contact_point_id>/search",
    roles=STAFF,
    kind="page",
    scope="contact_point",
    audit="contact_point",
    purpose="find by reference",
    summary="find people and groups by their short reference",
)
def search(ports: Ports, ctx: Context, contact_point_id: str) -> Response:
    """Every person and group of the contact point whose id starts with the reference typed."""
    typed = ctx.request.args.get("reference", "").strip()[:36]
    people, groups = [], []
    if typed:
        people = optional(ports.registration.find_by_reference, typed, ctx.actor) or []
        people = [p for p in people if domain.matches_reference(p.get("registration_id"), typed)]
        for read in (ports.matching.proposals, ports.matching.groups):
            found = optional(read, contact_point_id, ctx.actor) or []
            groups += [g for g in found if domain.matches_reference(g.get("group_id"), typed)]
    return render_staff(
        ports, ctx, "staff_search.html", contact_point_id, "search", reference=typed, people=people, groups=groups
    )
