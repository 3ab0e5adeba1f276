"""Contact points: create, change, deactivate, read and list them, and the open directory's view
of them (what anyone may read, signed in or not)."""

from collections.abc import Callable
from typing import Any

from services.common.access import require_contact_point, require_role
from services.common.contact_point_input import national_only_changes
from services.common.errors import Conflict, InvalidInput, NotFound

from .. import domain
from ..ports import ContactPoint, Ports, UnitOfWork
from ..schemas import ContactPointInput, ContactPointQuery
from .payloads import load

Actor = dict[str, Any] | None
#: `decide(current) -> (doc, changed)`: the contact point to store, and whether it changed.
Decision = Callable[[ContactPoint | None], tuple[ContactPoint, bool]]
#: Who creates, deactivates and changes any contact point: the national office, and the project's
#: tools (the seed script signs as `ops`). Staff change only their own, and only STAFF_FIELDS.
WRITERS = ("national_admin", "ops")


def authorise(actor: Actor, contact_point_id: str, creating: bool = False) -> None:
    """Every write has a (verified) actor: writers do anything; staff change only their own."""
    if creating or (actor or {}).get("role") not in ("contact_point_staff",):
        require_role(actor, *WRITERS)
    else:
        require_contact_point(actor, contact_point_id)


def check_staff_fields(actor: Actor, current: ContactPoint | None, fields: dict[str, Any]) -> None:
    """Staff may change only the fields of STAFF_FIELDS, and create nothing: a field error for
    each other field they tried to change."""
    if (actor or {}).get("role") in WRITERS:
        return
    if current is None:
        require_role(actor, *WRITERS)
    errors = national_only_changes(domain.input_of(current or {}), fields)
    if errors:
        raise InvalidInput(errors)


def _write(ports: Ports, contact_point_id: str, decide: Decision, deactivating: bool = False) -> dict[str, Any]:
    """Run `decide` in one transaction; store and announce a change (an upsert, even of an
    inactive contact point, as contact_point_upserted)."""

    def change(uow: UnitOfWork) -> ContactPoint:
        doc, changed = decide(ports.store.current(uow, contact_point_id))
        if changed:
            ports.store.save(uow, doc)
            if deactivating:
                uow.emit("contact_point_deactivated", domain.deactivated_event(doc))
            else:
                uow.emit("contact_point_upserted", domain.upserted_event(doc, ports.reference))
        return doc

    return domain.public_view(ports.store.transaction(change), ports.reference)


def _not_found(contact_point_id: str) -> NotFound:
    return NotFound(f"no contact point {contact_point_id!r}")


def checked(ports: Ports, payload: object) -> dict[str, Any]:
    """The payload loaded, its parent (if it names one) a contact point the directory knows."""
    fields = load(ContactPointInput(), payload)
    parent = fields.get("parent_contact_point_id")
    if parent and ports.store.contact_point(parent) is None:
        raise InvalidInput({"parent_contact_point_id": ["unknown_contact_point"]})
    return fields


def upsert_contact_point(ports: Ports, payload: object, actor: Actor) -> dict[str, Any]:
    fields = checked(ports, payload)
    authorise(actor, fields["contact_point_id"])
    now = ports.clock.now()

    def decide(current: ContactPoint | None) -> tuple[ContactPoint, bool]:
        check_staff_fields(actor, current, fields)
        return domain.next_version(current, domain.keeping_video_links(current, fields), now)

    return _write(ports, fields["contact_point_id"], decide)


def create_contact_point(ports: Ports, payload: object, actor: Actor) -> dict[str, Any]:
    fields = checked(ports, payload)
    authorise(actor, fields["contact_point_id"], creating=True)
    now = ports.clock.now()

    def decide(current: ContactPoint | None) -> tuple[ContactPoint, bool]:
        if current is not None:
            raise Conflict(f"contact point {fields['contact_point_id']!r} exists already")
        return domain.next_version(None, fields, now)

    return _write(ports, fields["contact_point_id"], decide)


def update_contact_point(ports: Ports, contact_point_id: str, changes: object, actor: Actor) -> dict[str, Any]:
    """Lay `changes` over the stored contact point; the result is validated as a whole."""
    authorise(actor, contact_point_id)
    if isinstance(changes, dict) and changes.get("contact_point_id", contact_point_id) != contact_point_id:
        raise InvalidInput({"contact_point_id": ["cannot_change"]})
    now = ports.clock.now()

    def decide(current: ContactPoint | None) -> tuple[ContactPoint, bool]:
        if current is None:
            raise _not_found(contact_point_id)
        if not isinstance(changes, dict):
            raise InvalidInput({"_schema": ["invalid"]})
        check_staff_fields(actor, current, changes)
        loaded = checked(ports, domain.with_changes(current, changes))
        return domain.next_version(current, domain.keeping_video_links(current, loaded), now)

    return _write(ports, contact_point_id, decide)


def deactivate_contact_point(ports: Ports, contact_point_id: str, actor: Actor) -> dict[str, Any]:
    require_role(actor, *WRITERS)  # `active` is the national office's

    def decide(current: ContactPoint | None) -> tuple[ContactPoint, bool]:
        if current is None:
            raise _not_found(contact_point_id)
        return domain.deactivated(current, ports.clock.now())

    return _write(ports, contact_point_id, decide, deactivating=True)


def get_contact_point(ports: Ports, contact_point_id: str) -> dict[str, Any]:
    doc = ports.store.contact_point(contact_point_id)
    if doc is None:
        raise _not_found(contact_point_id)
    return domain.public_view(doc, ports.reference)


def _matching(
    ports: Ports, municipality_number: str | None, county_number: str | None, kind: str | None
) -> list[ContactPoint]:
    """The stored contact points that match every filter given, by id."""
    query = load(
        ContactPointQuery(), {"municipality_number": municipality_number, "county_number": county_number, "kind": kind}
    )
    found = [cp for cp in ports.store.contact_points() if domain.matches(cp, ports.reference, **query)]
    return sorted(found, key=lambda cp: cp["contact_point_id"])


def list_contact_points(
    ports: Ports, municipality_number: str | None = None, county_number: str | None = None, kind: str | None = None
) -> list[dict[str, Any]]:
    """The contact points that match every filter given, by id, as `get_contact_point` shows them."""
    return [
        domain.public_view(cp, ports.reference) for cp in _matching(ports, municipality_number, county_number, kind)
    ]


def open_contact_point(ports: Ports, contact_point_id: str) -> dict[str, Any]:
    """What anyone may read of an active contact point (domain.OPEN_FIELDS); NotFound otherwise."""
    doc = ports.store.contact_point(contact_point_id)
    if doc is None or not doc["active"]:
        raise _not_found(contact_point_id)
    return domain.open_view(doc, ports.reference)


def open_contact_points(
    ports: Ports, municipality_number: str | None = None, county_number: str | None = None, kind: str | None = None
) -> list[dict[str, Any]]:
    """The active contact points that match every filter given, as the open directory shows them."""
    found = _matching(ports, municipality_number, county_number, kind)
    return [domain.open_view(cp, ports.reference) for cp in found if cp["active"]]
