"""Members leave a group (staff, the member themselves, withdrawal, erasure); a group below its
minimum is refilled from its pool as its state allows (life.may_grow: a self-run group only when
its last check-in asked for new members), or, if it is only a proposal and cannot be refilled,
dissolved."""

import logging
from datetime import datetime
from functools import partial
from typing import Any

from services.common.access import is_participant
from services.common.envelope import iso
from services.common.errors import Conflict, NotFound

from .. import domain, life, schemas
from ..ports import ClaimLost, Doc, Ports, UnitOfWork
from .figures import note_left, note_placed
from .lifecycle import close, group_for, stored_group, update_group, write_group
from .proposals import CLAIM_ATTEMPTS

log = logging.getLogger(__name__)


def leave_group(ports: Ports, group_id: str, registration_id: str, actor: Any) -> Doc:
    """Staff take a member out, or a member leaves (a participant actor for their own id)."""
    group_id = schemas.check_id(group_id, "group_id")
    registration_id = schemas.check_id(registration_id, "registration_id")
    group = (
        stored_group(ports, group_id) if is_participant(actor, registration_id) else group_for(ports, group_id, actor)
    )
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
    changes: Doc = {"members": members}
    if registration_id in life.checkin_members(group):
        named = [rid for rid in group["handover"]["checkin_registration_ids"] if rid != registration_id]
        changes["handover"] = {**group["handover"], "checkin_registration_ids": named}
    update_group(ports, uow, group, changes)
    if forget:
        ports.store.remove_waiting(uow, registration_id)
        note_left(ports, uow, registration_id, now)
    uow.emit(
        "group_member_left",
        {
            **domain.group_event(group),
            "registration_ids": members,
            "registration_id": registration_id,
            "reason": reason,
        },
    )
    return {**group, **changes, "version": group["version"] + 1}


def after_member_left(ports: Ports, group: Doc) -> Doc:
    """Below its minimum: a group that may grow is refilled from the pool; a proposal that cannot
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
    """Fill the group up to its minimum from its pool (group_member_added per person), or None.
    Once confirmed, only people its meeting place suits, and no more than it holds."""
    widening_days = ports.settings.widening_days
    for _ in range(CLAIM_ATTEMPTS):
        current = stored_group(ports, group["_id"])
        if not life.may_grow(current, ports.store.checkins_of(current["_id"])):
            return None
        now = ports.clock.now()
        contact_point = ports.store.contact_point(current["contact_point_id"])
        settings = domain.pool_settings(current["pool"], contact_point, widening_days)
        member_entries = ports.store.entries(current["members"])
        entries = ports.store.pool_entries(current["pool"])
        room = None
        if current["state"] != "proposed":
            place = _meeting_place(ports, current)
            if place is None:
                return None
            entries = [e for e in entries if domain.place_suits(place, e["profile"].get("accessibility_needs") or [])]
            room = domain.room_left(place, life.seats_needed(current, 0))
        everyone = [e["_id"] for e in member_entries + entries]
        members = [domain.person(e, current["pool"], now, widening_days) for e in member_entries]
        candidates = [domain.person(e, current["pool"], now, widening_days) for e in entries]
        acquaintances = ports.store.acquaintances_among(everyone)
        added = domain.refill_candidates(current, members, candidates, settings, acquaintances)
        added = added if room is None else added[:room]
        if not added:
            return None
        versions = {e["_id"]: e["version"] for e in entries}
        try:
            return ports.store.transaction(partial(_add_members, ports, group=current, added=added, versions=versions))
        except (ClaimLost, Conflict):
            continue
    return None


def _meeting_place(ports: Ports, group: Doc) -> Doc | None:
    """The place the group meets at now, from the directory; None if it cannot say (no one is added)."""
    place_id = life.meeting_place_of(group)
    try:
        places = ports.directory.get_contact_point(group["contact_point_id"]).get("meeting_places") or []
    except Exception as exc:  # the directory does not answer: refilling waits for the next leaver
        log.warning("no meeting place to check a refill against", extra={"error": type(exc).__name__})
        return None
    found: Doc | None = next((p for p in places if p.get("meeting_place_id") == place_id), None)
    return found


def _add_members(ports: Ports, uow: UnitOfWork, group: Doc, added: list[str], versions: dict[str, int]) -> Doc:
    """Claim each newcomer; group_member_added says what their invitation must tell of the group now."""
    for rid in added:
        ports.store.claim(uow, rid, versions[rid], group["_id"])
    if group["state"] != "proposed":  # a group that runs: the newcomers' wait ends now
        note_placed(ports, uow, ports.store.entries(added, uow), group, ports.clock.now())
    members = group["members"] + added
    update_group(ports, uow, group, {"members": members})
    next_meeting = life.next_meeting_at(group, ports.clock.now())
    for rid in added:
        uow.emit(
            "group_member_added",
            {
                **domain.group_event(group),
                "registration_ids": members,
                "registration_id": rid,
                "group_state": group["state"],
                "schedule": group.get("schedule"),
                "next_meeting_at": iso(next_meeting) if next_meeting else None,
            },
        )
    return {**group, "members": members}
