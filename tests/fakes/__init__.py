"""In-memory fakes of the services' own store ports, for unit tests (no mocks of our own code)."""

import uuid


class FakeUnitOfWork:
    def __init__(self, source):
        self.source = source
        self.emitted = []

    def emit(self, event_type, data):
        from services.common.envelope import build

        envelope = build(self.source, event_type, data)  # the contract is checked here too
        self.emitted.append(envelope)
        return envelope


class FakeStorageBase:
    """The shared part of `services.common.store.Storage`: ledger, transactions, emitted events."""

    source = "test"

    def __init__(self):
        self.applied = set()
        self.events = []
        self.transactions = 0  # committed, as the real store counts them (issue 19: per event)

    def apply(self, event, change):
        if event.event_id in self.applied:
            return None
        result = self.transaction(change)
        self.applied.add(event.event_id)
        return result

    def transaction(self, change, event_id=None):
        uow = FakeUnitOfWork(self.source)
        result = change(uow)
        self.events.extend(uow.emitted)
        self.transactions += 1
        return result

    def emitted_types(self):
        return [e["event_type"] for e in self.events]

    def ping(self):
        return True


def an_event(source, event_type, data, event_id=None, occurred_at=None, schema_version=1):
    """An event as a handler receives it; it occurred at `occurred_at` or at the test clock's now
    (a fixed date in tests), never at the wall clock's."""
    from services.common import clock
    from services.common.envelope import Event

    return Event(
        event_id=event_id or str(uuid.uuid4()),
        event_type=event_type,
        source=source,
        occurred_at=occurred_at or clock.now(),
        schema_version=schema_version,
        data=data,
    )


def participant(registration_id):
    """The actor of a person on their own page (the gateway sets it once their link opened); an
    `Actor`, which a signing proxy signs as the gateway would."""
    from services.common.actors import Actor

    return Actor(role="participant", registration_id=registration_id, purpose="personal_page")
