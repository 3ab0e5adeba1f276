"""Routes: the directory's answer per person (cached), and what a contact point event changes."""

from services.common.envelope import Event

from .. import domain
from ..ports import Candidates, Doc, Ports, UnitOfWork
from .figures import note_routed


def route_preferences(profile: Doc) -> dict[str, bool]:
    return {"not_in_own_municipality": profile["not_in_own_municipality"], "digital_ok": profile["digital_ok"]}


def ask_directory(ports: Ports, profile: Doc) -> Candidates:
    return ports.directory.route(profile["municipality_number"], route_preferences(profile))


def cached_route(ports: Ports, profile: Doc) -> Candidates:
    """The directory's route candidates for this profile, reused from the route cache for people
    with the same municipality and preferences (one RPC per arrival otherwise). A cached answer
    whose first choice this service already knows to be closed is asked for again: the replica
    that handled the closing may not be this one, so its cache was not cleared."""
    key = (profile["municipality_number"], *sorted(route_preferences(profile).items()))
    candidates: Candidates = ports.routes.get_or_load(key, lambda: ask_directory(ports, profile))
    first = candidates[0].get("contact_point_id") if candidates else None
    if first is not None:
        known = ports.store.contact_point(first)
        if known is not None and not known.get("active", True):
            candidates = ask_directory(ports, profile)
            ports.routes.put(key, candidates)
    return candidates


def contact_point_changed(ports: Ports, event: Event) -> None:
    """contact_point_upserted or contact_point_deactivated: this replica's route cache is emptied,
    the newest revision kept, and if the contact point is closed its pool is routed again."""
    ports.routes.clear()
    track_contact_point(ports, event)
    reroute_if_closed(ports, event.data["contact_point_id"])


def track_contact_point(ports: Ports, event: Event) -> bool:
    """Keep the newest revision of a contact point; stale revisions are ignored."""
    data = event.data

    def change(uow: UnitOfWork) -> bool:
        current = ports.store.contact_point(data["contact_point_id"], uow)
        if current is not None and current["revision"] >= data["revision"]:
            return False
        merged = {**(current or {}), **data, "active": data.get("active", False)}
        merged.pop("_id", None)
        ports.store.save_contact_point(uow, merged)
        return True

    return bool(ports.store.apply(event, change))


def reroute_if_closed(ports: Ports, contact_point_id: str) -> int:
    """A contact point closed: everyone waiting there is routed again by the directory (keeping
    their place in the queue). Idempotent: once moved, nobody waits there, so a redelivered event
    finds nothing left to do."""
    store = ports.store
    contact_point = store.contact_point(contact_point_id)
    if contact_point is None or contact_point.get("active", True):
        return 0
    entries = store.entries_of_contact_point(contact_point_id)
    if not entries:
        return 0
    routes = {entry["_id"]: ask_directory(ports, entry["profile"]) for entry in entries}
    now = ports.clock.now()

    def change(uow: UnitOfWork) -> int:
        pools = set()
        for entry in entries:
            candidates = [c for c in routes[entry["_id"]] if c["contact_point_id"] != contact_point_id]
            route = domain.choose_route(candidates)
            rid = entry["_id"]
            if route is None:
                reason = domain.unroutable_reason(candidates)
                store.remove_waiting(uow, rid)
                store.record_unroutable(uow, rid, reason, now, entry["profile"])
                note_routed(ports, uow, rid, None)
                uow.emit("registration_unroutable", {"registration_id": rid, "reason": reason})
                continue
            moved = domain.waiting_entry(entry["profile"], route, candidates, now, ports.settings.widening_days, entry)
            store.put_waiting(uow, moved)
            note_routed(ports, uow, rid, route["contact_point_id"])
            pools.add(moved["home_pool"])
            reason = f"re-routed: {contact_point_id} closed; {route['reason']}"[:300]
            uow.emit("registration_waitlisted", domain.waitlisted_event(rid, route, reason))
        for pool in pools:
            store.mark_dirty(uow, pool)
        return len(entries)

    return store.transaction(change)
