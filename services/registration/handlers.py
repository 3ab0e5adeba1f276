"""Use cases of registration: plain functions over the store, the directory proxy and the clock."""
from marshmallow import ValidationError
from nameko.exceptions import RemoteError

from services.common.contracts import RegistrationRequested
from services.common.envelope import utc_now
from services.common.errors import InvalidInput

from . import domain

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


def register(store, directory, data, event=None):
    """Store a validated intake once per idempotency key and emit registration_created.

    Returns `(registration_id, created)`. Raises InvalidInput (with the rejection emitted when
    the intake came as an event) for an unknown place or a conflicting reuse of a key."""
    existing = store.by_idempotency_key(data["idempotency_key"])
    if existing is not None:
        return _repeat(store, existing, data, event), False
    place = lookup_place_or_reject(store, directory, data, event)

    def change(uow):
        again = store.by_idempotency_key(data["idempotency_key"], uow)
        if again is not None:
            return domain.check_repeat(again, data), False
        registration, contact = domain.new_registration(data, place, utc_now())
        store.add(uow, registration, contact)
        uow.emit("registration_created", {**domain.matching_profile(registration),
                                          "idempotency_key": registration["idempotency_key"]})
        return registration["_id"], True

    try:
        outcome = store.apply(event, change) if event else store.transaction(change)
    except domain.IdempotencyConflict:
        return _repeat(store, store.by_idempotency_key(data["idempotency_key"]), data, event), False
    if outcome is None:  # this event was applied before
        return store.by_idempotency_key(data["idempotency_key"])["_id"], False
    return outcome


def lookup_place_or_reject(store, directory, data, event):
    try:
        return lookup_place(directory, data)
    except InvalidInput as invalid:
        if event is not None:
            reject(store, data.get("idempotency_key"), invalid.errors, event)
        raise


def _repeat(store, existing, data, event):
    try:
        return domain.check_repeat(existing, data)
    except domain.IdempotencyConflict:
        errors = {"idempotency_key": ["This key was used before with a different registration."]}
        if event is not None:
            reject(store, data["idempotency_key"], errors, event)
        raise InvalidInput(errors) from None


def reject(store, idempotency_key, errors, event=None):
    """Tell the sending system why its intake was refused: field names and messages, no values."""
    key = idempotency_key if isinstance(idempotency_key, str) and 0 < len(idempotency_key) <= 128 else None
    data = {"idempotency_key": key, "errors": errors}
    change = lambda uow: uow.emit("registration_rejected", data)  # noqa: E731
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
