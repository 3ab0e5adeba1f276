"""People arrive (registration created or updated) and leave (withdrawn or erased)."""

from services.common.envelope import Event

from .. import domain
from ..ports import Doc, Ports, UnitOfWork
from .membership import after_member_left, remove_member
from .proposals import propose_pool
from .routing import cached_route


def waitlist(ports: Ports, event: Event) -> str | None:
    """Put the person in the pool of the first contact point that can take them (keeping their
    place in the queue on an update), or mark them unroutable; then try to place them. Returns
    the pool they wait in, if any."""
    profile = event.data
    candidates = cached_route(ports, profile)
    route = domain.choose_route(candidates)
    now = ports.clock.now()
    store = ports.store

    def change(uow: UnitOfWork) -> str | None:
        rid = profile["registration_id"]
        if store.is_erased(domain.erasure_tombstone(rid), uow):
            return None  # erased before this event was handled: never back in a pool
        previous = store.entry(rid, uow)
        if route is None:
            reason = domain.unroutable_reason(candidates)
            store.record_unroutable(uow, rid, reason, now)
            if previous is not None and previous["group_id"] is None:
                store.remove_waiting(uow, rid)
            uow.emit("registration_unroutable", {"registration_id": rid, "reason": reason})
            return None
        if previous is not None and previous["group_id"] is not None:
            store.update_profile(uow, rid, profile)
            return None
        entry = domain.waiting_entry(profile, route, candidates, now, ports.settings.widening_days, previous)
        store.put_waiting(uow, entry)
        if previous is None or previous["contact_point_id"] != entry["contact_point_id"]:
            uow.emit("registration_waitlisted", domain.waitlisted_event(rid, route, route["reason"]))
        home_pool: str = entry["home_pool"]
        return home_pool

    pool = store.apply(event, change)
    if pool is not None:
        propose_pool(ports, pool, newcomer=profile["registration_id"])
    return pool


def forget(ports: Ports, event: Event, reason: str) -> None:
    """Withdrawn or erased: out of every pool and group; erasure also drops acquaintance pairs."""
    rid = event.data["registration_id"]
    now = ports.clock.now()
    store = ports.store

    def change(uow: UnitOfWork) -> Doc | None:
        """The group the person left, if they were in one that is still going."""
        left = None
        entry = store.entry(rid, uow)
        if entry is not None and entry["group_id"]:
            group = store.group(entry["group_id"], uow)
            if group is not None and group["state"] not in ("closed", "rejected"):
                left = remove_member(ports, uow, group, rid, reason, now)
        store.forget(uow, rid)
        if reason == "erased":
            store.forget_acquaintances(uow, rid)
            store.mark_erased(uow, domain.erasure_tombstone(rid))
        return left

    left = store.apply(event, change)
    if left:
        after_member_left(ports, left)
