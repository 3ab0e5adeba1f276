"""Use cases of the directory: plain functions over its store and the reference data."""

from marshmallow import ValidationError

from services.common.access import require_contact_point, require_role
from services.common.errors import Conflict, InvalidInput, NotFound

from . import domain
from .schemas import ContactPointInput


def load(schema, payload):
    """The payload as `schema` loads it, or InvalidInput with the field-level errors."""
    if not isinstance(payload, dict):
        raise InvalidInput({"_schema": ["Expected a JSON object."]})
    try:
        return schema.load(payload)
    except ValidationError as exc:
        raise InvalidInput(exc.messages) from None


def authorise(actor, contact_point_id, creating=False):
    """No actor: a trusted caller inside the cluster (the seed script, other services). With an
    actor (the gateway passes one): national_admin creates; staff change only their own."""
    if actor is None:
        return
    if creating:
        require_role(actor, "national_admin")
    else:
        require_contact_point(actor, contact_point_id)


def _write(store, reference, contact_point_id, decide, deactivating=False):
    """Run `decide(current) -> (doc, changed)` in one transaction; store and announce a change
    (an upsert, even of an inactive contact point, as contact_point_upserted)."""

    def change(uow):
        doc, changed = decide(store.current(uow, contact_point_id))
        if changed:
            store.save(uow, doc)
            if deactivating:
                uow.emit("contact_point_deactivated", domain.deactivated_event(doc))
            else:
                uow.emit("contact_point_upserted", domain.upserted_event(doc, reference))
        return doc

    return domain.public_view(store.transaction(change), reference)


def upsert(store, reference, payload, actor=None):
    fields = load(ContactPointInput(), payload)
    authorise(actor, fields["contact_point_id"])
    return _write(store, reference, fields["contact_point_id"], lambda current: domain.next_version(current, fields))


def create(store, reference, payload, actor=None):
    fields = load(ContactPointInput(), payload)
    authorise(actor, fields["contact_point_id"], creating=True)

    def decide(current):
        if current is not None:
            raise Conflict(f"contact point {fields['contact_point_id']!r} exists already")
        return domain.next_version(None, fields)

    return _write(store, reference, fields["contact_point_id"], decide)


def update(store, reference, contact_point_id, changes, actor=None):
    """Lay `changes` over the stored contact point; the result is validated as a whole."""
    authorise(actor, contact_point_id)
    if isinstance(changes, dict) and changes.get("contact_point_id", contact_point_id) != contact_point_id:
        raise InvalidInput({"contact_point_id": ["Cannot be changed."]})

    def decide(current):
        if current is None:
            raise NotFound(f"no contact point {contact_point_id!r}")
        if not isinstance(changes, dict):
            raise InvalidInput({"_schema": ["Expected a JSON object."]})
        return domain.next_version(current, load(ContactPointInput(), domain.with_changes(current, changes)))

    return _write(store, reference, contact_point_id, decide)


def deactivate(store, reference, contact_point_id, actor=None):
    authorise(actor, contact_point_id)

    def decide(current):
        if current is None:
            raise NotFound(f"no contact point {contact_point_id!r}")
        return domain.deactivated(current)

    return _write(store, reference, contact_point_id, decide, deactivating=True)


def get(store, reference, contact_point_id):
    doc = store.contact_point(contact_point_id)
    if doc is None:
        raise NotFound(f"no contact point {contact_point_id!r}")
    return domain.public_view(doc, reference)
