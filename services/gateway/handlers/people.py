"""One person's details, for staff: first they say why they need them (the audit entry's
purpose), then they may see them, and withdraw or erase the person."""

from typing import Any

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from .. import domain
from ..context import Context, Refused
from ..pages import optional, render
from ..ports import Ports
from ..routes import STAFF, route

A_PERSON = "/staff/<contact_point_id>/people/<registration_id>"
# The person's data: audited, for the staff of the person's contact point (registration re-checks).
PERSON: dict[str, Any] = dict(roles=STAFF, kind="page", scope="contact_point", audit="registration")


def _person_page(ctx: Context, contact_point_id: str, registration_id: str, **values: Any) -> Response:
    return render(
        ctx,
        "staff_person.html",
        contact_point_id=contact_point_id,
        registration_id=registration_id,
        contact_point={"name": contact_point_id},
        section="pool",
        purposes=domain.PURPOSES,
        **values,
    )


@route("GET", A_PERSON, roles=STAFF, kind="page", scope="contact_point")
def person_purpose(ports: Ports, ctx: Context, contact_point_id: str, registration_id: str) -> Response:
    """Before any personal data is shown, staff say why: the answer goes to the audit log."""
    return _person_page(ctx, contact_point_id, registration_id, person=None)


@route("GET", f"{A_PERSON}/details", purpose="case handling", **PERSON)
def person_details(ports: Ports, ctx: Context, contact_point_id: str, registration_id: str) -> Response:
    chosen = ctx.request.args.get("purpose")
    if chosen not in domain.PURPOSES:  # nothing was read: no audit entry
        raise Refused(redirect(f"/staff/{contact_point_id}/people/{registration_id}", code=303))
    ctx.purpose = chosen
    person = ports.registration.get_registration(registration_id, ctx.actor)
    deliveries = optional(ports.notification.deliveries, registration_id, ctx.actor)
    return _person_page(
        ctx,
        contact_point_id,
        registration_id,
        person=person,
        deliveries=deliveries,
        done=ctx.request.args.get("done"),
    )


@route("POST", f"{A_PERSON}/withdraw", **PERSON)
def person_withdraw(ports: Ports, ctx: Context, contact_point_id: str, registration_id: str) -> Response:
    ctx.purpose = "withdraw requested"
    ports.registration.withdraw(registration_id, ctx.actor, "staff")
    return redirect(f"/staff/{contact_point_id}/pool?done=withdraw", code=303)


@route("POST", f"{A_PERSON}/erase", **PERSON)
def person_erase(ports: Ports, ctx: Context, contact_point_id: str, registration_id: str) -> Response:
    ctx.purpose = "erase requested"
    ports.registration.erase(registration_id, ctx.actor, "request")
    return redirect(f"/staff/{contact_point_id}/pool?done=erase", code=303)
