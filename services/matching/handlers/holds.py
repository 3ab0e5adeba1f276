"""A person's break (issue 13): registration_paused holds them out of every pool, keeping their
place in the queue; registration_resumed (the pause ended or was cancelled) puts them back. The
days paused count toward neither widening nor waiting. Events overtaken on the bus by a newer
pause, resume or withdrawal of the same person are ignored (`domain.is_stale`)."""

from services.common.envelope import Event

from .. import domain
from ..ports import Doc, Ports, UnitOfWork
from .arrivals import come_back
from .figures import note_paused
from .membership import after_member_left, remove_member
from .proposals import propose_pool


def pause(ports: Ports, event: Event) -> None:
    """Hold the person. A proposal they were in loses them (group_member_left, then refilled or
    dissolved); a confirmed group keeps them: registration refuses that pause, and one that
    crossed the confirmation on the bus gives way to the group."""
    rid = event.data["registration_id"]
    paused_until = domain.moment(event.data["paused_until"])
    now = ports.clock.now()
    store = ports.store

    def change(uow: UnitOfWork) -> Doc | None:
        entry = store.entry(rid, uow)
        if entry is None or domain.is_stale(entry, event.occurred_at):
            return None
        left = None
        if entry["group_id"]:
            group = store.group(entry["group_id"], uow)
            if group is not None and group["state"] != "proposed":
                store.put_waiting(uow, {**entry, "status_at": event.occurred_at})
                return None
            if group is not None:
                left = remove_member(ports, uow, group, rid, "left", now)
            entry = {**entry, "group_id": None}
        store.put_waiting(uow, domain.hold(entry, now, paused_until, event.occurred_at))
        return left

    left = store.apply(event, change)
    if left:
        after_member_left(ports, left)


def resume(ports: Ports, event: Event) -> str | None:
    """Back in the pools (pause ended or cancelled), or back from a withdrawal (came_back);
    then placed if a group fits. Returns the pool the person waits in again, if any."""
    if event.data["reason"] == "came_back":
        return come_back(ports, event)
    rid = event.data["registration_id"]
    now = ports.clock.now()
    store = ports.store

    def change(uow: UnitOfWork) -> str | None:
        entry = store.entry(rid, uow)
        if entry is None or domain.is_stale(entry, event.occurred_at):
            return None
        if entry.get("held") != "paused":
            store.put_waiting(uow, {**entry, "status_at": event.occurred_at})
            return None
        released = domain.release_hold(entry, now, ports.settings.widening_days, event.occurred_at)
        store.put_waiting(uow, released)
        note_paused(ports, uow, rid, released["paused_seconds"])
        for pool in released["pools"]:
            store.mark_dirty(uow, pool)
        home_pool: str = released["home_pool"]
        return home_pool

    pool = store.apply(event, change)
    if pool is not None:
        propose_pool(ports, pool, newcomer=rid)
    return pool
