"""Registering: an intake from another system (an event) or by RPC, one person or a course cohort.

Each idempotency key registers once: a repeat of the same payload answers with the registration
stored before; another payload under the key, or the key of an erased registration, is refused.
Nothing is stored on any error.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from marshmallow import Schema, ValidationError

from services.common.contracts import RegistrationRequested
from services.common.envelope import Event
from services.common.errors import Conflict, InvalidInput, coded
from services.common.errors import invalid as coded_invalid

from .. import domain
from ..domain import Actor, Intake, Place, Registration
from ..ports import KeyTaken, Ports, UnitOfWork, UnknownMunicipality, UnknownPostalCode
from ..schemas import CohortSubmission
from .cohorts import with_cohort_checked
from .duplicates import flag_possible_duplicates
from .personal import flag_avoiders

if TYPE_CHECKING:
    from services.common.delivery import InvalidEvent

#: (registration_id, created): created is False for a key registered before.
Outcome = tuple[str, bool]


def take_intake(ports: Ports, event: "Event | InvalidEvent") -> None:
    """registration_requested from the intake system. An intake that fails its contract, names an
    unknown place or misuses its key is answered with registration_rejected (field errors, no
    values); for the latter two this raises InvalidInput too, as retrying cannot help."""
    if not isinstance(event, Event):  # failed its contract: delivery dead-letters it afterwards
        reject(ports, _intake_key(event), _intake_errors(event))
        return
    register_validated(ports, event.data, event)


def register(ports: Ports, payload: Mapping[str, Any], actor: Actor = None) -> dict[str, Any]:
    """By RPC: one person. Raises InvalidInput per field, Conflict for a key misused."""
    data = _loaded(RegistrationRequested(), payload)
    domain.check_register_actor(actor, data)
    registration_id, created = register_validated(ports, with_cohort_checked(ports, data))
    return {"registration_id": registration_id, "created": created}


def register_cohort(ports: Ports, submission: Mapping[str, Any], actor: Actor = None) -> list[dict[str, Any]]:
    """Several people from one course, registered together under one cohort id (all or none)."""
    loaded = _loaded(CohortSubmission(), submission)
    items = [{**data, "cohort": loaded["cohort"]} for data in loaded["registrations"]]
    for data in items:
        domain.check_register_actor(actor, data)
    try:
        results = register_all(ports, items)
    except InvalidInput as invalid:
        raise InvalidInput({"registrations": invalid.errors}) from None
    return [{"registration_id": rid, "created": created} for rid, created in results]


def register_validated(ports: Ports, data: Intake, event: Event | None = None) -> Outcome:
    """Store a validated intake once per idempotency key and emit registration_created.

    Raises InvalidInput for an unknown place, and for a conflicting reuse of a key or the key of
    an erased registration Conflict (by RPC) or InvalidInput on `idempotency_key` (from an event,
    with registration_rejected emitted)."""
    try:
        return register_all(ports, [data], event)[0]
    except InvalidInput as invalid:
        errors = invalid.errors.get("0", invalid.errors)
        if event is not None:
            reject(ports, data.get("idempotency_key"), errors, event)
        elif list(errors) == ["idempotency_key"]:  # the key's format was checked before: a conflict
            raise Conflict(errors["idempotency_key"][0]) from None
        raise InvalidInput(errors) from None


def register_all(ports: Ports, items: list[Intake], event: Event | None = None) -> list[Outcome]:
    """Register several validated intakes together (a course cohort): all or none.

    Errors are keyed by the item's position. Returns the outcomes in order."""
    plans, errors = [], {}
    for position, data in enumerate(items):
        try:
            plans.append(_plan(ports, data))
        except InvalidInput as invalid:
            errors[str(position)] = invalid.errors
    if errors:
        raise InvalidInput(errors)
    fresh = [(data, place) for data, (kind, place) in zip(items, plans, strict=True) if kind == "new"]
    stored = iter(_store_new(ports, fresh, event) if fresh else [])
    return [(value, False) if kind == "repeat" else next(stored) for kind, value in plans]


def reject(ports: Ports, idempotency_key: object, errors: dict[str, Any], event: Event | None = None) -> None:
    """Tell the sending system why its intake was refused: field names and messages, no values."""
    key = idempotency_key if isinstance(idempotency_key, str) and 0 < len(idempotency_key) <= 128 else None
    data = {"idempotency_key": key, "errors": errors}
    change = lambda uow: uow.emit("registration_rejected", data)
    if event is not None and event.event_id:
        ports.store.apply(event, change)
    else:
        ports.store.transaction(change)


