"""The group lifecycle by staff (RPC): confirm, reject, advance (started, self-run), close. A
group changes by a versioned update; a lifecycle rule broken inside becomes InvalidInput or Conflict."""

from collections.abc import Callable
from typing import Any, TypeVar

from services.common.access import require_contact_point
from services.common.envelope import iso
from services.common.errors import Conflict, InvalidInput, NotFound

from .. import domain, life, schemas
from ..ports import Doc, Ports, UnitOfWork
from .figures import note_placed

T = TypeVar("T")


#: The stable code a Conflict's message starts with when staff act on a proposal that a re-solve
#: replaced (the exception crosses RPC as a plain Conflict, which the gateway answers with 409).
PROPOSAL_SUPERSEDED = "proposal_superseded"


def refuse_if_superseded(group: Doc) -> None:
    if group["state"] == "closed" and group.get("closed_reason") == "superseded":
        successors = ", ".join(group.get("superseded_by") or ()) or "a new proposal"
        raise Conflict(
            f"{PROPOSAL_SUPERSEDED}: proposal {group['_id']} was replaced by {successors}, "
            "which keeps all of its people; review that one instead."
        )


def stored_group(ports: Ports, group_id: str) -> Doc:
    group = ports.store.group(group_id)
    if group is None:
        raise NotFound(f"no group {group_id!r}")
    return group


def group_for(ports: Ports, group_id: str, actor: Any) -> Doc:
    """The group, if the actor may act on it (staff of its contact point), or NotFound/Forbidden."""
    group = stored_group(ports, group_id)
    require_contact_point(actor, group["contact_point_id"])
    return group


def write_group(ports: Ports, change: Callable[[UnitOfWork], T]) -> T:
    """Run a group change; a lifecycle rule broken inside becomes InvalidInput or Conflict."""
    try:
        return ports.store.transaction(change)
    except domain.RuleBroken as broken:
        if "state" in broken.field_errors:
            raise Conflict(broken.field_errors["state"][0]) from None
        raise InvalidInput(broken.field_errors) from None


def update_group(ports: Ports, uow: UnitOfWork, group: Doc, changes: Doc) -> None:
    if not ports.store.update_group(uow, group, changes):
        raise Conflict(f"group {group['_id']} changed meanwhile; reload and try again")


def confirm_group(ports: Ports, group_id: str, confirmation: Any, actor: Any) -> Doc:
    """The meeting place (asked of the directory) must suit everyone; group_confirmed goes out once,
    with the day the handover is planned for, if staff named one."""
    fields = schemas.load_confirmation(confirmation, ports.clock.now())
    group = group_for(ports, schemas.check_id(group_id, "group_id"), actor)
    refuse_if_superseded(group)
    if group["state"] != "proposed":
        raise Conflict(f"A {group['state']} group cannot be confirmed.")
    members = ports.store.entries(group["members"])
    needs = {entry["_id"]: entry["profile"].get("accessibility_needs") or [] for entry in members}
    places = ports.directory.get_contact_point(group["contact_point_id"]).get("meeting_places") or []
    try:
        domain.check_meeting_place(group, fields["meeting_place_id"], places, needs, fields["override_reason"])
    except domain.RuleBroken as broken:
        raise InvalidInput(broken.field_errors) from None
    now = ports.clock.now()

    planned = fields["handover_planned_on"].isoformat() if fields["handover_planned_on"] else None

    def change(uow: UnitOfWork) -> Doc:
        chosen = {key: fields[key] for key in ("meeting_place_id", "first_meeting_at", "starter_id")}
        stored = {**chosen, "handover_planned_on": planned, "override_reason": fields["override_reason"]}
        update_group(ports, uow, group, {**domain.transition(group, "confirmed", now), "confirmation": stored})
        note_placed(ports, uow, members, group, now)
        uow.emit(
            "group_confirmed",
            domain.group_event(
                group,
                **{**chosen, "first_meeting_at": iso(chosen["first_meeting_at"]), "handover_planned_on": planned},
            ),
        )
        return {"group_id": group_id, "state": "confirmed"}

    return write_group(ports, change)


