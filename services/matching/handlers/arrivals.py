"""People arrive (registration created or updated, or back after withdrawing) and leave (withdrawn
or erased)."""

import logging

from services.common.envelope import Event

from .. import cohorts, domain
from ..ports import Doc, Ports, UnitOfWork
from .cohorts import form_if_complete, gathering
from .figures import note_left, note_registered
from .membership import after_member_left, remove_member
from .proposals import RESOLVE_DELAY, propose_pool
from .routing import cached_route

log = logging.getLogger(__name__)


def waitlist(ports: Ports, event: Event) -> str | None:
    """Put the person in the pool of the first contact point that can take them (keeping their
    place in the queue on an update), or mark them unroutable; then try to place them. Under the
    online policy the pool is also marked for a re-solve a little later (design §4.13). Returns
    the pool they wait in, if any."""
    return arrive(ports, event, event.data)


def arrive(ports: Ports, event: Event, profile: Doc, returning: Doc | None = None) -> str | None:
    """Route `profile` and waitlist it. `returning`: what was kept of a person who withdrew
    (their place in the queue), who is announced again (registration_waitlisted) wherever they wait.
    A member of a course cohort still gathering waits in the cohort's pool, at its contact point."""
    cohort = gathering(ports, profile)
    candidates = [cohorts.route(cohort)] if cohort else cached_route(ports, profile)
    route = domain.choose_route(candidates)
    now = ports.clock.now()
    store = ports.store

    def change(uow: UnitOfWork) -> str | None:
        rid = profile["registration_id"]
        entry_now, erased = store.arrival_entry(rid, domain.erasure_tombstone(rid), uow)
        if erased:
            return None  # erased before this event was handled: never back in a pool
        previous = returning or entry_now
        if returning is not None:
            store.drop_withdrawn(uow, rid)
        in_group = previous is not None and previous.get("group_id") is not None
        group_contact_point = previous["contact_point_id"] if previous is not None and in_group else None
        if route is None:
            reason = domain.unroutable_reason(candidates)
            store.record_unroutable(uow, rid, reason, now, profile)
            if previous is not None and not in_group:
                store.remove_waiting(uow, rid)
            note_registered(ports, uow, profile, group_contact_point)
            uow.emit("registration_unroutable", {"registration_id": rid, "reason": reason})
            return None
        if in_group:
            store.update_profile(uow, rid, profile)
            note_registered(ports, uow, profile, group_contact_point)
            return None
        entry = domain.waiting_entry(profile, route, candidates, now, ports.settings.widening_days, previous)
        if cohort is not None:
            entry = cohorts.in_cohort_pool(entry, cohort)
        store.put_waiting(uow, entry)
        if note_registered(ports, uow, profile, route["contact_point_id"]):
            store.remove_unroutable(uow, rid)  # someone not seen before is in no national office queue
        if ports.settings.online and not entry["held"]:
            store.mark_dirty(uow, entry["home_pool"], now + RESOLVE_DELAY)
        if returning is not None or previous is None or previous["contact_point_id"] != entry["contact_point_id"]:
            uow.emit("registration_waitlisted", domain.waitlisted_event(rid, route, route["reason"]))
        home_pool: str | None = None if entry["held"] else entry["home_pool"]
        return home_pool

    pool = store.apply(event, change)
    if cohort is not None:
        form_if_complete(ports, cohort["_id"])
    elif pool is not None:
        propose_pool(ports, pool, newcomer=profile["registration_id"])
    return pool


def forget(ports: Ports, event: Event, reason: str) -> None:
    """Withdrawn or erased: out of every pool and group; erasure also drops acquaintance pairs.
    What a withdrawn person's return needs is kept apart (their profile and place in the queue);
    a withdrawal overtaken on the bus by the person's return is ignored."""
    rid = event.data["registration_id"]
    now = ports.clock.now()
    store = ports.store

    def change(uow: UnitOfWork) -> Doc | None:
        """The group the person left, if they were in one that is still going."""
        left = None
        entry = store.entry(rid, uow)
        if reason == "withdrawn" and domain.is_stale(entry, event.occurred_at):
            return None
        if entry is not None and entry["group_id"]:
            group = store.group(entry["group_id"], uow)
            if group is not None and group["state"] not in ("closed", "rejected"):
                left = remove_member(ports, uow, group, rid, reason, now)
        kept = entry or store.unroutable_entry(rid, uow)
        store.forget(uow, rid)
        note_left(ports, uow, rid, now)
        if reason == "erased":
            store.forget_acquaintances(uow, rid)
            store.drop_comments_by(uow, rid)  # what they wrote in check-ins goes with them
            store.mark_erased(uow, domain.erasure_tombstone(rid))
        elif kept is not None and kept.get("profile"):
            store.keep_withdrawn(uow, domain.withdrawn_record(kept, event.occurred_at))
        return left

    left = store.apply(event, change)
    if left:
        after_member_left(ports, left)


def come_back(ports: Ports, event: Event) -> str | None:
    """registration_resumed (came_back): waitlisted again from the profile kept at withdrawal,
    their place in the queue kept. Came back before the withdrawal reached matching: nothing to
    undo, but the entry notes it, so that withdrawal is ignored when it comes."""
    rid = event.data["registration_id"]
    kept = ports.store.withdrawn_entry(rid)
    if kept is not None:
        return arrive(ports, event, kept["profile"], returning={**kept, "status_at": event.occurred_at})

    def note(uow: UnitOfWork) -> None:
        entry = ports.store.entry(rid, uow)
        if entry is None:
            log.warning("came back, but matching kept no profile", extra={"registration_id": rid})
        elif not domain.is_stale(entry, event.occurred_at):
            ports.store.put_waiting(uow, {**entry, "status_at": event.occurred_at})

    ports.store.apply(event, note)
    return None