def lookup_place(ports: Ports, data: Intake) -> Place:
    """The person's municipality (or non-municipal area), or InvalidInput naming the field."""
    try:
        if "postal_code" in data:
            return ports.directory.municipality_for_postal_code(data["postal_code"])
        return {**ports.directory.municipality(data["municipality_number"]), "area": None}
    except UnknownPostalCode:
        raise InvalidInput({"postal_code": ["unknown_postal_code"]}) from None
    except UnknownMunicipality:
        raise InvalidInput({"municipality_number": ["unknown_municipality"]}) from None


def _plan(ports: Ports, data: Intake) -> tuple[str, Any]:
    """('new', place) for a key not erased; ('repeat', registration_id) for a key seen before whose
    place cannot be looked up now. A key is not looked up first: the unique index on it tells a
    repeat when the registration is stored (`_store_new`), one read fewer per registration."""
    if ports.store.key_was_erased(data["idempotency_key"]):
        raise InvalidInput({"idempotency_key": [domain.KEY_ERASED]})
    try:
        return "new", lookup_place(ports, data)
    except InvalidInput:
        existing = ports.store.by_idempotency_key(data["idempotency_key"])
        if existing is None:
            raise
        return "repeat", _repeat_of(ports, existing, data)


def _repeat_of(ports: Ports, existing: Registration, data: Intake) -> str:
    try:
        return domain.check_repeat(existing, ports.store.vault.fingerprint(data))
    except domain.IdempotencyConflict:
        raise InvalidInput({"idempotency_key": [domain.KEY_REUSED]}) from None


def _holder(ports: Ports, data: Intake) -> Registration:
    """The registration stored under the intake's key, which the store has just said exists."""
    holder = ports.store.by_idempotency_key(data["idempotency_key"])
    if holder is None:  # erased in the meantime: the next delivery or call decides afresh
        raise LookupError("the registration holding an idempotency key is gone")
    return holder


def _store_new(ports: Ports, items: list[tuple[Intake, Place]], event: Event | None) -> list[Outcome]:
    """One transaction for all: each registration, its sealed contact and its registration_created."""
    store, vault = ports.store, ports.store.vault

    def change(uow: UnitOfWork) -> list[Outcome]:
        results = []
        for data, place in items:
            # A concurrent worker may have stored a key meanwhile. Alone, the store says so
            # (KeyTaken below); in a cohort, the others must still be stored.
            again = store.by_idempotency_key(data["idempotency_key"], uow) if len(items) > 1 else None
            if again is not None:
                results.append((_repeat_of(ports, again, data), False))
                continue
            registration, contact = domain.new_registration(
                data, place, ports.clock.now(), vault.fingerprint(data), vault.same_person_lookups(data)
            )
            registration = store.add(uow, registration, contact)
            flag_possible_duplicates(uow, registration)  # before matching can plan with the new one
            uow.emit(
                "registration_created",
                {**domain.matching_profile(registration), "idempotency_key": registration["idempotency_key"]},
            )
            flag_avoiders(ports, uow, registration)
            results.append((registration["_id"], True))
        return results

    try:
        outcome = store.apply(event, change) if event else store.transaction(change)
    except KeyTaken:  # lost a race on the unique key: the winner's registration is the one
        return [(_repeat_of(ports, _holder(ports, data), data), False) for data, _ in items]
    if outcome is None:  # this event was applied before
        return [(_holder(ports, data)["_id"], False) for data, _ in items]
    return outcome


def _loaded(schema: Schema, payload: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return schema.load(payload)
    except ValidationError as exc:
        raise coded_invalid(exc.messages) from None


def _intake_errors(invalid_event: "InvalidEvent") -> dict[str, Any]:
    """Field errors of an invalid intake event, at the level of the intake's own fields."""
    errors = invalid_event.errors
    return coded(errors.get("data", errors) if isinstance(errors.get("data"), dict) else errors)


def _intake_key(invalid_event: "InvalidEvent") -> object:
    body = invalid_event.body if isinstance(invalid_event.body, dict) else {}
    data = body.get("data")
    return data.get("idempotency_key") if isinstance(data, dict) else None
