"""Members leave a group (staff, withdrawal, erasure); a group below its minimum is refilled from
its pool, or, if it is only a proposal and cannot be refilled, dissolved."""

from datetime import datetime
from functools import partial
from typing import Any

from services.common.errors import Conflict, NotFound

from .. import domain, schemas
from ..ports import ClaimLost, Doc, Ports, UnitOfWork
from .lifecycle import close, group_for, stored_group, update_group, write_group
from .proposals import CLAIM_ATTEMPTS


def leave_group(ports: Ports, group_id: str, registration_id: str, actor: Any) -> Doc:
    group_id = schemas.check_id(group_id, "group_id")
    registration_id = schemas.check_id(registration_id, "registration_id")
    group = group_for(ports, group_id, actor)
    if registration_id not in group["members"]:
        raise NotFound(f"{registration_id!r} is not a member of {group_id!r}")
    if group["state"] in ("closed", "rejected"):
        raise Conflict(f"A {group['state']} group has no members to leave.")
    now = ports.clock.now()

    def change(uow: UnitOfWork) -> Doc:
        return remove_member(ports, uow, group, registration_id, "left", now, forget=True)

    updated = write_group(ports, change)
    after_member_left(ports, updated)
    return {"group_id": group_id, "registration_ids": updated["members"], "state": updated["state"]}


def remove_member(
    ports: Ports,
    uow: UnitOfWork,
    group: Doc,
    registration_id: str,
    reason: str,
    now: datetime,
    forget: bool = False,
) -> Doc:
    """Take one member out (group_member_left); `forget` also takes them out of every pool.
    Returns the group as it is now."""
    members = [m for m in group["members"] if m != registration_id]
    update_group(ports, uow, group, {"members": members})
    if forget:
        ports.store.remove_waiting(uow, registration_id)
    uow.emit(
        "group_member_left",
        {
            **domain.group_event(group),
            "registration_ids": members,
            "registration_id": registration_id,
            "reason": reason,
        },
    )
    return {**group, "members": members, "version": group["version"] + 1}


def after_member_left(ports: Ports, group: Doc) -> Doc:
    """Below its minimum: a confirmed group is refilled from the pool; a proposal that cannot
    be refilled is dissolved (its members back in the pool)."""
    if len(group["members"]) >= group["min_size"]:
        return group
    refilled = refill(ports, group)
    if refilled is not None and len(refilled["members"]) >= group["min_size"]:
        return refilled
    if group["state"] == "proposed":
        return close(ports, stored_group(ports, group["_id"]), "dissolved")
    return refilled or group


def refill(ports: Ports, group: Doc) -> Doc | None:
    """Fill the group up to its minimum from its pool (group_member_added per person), or None."""
    widening_days = ports.settings.widening_days
    for _ in range(CLAIM_ATTEMPTS):
        current = stored_group(ports, group["_id"])
        now = ports.clock.now()
        contact_point = ports.store.contact_point(current["contact_point_id"])
        settings = domain.pool_settings(current["pool"], contact_point, widening_days)
        member_entries = ports.store.entries(current["members"])
        entries = ports.store.pool_entries(current["pool"])
        everyone = [e["_id"] for e in member_entries + entries]
        members = [domain.person(e, current["pool"], now, widening_days) for e in member_entries]
        candidates = [domain.person(e, current["pool"], now, widening_days) for e in entries]
        acquaintances = ports.store.acquaintances_among(everyone)
        added = domain.refill_candidates(current, members, candidates, settings, acquaintances)
        if not added:
            return None
        versions = {e["_id"]: e["version"] for e in entries}
        try:
            return ports.store.transaction(partial(_add_members, ports, group=current, added=added, versions=versions))
        except (ClaimLost, Conflict):
            continue
    return None


def _add_members(ports: Ports, uow: UnitOfWork, group: Doc, added: list[str], versions: dict[str, int]) -> Doc:
    for rid in added:
        ports.store.claim(uow, rid, versions[rid], group["_id"])
    members = group["members"] + added
    update_group(ports, uow, group, {"members": members})
    for rid in added:
        uow.emit(
            "group_member_added", {**domain.group_event(group), "registration_ids": members, "registration_id": rid}
        )
    return {**group, "members": members}
