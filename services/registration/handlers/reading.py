"""Reading: what staff, referrers and notification may each see of a registration; anonymous
counts. A contact record sealed under an older key is re-sealed as it is read, and
`rotate_contact_keys` re-seals the rest at once."""

import re
from typing import Any

from services.common.access import may_see_contact_point, require_role
from services.common.errors import Forbidden, InvalidInput, NotFound

from .. import domain
from ..domain import Actor, Registration
from ..links import PERSONAL_PAGE
from ..ports import Ports, UnitOfWork
from .audit import audited


def existing(ports: Ports, registration_id: str, uow: UnitOfWork | None = None) -> Registration:
    """The registration (read inside `uow` when given), or NotFound."""
    registration = ports.store.get(registration_id, uow)
    if registration is None:
        raise NotFound(f"no registration {registration_id}")
    return registration


def get_registration(ports: Ports, registration_id: str, actor: Actor) -> dict[str, Any]:
    """Staff of the person's contact point, national_admin, or the person on their own page."""

    def work() -> dict[str, Any]:
        registration = existing(ports, registration_id)
        domain.require_person_or_staff(actor, registration)
        return domain.staff_view(registration, ports.store.contact(registration_id) or {})

    return audited(ports, "get_registration", registration_id, actor, work)


MAX_NAMED = 50


def first_names(ports: Ports, registration_ids: object, contact_point_id: str, actor: Actor) -> dict[str, str]:
    """{registration_id: first name} for staff of `contact_point_id` (or national_admin), of the
    people it waits with, has proposed a group of (widened ones included) or has in a group; others
    are left out. The gateway audits each name it shows."""
    if not may_see_contact_point(actor, contact_point_id):
        raise Forbidden("only staff of the contact point may read its people's first names")
    if not isinstance(registration_ids, list) or len(registration_ids) > MAX_NAMED:
        raise InvalidInput({"registration_ids": ["too_many"]})
    names = {}
    for registration_id in {rid for rid in registration_ids if isinstance(rid, str)}:
        registration = ports.store.get(registration_id)
        if registration and contact_point_id in domain.their_contact_points(registration):
            names[registration_id] = domain.first_name((ports.store.contact(registration_id) or {}).get("name"))
    return names


REFERENCE = re.compile(r"^[0-9a-f-]{4,36}$")


def find_by_reference(ports: Ports, reference: object, actor: Actor) -> list[dict[str, Any]]:
    """Staff search by a short reference (the start of an id, at least 4 characters): every match
    among the people their contact points wait with, have in a group or proposed a group of."""
    typed = reference.strip().lower() if isinstance(reference, str) else ""
    if not REFERENCE.match(typed):
        raise InvalidInput({"reference": ["invalid_reference"]})
    return [
        {"registration_id": r["_id"], "status": r["status"], "contact_point_id": r.get("contact_point_id")}
        for r in ports.store.by_id_prefix(typed)
        if any(may_see_contact_point(actor, cp) for cp in domain.their_contact_points(r))
    ]


def contact_details(ports: Ports, registration_id: str, actor: Actor) -> dict[str, Any]:
    """For notification at send time and the gateway's audited staff view only: contact details
    never travel on the bus. Every call leaves an entry in the log of contact reads. Notification
    also gets a fresh personal link, so a message can carry `<FLOKK_PUBLIC_BASE_URL>/me?t=<link_token>`;
    staff never do (a link would let them act as the person)."""
    outcome = "refused"
    try:
        domain.require_may_read_contact(actor)
        registration = existing(ports, registration_id)
        domain.require_may_read_contact(actor, registration)
        contact = ports.store.contact(registration_id)
        if contact is None:
            raise NotFound(f"no registration {registration_id}")
        outcome = "allowed"
        details = domain.contact_for_notification(registration, contact)
        if (actor or {}).get("role") == "service":
            details["link_token"] = ports.store.vault.mint_link(registration_id, PERSONAL_PAGE, ports.clock.now())
        return details
    except NotFound:
        outcome = "not_found"
        raise
    finally:
        ports.store.record_contact_read(domain.contact_read(actor, registration_id, outcome, ports.clock.now()))


def referral_statuses(ports: Ports, actor: Actor) -> list[dict[str, Any]]:
    require_role(actor, "referrer")
    referrer_id = (actor or {}).get("referrer_id")
    if not referrer_id:
        raise InvalidInput({"actor": {"referrer_id": ["required"]}})
    return [domain.referral_view(registration) for registration in ports.store.by_referrer(referrer_id)]


def referral_status(ports: Ports, registration_id: str, actor: Actor) -> dict[str, Any]:
    registration = existing(ports, registration_id)
    domain.require_own_referral(actor, registration)
    return domain.referral_view(registration)


def counts(ports: Ports) -> dict[str, int]:
    """Anonymous counts only: registered, and erased by reason."""
    return ports.store.counts()


def rotate_contact_keys(ports: Ports, actor: Actor) -> dict[str, int]:
    """Re-seal every contact record under the newest key (reads also do it one by one)."""
    require_role(actor, "national_admin")
    return {"rotated": ports.store.rotate_contacts()}
