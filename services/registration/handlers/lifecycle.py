"""A registration's status: withdrawal and return at a person's wish (the person on their page,
staff, or the referrer), and the contact point, group and status that matching reports (for staff
checks and referrers)."""

from typing import Any

from services.common.access import require_role
from services.common.envelope import Event, iso

from .. import domain
from ..domain import Actor
from ..ports import Ports, UnitOfWork
from .audit import audited
from .reading import existing


def withdraw(ports: Ports, registration_id: str, actor: Actor, reason: str) -> dict[str, Any]:
    """Out of pools and groups (matching acts on registration_withdrawn); the record is kept.
    A pause ends with it."""

    def work() -> dict[str, Any]:
        who = domain.withdrawal_reason(actor, reason, existing(ports, registration_id))

        def change(uow: UnitOfWork) -> bool:
            if existing(ports, registration_id, uow)["status"] == domain.WITHDRAWN:
                return False
            ports.store.update(
                uow,
                registration_id,
                {"status": domain.WITHDRAWN, "group_id": None, "withdrawn_by": who, "paused_until": None},
            )
            uow.emit("registration_withdrawn", {"registration_id": registration_id, "reason": who})
            return True

        changed = ports.store.transaction(change)
        return {"registration_id": registration_id, "status": domain.WITHDRAWN, "changed": changed}

    return audited(ports, "withdraw", registration_id, actor, work)


def come_back(ports: Ports, registration_id: str, actor: Actor) -> dict[str, Any]:
    """A withdrawn person returns: registration_resumed (came_back), and matching waitlists them
    again with the profile it kept, their place in the queue kept."""

    def work() -> dict[str, Any]:
        domain.require_may_act_for(actor, existing(ports, registration_id))

        def change(uow: UnitOfWork) -> bool:
            if existing(ports, registration_id, uow)["status"] != domain.WITHDRAWN:
                return False
            ports.store.update(uow, registration_id, {"status": domain.REGISTERED, "withdrawn_by": None})
            uow.emit("registration_resumed", {"registration_id": registration_id, "reason": "came_back"})
            return True

        return {"registration_id": registration_id, "changed": ports.store.transaction(change)}

    return audited(ports, "come_back", registration_id, actor, work)


def record_contact(ports: Ports, registration_id: str, purpose: object, actor: Actor) -> dict[str, Any]:
    """The national office contacted a person in its queue, for a purpose from a fixed list:
    noted (activity, for retention) and announced as registration_contacted (matching's queue
    shows it)."""
    require_role(actor, "national_admin")
    purpose = domain.check_contact_purpose(purpose)
    existing(ports, registration_id)
    now = ports.clock.now()

    def change(uow: UnitOfWork) -> None:
        changes = {"last_contact": {"at": now, "purpose": purpose}, domain.LAST_ACTIVITY: now}
        ports.store.update(uow, registration_id, changes)
        uow.emit("registration_contacted", {"registration_id": registration_id, "purpose": purpose})

    ports.store.transaction(change)
    return {"registration_id": registration_id, "purpose": purpose, "contacted_at": iso(now)}


def follow_matching(ports: Ports, event: Event) -> None:
    """Keep each person's contact point and status as matching reports them (registration_waitlisted,
    registration_unroutable, registration_assigned, group_proposed, group_rejected, group_closed,
    group_confirmed, group_member_added, group_member_left), and what that means for retention.
    Nothing is recorded for an erased id. An event about one person is applied to their
    registration alone, its ledger entry in the same document (one read and one write); a group's,
    in a transaction."""
    data, at = event.data, event.occurred_at
    if event.event_type == "group_proposed":  # its staff may read the first names (first_names)
        ids = data["registration_ids"]
        changes_for = lambda r: domain.after_proposed(r, data["group_id"], data["contact_point_id"])
    elif event.event_type == "group_rejected":
        ids, changes_for = data["registration_ids"], lambda r: domain.after_proposal_ended(r, data["group_id"])
    elif event.event_type == "group_closed":  # a proposal's mark ends; a group life too, unless superseded
        ids = data["registration_ids"]
        changes_for = lambda r: {
            **domain.after_proposal_ended(r, data["group_id"]),
            **domain.after_group_closed(r, data["group_id"], data["reason"], at),
        }
    elif event.event_type == "registration_waitlisted":
        ids, changes_for = [data["registration_id"]], lambda r: domain.after_waitlisted(r, data["contact_point_id"], at)
    elif event.event_type == "registration_unroutable":
        ids, changes_for = [data["registration_id"]], lambda r: domain.after_unroutable(r, at)
    elif event.event_type == "registration_assigned":
        ids = [data["registration_id"]]
        changes_for = lambda r: domain.after_assigned(r, data["contact_point_id"], at)
    elif event.event_type == "group_member_left":
        ids, changes_for = [data["registration_id"]], lambda r: domain.after_left(r, data["group_id"])
    else:  # group_confirmed, group_member_added (v2 says the group's state: a proposal is no place yet)
        ids = [data["registration_id"]] if "registration_id" in data else data["registration_ids"]
        state = data.get("group_state")
        changes_for = lambda r: domain.after_joined(r, data["group_id"], data["contact_point_id"], state)
    if len(ids) == 1:  # a first routing most likely finds the person just registered (one write, no read)
        first_routing = event.event_type in ("registration_waitlisted", "registration_unroutable")
        ports.store.follow(event.event_id, ids[0], changes_for, domain.JUST_REGISTERED if first_routing else None)
        return

    def change(uow: UnitOfWork) -> None:
        """One read of the group's people and one write per distinct change (a group's people
        mostly change alike): two operations instead of two per person (issue 19)."""
        alike: list[tuple[dict[str, Any], list[str]]] = []
        for current in ports.store.by_ids(ids, uow):
            changes = changes_for(current)
            if not changes:
                continue
            same = next((rids for known, rids in alike if known == changes), None)
            if same is None:
                alike.append((changes, [current["_id"]]))
            else:
                same.append(current["_id"])
        for changes, registration_ids in alike:
            ports.store.update_all(uow, registration_ids, changes)

    ports.store.apply(event, change)
