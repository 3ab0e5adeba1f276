"""Acquaintances: two people who know each other are never proposed together. Staff record them;
registration flags pairs too (a person's list of people not to meet), kept apart from the staff's,
so clearing a flagged pair never removes a pair staff recorded."""

from typing import Any

from services.common.access import require_contact_point
from services.common.envelope import Event
from services.common.errors import InvalidInput, NotFound

from .. import domain, schemas
from ..ports import Doc, Ports, UnitOfWork


def record_acquaintances(ports: Ports, registration_id_a: str, registration_id_b: str, actor: Any) -> Doc:
    """Record the pair; staff of each person's contact point only. Says whether the two already
    share a group."""
    a = schemas.check_id(registration_id_a, "registration_id_a")
    b = schemas.check_id(registration_id_b, "registration_id_b")
    if a == b:
        raise InvalidInput({"registration_id_b": ["same_person"]})
    entries = {e["_id"]: e for e in ports.store.entries([a, b])}
    for field_name, rid in (("registration_id_a", a), ("registration_id_b", b)):
        if rid not in entries:
            raise NotFound(f"{field_name}: no one waiting or in a group with id {rid!r}")
        require_contact_point(actor, _contact_point_of(ports, entries[rid]))
    now = ports.clock.now()
    ports.store.transaction(lambda uow: ports.store.add_acquaintances(uow, a, b, now))
    together = entries[a]["group_id"] if entries[a]["group_id"] == entries[b]["group_id"] else None
    return {"registration_ids": sorted((a, b)), "recorded": True, "same_group": together}


def _contact_point_of(ports: Ports, entry: Doc) -> str:
    """Where the person is now: their group's contact point, or the one they wait with."""
    if entry["group_id"]:
        group = ports.store.group(entry["group_id"])
        if group is not None:
            contact_point_id: str = group["contact_point_id"]
            return contact_point_id
    contact_point_id = entry["contact_point_id"]
    return contact_point_id


def pair_flagged(ports: Ports, event: Event) -> None:
    a, b = event.data["registration_ids"]
    now = ports.clock.now()
    ports.store.apply(event, lambda uow: ports.store.add_flagged_pair(uow, a, b, event.data["reason"], now))


def pair_cleared(ports: Ports, event: Event) -> None:
    """The pair may share a group again: the pools they wait in are planned again."""
    a, b = event.data["registration_ids"]

    def change(uow: UnitOfWork) -> None:
        ports.store.clear_flagged_pair(uow, a, b, event.data["reason"])
        for entry in ports.store.entries([a, b], uow):
            for pool in domain.pools_of(entry) if entry["group_id"] is None and not entry.get("held") else []:
                ports.store.mark_dirty(uow, pool)

    ports.store.apply(event, change)
