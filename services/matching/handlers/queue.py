"""The national office's queue: the people no contact point can take (docs/design.md §4.1), how long they
have waited and why. The national office finds one by the short reference in its e-mail, assigns
them to a contact point (registration_assigned, then registration_waitlisted, so the person gets a
new receipt), and its contacts with them are noted here from registration_contacted."""

import re
from datetime import datetime
from typing import Any

from services.common.access import require_role
from services.common.envelope import Event, iso
from services.common.errors import Conflict, InvalidInput, NotFound

from .. import domain, figures, schemas
from ..ports import Doc, Ports, UnitOfWork
from .figures import note_routed
from .proposals import propose_pool

#: What the national office types to find a person: the start of a registration id (its e-mail
#: gives the first 8 characters).
REFERENCE = re.compile(r"^[0-9a-f-]{1,36}$")


def national_queue(ports: Ports, reference: str | None, actor: Any) -> list[Doc]:
    """Everyone in the queue, longest-waiting first; with `reference`, those whose id starts so."""
    require_role(actor, "national_admin")
    wanted = (reference or "").strip().lower()
    if wanted and not REFERENCE.match(wanted):
        raise InvalidInput({"reference": ["invalid_reference"]})
    now = ports.clock.now()
    entries = [entry for entry in ports.store.unroutable_entries() if entry["_id"].startswith(wanted)]
    views = [queue_view(entry, now) for entry in entries]
    return sorted(views, key=lambda view: (view["registered_at"], view["registration_id"]))


def queue_view(entry: Doc, now: datetime) -> Doc:
    """One queued person as the national office sees them: ids, place and wishes, no themes."""
    profile = entry.get("profile") or {}
    registered = profile.get("registered_at") or entry["since"]
    number = profile.get("municipality_number")
    contact = entry.get("contact")
    return {
        "registration_id": entry["_id"],
        "reference": entry["_id"][:8],
        "registered_at": iso(registered),
        "waited_days": figures.waited_days(registered, now),
        "reason": entry["reason"],
        "reason_code": domain.unroutable_reason_code(profile),
        "municipality_number": number,
        "county_number": number[:2] if number else None,
        "area": profile.get("area"),
        "role": profile.get("role"),
        "language": (profile.get("languages") or [None])[0],
        "digital_ok": bool(profile.get("digital_ok")),
        "not_in_own_municipality": bool(profile.get("not_in_own_municipality")),
        "last_contact": {"at": iso(contact["at"]), "purpose": contact["purpose"]} if contact else None,
    }


def assign_from_queue(ports: Ports, registration_id: str, contact_point_id: str, actor: Any) -> Doc:
    """Move a queued person to a contact point's pool, keeping their place in the queue there
    (they wait from when they registered); then try to place them."""
    require_role(actor, "national_admin")
    registration_id = schemas.check_id(registration_id, "registration_id")
    contact_point_id = schemas.check_id(contact_point_id, "contact_point_id")
    store = ports.store
    queued = store.unroutable_entry(registration_id)
    if queued is None:
        raise NotFound(f"{registration_id!r} is not in the national office's queue")
    profile = queued.get("profile")
    if not profile:
        raise Conflict("this person was queued before profiles were kept; ask them to register again")
    try:
        domain.check_assignment(profile, store.contact_point(contact_point_id))
    except domain.RuleBroken as broken:
        raise InvalidInput(broken.field_errors) from None
    route = {"kind": "contact_point", "contact_point_id": contact_point_id, "reason": domain.ASSIGNED_REASON}
    now = ports.clock.now()

    def change(uow: UnitOfWork) -> str:
        if store.remove_unroutable(uow, registration_id) == 0:
            raise Conflict(f"{registration_id!r} left the queue meanwhile")
        entry = domain.waiting_entry(profile, route, [], now, ports.settings.widening_days)
        store.put_waiting(uow, entry)
        note_routed(ports, uow, registration_id, contact_point_id)
        uow.emit("registration_assigned", {"registration_id": registration_id, "contact_point_id": contact_point_id})
        uow.emit("registration_waitlisted", domain.waitlisted_event(registration_id, route, domain.ASSIGNED_REASON))
        pool: str = entry["home_pool"]
        return pool

    propose_pool(ports, store.transaction(change), newcomer=registration_id)
    return {"registration_id": registration_id, "contact_point_id": contact_point_id, "status": "waiting"}


def note_contact(ports: Ports, event: Event) -> None:
    """registration_contacted: the queue shows when the national office last reached the person, and why."""
    data = event.data
    contact = {"at": event.occurred_at, "purpose": data["purpose"]}
    ports.store.apply(event, lambda uow: ports.store.note_contact(uow, data["registration_id"], contact))
