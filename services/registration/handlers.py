"""Use cases of registration: plain functions over the store, the directory proxy and the clock."""

from marshmallow import ValidationError
from nameko.exceptions import RemoteError
from pymongo.errors import DuplicateKeyError

from services.common import clock
from services.common.access import require_role
from services.common.contracts import RegistrationRequested
from services.common.errors import Conflict, InvalidInput, NotFound

from . import domain
from .schemas import CohortSubmission

PLACE_ERRORS = {
    "UnknownPostalCode": ("postal_code", "Unknown postal code."),
    "UnknownMunicipality": ("municipality_number", "Unknown municipality number."),
}


def lookup_place(directory, data):
    """The person's municipality (or non-municipal area), or InvalidInput naming the field."""
    try:
        if "postal_code" in data:
            return directory.municipality_for_postal_code(data["postal_code"])
        place = directory.municipality(data["municipality_number"])
        return {**place, "area": None}
    except RemoteError as exc:
        if exc.exc_type in PLACE_ERRORS:
            field, message = PLACE_ERRORS[exc.exc_type]
            raise InvalidInput({field: [message]}) from None
        raise


# --- registering ---------------------------------------------------------------------------------


def register(store, directory, data, event=None):
    """Store a validated intake once per idempotency key and emit registration_created.

    Returns `(registration_id, created)`. Raises InvalidInput for an unknown place, and for a
    conflicting reuse of a key or the key of an erased registration Conflict (by RPC) or
    InvalidInput on `idempotency_key` (from an event, with registration_rejected emitted).
    Nothing is stored on any error."""
    try:
        return register_all(store, directory, [data], event)[0]
    except InvalidInput as invalid:
        errors = invalid.errors.get("0", invalid.errors)
        if event is not None:
            reject(store, data.get("idempotency_key"), errors, event)
        elif list(errors) == ["idempotency_key"]:  # the key's format was checked before: a conflict
            raise Conflict(errors["idempotency_key"][0]) from None
        raise InvalidInput(errors) from None


def register_all(store, directory, items, event=None):
    """Register several validated intakes together (a course cohort): all or none.

    Errors are keyed by the item's position. Returns [(registration_id, created)] in order."""
    plans, errors = [], {}
    for position, data in enumerate(items):
        try:
            plans.append(_plan(store, directory, data))
        except InvalidInput as invalid:
            errors[str(position)] = invalid.errors
    if errors:
        raise InvalidInput(errors)
    fresh = [(data, place) for data, (kind, place) in zip(items, plans, strict=True) if kind == "new"]
    stored = iter(_store_new(store, fresh, event) if fresh else [])
    return [(value, False) if kind == "repeat" else next(stored) for kind, value in plans]


def _plan(store, directory, data):
    """('repeat', registration_id) for a key seen before, ('new', place) otherwise."""
    existing = store.by_idempotency_key(data["idempotency_key"])
    if existing is not None:
        return "repeat", _repeat_of(store, existing, data)
    if store.key_was_erased(data["idempotency_key"]):
        raise InvalidInput({"idempotency_key": [domain.KEY_ERASED]})
    return "new", lookup_place(directory, data)


def _repeat_of(store, existing, data):
    try:
        return domain.check_repeat(existing, store.vault.fingerprint(data))
    except domain.IdempotencyConflict:
        raise InvalidInput({"idempotency_key": [domain.KEY_REUSED]}) from None


def _store_new(store, items, event):
    """One transaction for all: each registration, its sealed contact and its registration_created."""
    vault = store.vault

    def change(uow):
        results = []
        for data, place in items:
            # A concurrent worker may have stored a key meanwhile. Alone, the unique index says so
            # (DuplicateKeyError below); in a cohort, the others must still be stored.
            again = store.by_idempotency_key(data["idempotency_key"], uow) if len(items) > 1 else None
            if again is not None:
                results.append((_repeat_of(store, again, data), False))
                continue
            registration, contact = domain.new_registration(
                data, place, clock.now(), vault.fingerprint(data), vault.same_person_lookups(data)
            )
            store.add(uow, registration, contact)
            uow.emit(
                "registration_created",
                {**domain.matching_profile(registration), "idempotency_key": registration["idempotency_key"]},
            )
            results.append((registration["_id"], True))
        return results

    try:
        outcome = store.apply(event, change) if event else store.transaction(change)
    except DuplicateKeyError:  # lost a race on the unique key: the winner's registration is the one
        return [
            (_repeat_of(store, store.by_idempotency_key(data["idempotency_key"]), data), False) for data, _ in items
        ]
    if outcome is None:  # this event was applied before
        return [(store.by_idempotency_key(data["idempotency_key"])["_id"], False) for data, _ in items]
    return outcome


def register_cohort(store, directory, submission, actor=None):
    """Several people from one course, registered together under one cohort id (all or none)."""
    try:
        loaded = CohortSubmission().load(submission)
    except ValidationError as exc:
        raise InvalidInput(exc.messages) from None
    items = [{**data, "cohort": loaded["cohort"]} for data in loaded["registrations"]]
    for data in items:
        domain.check_register_actor(actor, data)
    try:
        results = register_all(store, directory, items)
    except InvalidInput as invalid:
        raise InvalidInput({"registrations": invalid.errors}) from None
    return [{"registration_id": rid, "created": created} for rid, created in results]