def reject_group(ports: Ports, group_id: str, reason: str, actor: Any) -> Doc:
    """Members go back to the pool at their original place; this set is not proposed again."""
    group_id = schemas.check_id(group_id, "group_id")
    reason = schemas.check_reason(reason, schemas.REJECT_REASONS)
    group = group_for(ports, group_id, actor)
    refuse_if_superseded(group)
    now = ports.clock.now()
    store = ports.store

    def change(uow: UnitOfWork) -> Doc:
        update_group(ports, uow, group, {**domain.transition(group, "rejected", now), "rejected_reason": reason})
        for rid in group["members"]:
            store.release(uow, rid, ports.settings.widening_days)
        store.add_rejected(uow, group["pool"], group["members"])
        store.mark_dirty(uow, group["pool"])
        uow.emit("group_rejected", domain.group_event(group, reason=reason))
        return {"group_id": group_id, "state": "rejected"}

    return write_group(ports, change)


def advance_group(ports: Ports, group_id: str, to_state: str, actor: Any) -> Doc:
    """confirmed -> started (the starter holds the first meetings; group_started) -> self_run.
    Self-run this way is a handover with no check-in members and no schedule (record_handover
    names both)."""
    group_id = schemas.check_id(group_id, "group_id")
    if to_state not in ("started", "self_run"):
        raise InvalidInput({"state": ["not_one_of"]})
    group = group_for(ports, group_id, actor)
    if to_state == "self_run":
        return hand_over(ports, group, [], None)
    now = ports.clock.now()

    def change(uow: UnitOfWork) -> Doc:
        update_group(ports, uow, group, {**domain.transition(group, "started", now), "started_at": now})
        uow.emit("group_started", domain.group_event(group, started_at=iso(now)))
        return {"group_id": group_id, "state": "started"}

    return write_group(ports, change)


def hand_over(ports: Ports, group: Doc, checkin_ids: list[str], schedule: Doc | None) -> Doc:
    """started -> self_run: the starter leaves, the group runs itself (group_self_run)."""
    now = ports.clock.now()

    def change(uow: UnitOfWork) -> Doc:
        handed = {
            **group,
            **domain.transition(group, "self_run", now),
            "started_at": group.get("started_at") or now,
            "handover": {"handover_at": now, "checkin_registration_ids": checkin_ids},
            "schedule": schedule,
        }
        next_checkin = life.next_checkin_at(handed, [], ports.settings.checkin_months)
        changes = {key: handed[key] for key in ("state", "history", "started_at", "handover", "schedule")}
        update_group(ports, uow, group, {**changes, "next_checkin_at": next_checkin})
        uow.emit(
            "group_self_run",
            domain.group_event(group, handover_at=iso(now), checkin_registration_ids=checkin_ids, schedule=schedule),
        )
        return {"group_id": group["_id"], "state": "self_run"}

    return write_group(ports, change)


def close_group(ports: Ports, group_id: str, reason: str, actor: Any) -> Doc:
    group_id = schemas.check_id(group_id, "group_id")
    reason = schemas.check_reason(reason, schemas.CLOSE_REASONS)
    return close(ports, group_for(ports, group_id, actor), reason)


def close(ports: Ports, group: Doc, reason: str) -> Doc:
    """Close a group (staff, or a proposal dissolved); a proposal's members go back to the pool."""
    now = ports.clock.now()
    store = ports.store

    def change(uow: UnitOfWork) -> Doc:
        update_group(
            ports,
            uow,
            group,
            {**domain.transition(group, "closed", now), "closed_reason": reason, "next_checkin_at": None},
        )
        store.drop_comments_of_group(uow, group["_id"])  # the check-ins' free text goes with the group
        for rid in group["members"]:
            if group["state"] == "proposed":
                store.release(uow, rid, ports.settings.widening_days)
            else:
                store.remove_waiting(uow, rid)
        if group["state"] == "proposed":
            store.mark_dirty(uow, group["pool"])
        uow.emit("group_closed", domain.group_event(group, reason=reason))
        return {"group_id": group["_id"], "state": "closed"}

    return write_group(ports, change)
