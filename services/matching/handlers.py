"""Use cases of matching: plain functions over the store and the directory's routing."""
from services.common.envelope import utc_now

from . import domain


def route_preferences(profile):
    return {"not_in_own_municipality": profile["not_in_own_municipality"], "digital_ok": profile["digital_ok"]}


def waitlist(store, event, candidates):
    """Put the person in the pool of the first contact point that can take them, or mark them
    unroutable (only the national office can take them)."""
    profile = event.data
    route = domain.choose_route(candidates)

    def change(uow):
        now = utc_now()
        if route is None:
            reason = candidates[-1]["reason"] if candidates else "no route"
            store.record_unroutable(uow, profile["registration_id"], reason, now)
            uow.emit("registration_unroutable", {"registration_id": profile["registration_id"], "reason": reason})
            return None
        store.put_waiting(uow, domain.waiting_entry(profile, route, now))
        uow.emit("registration_waitlisted", {
            "registration_id": profile["registration_id"], "contact_point_id": route["contact_point_id"],
            "route_kind": route["kind"], "reason": route["reason"]})
        return route

    return store.apply(event, change)


def forget(store, event):
    """Withdrawn or erased: out of every pool."""
    return store.apply(event, lambda uow: store.forget(uow, event.data["registration_id"]))


def track_contact_point(store, event):
    """Keep the newest revision of a contact point; stale revisions are ignored."""
    data = event.data

    def change(uow):
        if store.contact_point_revision(uow, data["contact_point_id"]) >= data["revision"]:
            return False
        store.save_contact_point(uow, data)
        return True

    return store.apply(event, change)