def reject(store, idempotency_key, errors, event=None):
    """Tell the sending system why its intake was refused: field names and messages, no values."""
    key = idempotency_key if isinstance(idempotency_key, str) and 0 < len(idempotency_key) <= 128 else None
    data = {"idempotency_key": key, "errors": errors}
    change = lambda uow: uow.emit("registration_rejected", data)
    if event is not None and getattr(event, "event_id", None):
        store.apply(event, change)
    else:
        store.transaction(change)


def validate_intake(payload):
    try:
        return RegistrationRequested().load(payload)
    except ValidationError as exc:
        raise InvalidInput(exc.messages) from None


def intake_errors(invalid_event):
    """Field errors of an invalid intake event, at the level of the intake's own fields."""
    errors = invalid_event.errors
    return errors.get("data", errors) if isinstance(errors.get("data"), dict) else errors


def intake_key(invalid_event):
    body = invalid_event.body if isinstance(invalid_event.body, dict) else {}
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    return data.get("idempotency_key")


# --- reading -------------------------------------------------------------------------------------


def existing(store, registration_id):
    registration = store.get(registration_id)
    if registration is None:
        raise NotFound(f"no registration {registration_id}")
    return registration


def get_registration(store, registration_id, actor):
    registration = existing(store, registration_id)
    domain.require_staff_of(actor, registration)
    return domain.staff_view(registration, store.contact(registration_id) or {})


def contact_details(store, registration_id):
    registration, contact = existing(store, registration_id), store.contact(registration_id)
    if contact is None:
        raise NotFound(f"no registration {registration_id}")
    return domain.contact_for_notification(registration, contact)


def referral_statuses(store, actor):
    require_role(actor, "referrer")
    if not actor.get("referrer_id"):
        raise InvalidInput({"actor": {"referrer_id": ["A referrer needs a referrer_id."]}})
    return [domain.referral_view(registration) for registration in store.by_referrer(actor["referrer_id"])]


def referral_status(store, registration_id, actor):
    registration = existing(store, registration_id)
    domain.require_own_referral(actor, registration)
    return domain.referral_view(registration)


# --- withdrawal, return, erasure -----------------------------------------------------------------


def withdraw(store, registration_id, actor, reason):
    """Out of pools and groups (matching acts on registration_withdrawn); the record is kept."""
    who = domain.withdrawal_reason(actor, reason, existing(store, registration_id))

    def change(uow):
        current = _current(store, uow, registration_id)
        if current["status"] == domain.WITHDRAWN:
            return False
        store.update(uow, registration_id, {"status": domain.WITHDRAWN, "group_id": None, "withdrawn_by": who})
        uow.emit("registration_withdrawn", {"registration_id": registration_id, "reason": who})
        return True

    return {"registration_id": registration_id, "status": domain.WITHDRAWN, "changed": store.transaction(change)}


def come_back(store, registration_id, actor):
    """A withdrawn person returns: matching routes them again on registration_updated."""
    domain.require_may_act_for(actor, existing(store, registration_id))

    def change(uow):
        current = _current(store, uow, registration_id)
        if current["status"] != domain.WITHDRAWN:
            return False
        store.update(uow, registration_id, {"status": domain.REGISTERED, "withdrawn_by": None})
        uow.emit("registration_updated", domain.matching_profile(store.get(registration_id, uow)))
        return True

    return {"registration_id": registration_id, "changed": store.transaction(change)}


def erase(store, registration_id, actor, reason):
    domain.require_may_act_for(actor, existing(store, registration_id))
    return {
        "registration_id": registration_id,
        "erased": erase_now(store, registration_id, domain.check_erasure_reason(reason)),
    }


def erase_now(store, registration_id, reason):
    """Delete the person here and emit registration_erased, once: an erased id is simply gone."""

    def change(uow):
        current = store.get(registration_id, uow)
        if current is None:
            return False
        store.erase(uow, current, reason)
        uow.emit("registration_erased", {"registration_id": registration_id, "reason": reason})
        return True

    return store.transaction(change)


def erase_inactive(store, now, retention_days, batch=100):
    """The retention sweep: erase those inactive (withdrawn) for longer than the retention period.
    Idempotent: run it as often as you like; returns how many it erased."""
    cutoff = domain.retention_cutoff(now, retention_days)
    erased = 0
    while True:
        due = store.inactive_since(domain.INACTIVE_STATUSES, cutoff, batch)
        erased += sum(bool(erase_now(store, doc["_id"], "retention")) for doc in due)
        if len(due) < batch:
            return erased


def _current(store, uow, registration_id):
    current = store.get(registration_id, uow)
    if current is None:
        raise NotFound(f"no registration {registration_id}")
    return current


# --- following matching --------------------------------------------------------------------------


def follow_matching(store, event):
    """Keep each person's contact point and status as matching reports them (for staff checks and
    referrers). Nothing is recorded for an erased id."""
    data = event.data
    if event.event_type == "registration_waitlisted":
        ids, changes_for = [data["registration_id"]], lambda r: domain.after_waitlisted(r, data["contact_point_id"])
    elif event.event_type == "group_member_left":
        ids, changes_for = [data["registration_id"]], lambda r: domain.after_left(r, data["group_id"])
    else:  # group_confirmed, group_member_added
        ids = [data["registration_id"]] if "registration_id" in data else data["registration_ids"]
        changes_for = lambda r: domain.after_joined(r, data["group_id"], data["contact_point_id"])

    def change(uow):
        for registration_id in ids:
            current = store.get(registration_id, uow)
            changes = changes_for(current) if current is not None else None
            if changes:
                store.update(uow, registration_id, changes)

    store.apply(event, change)
