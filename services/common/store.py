"""The Mongo dependency provider: one client per container, a unit of work per change.

A unit of work is one MongoDB transaction that holds the state change, the id of the event it
applies (the ledger that makes handlers idempotent) and the events it emits (the outbox), so the
three cannot come apart. After commit the outbox entries are published at once; a relay thread
publishes whatever a crash left behind.
"""

import logging
from datetime import timedelta

import eventlet
from nameko.extensions import DependencyProvider
from pymongo import ASCENDING, MongoClient
from pymongo.errors import DuplicateKeyError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from . import clock, observability
from .amqp import BrokerPublisher
from .config import AMQP_URI_KEY, DB_PREFIX_KEY, MONGODB_URI_KEY, OUTBOX_SWEEP_SECONDS_KEY, database_name
from .envelope import build
from .health import health_report
from .settings import for_container
from .topology import events_exchange

log = logging.getLogger(__name__)

LEDGER = "applied_events"
OUTBOX = "outbox"
OUTBOX_GRACE = timedelta(seconds=3)


class AlreadyApplied(Exception):
    pass


class UnitOfWork:
    """Handed to domain code inside a transaction: the database, its session, and `emit`."""

    def __init__(self, db, session, source):
        self.db = db
        self.session = session
        self.source = source
        self.emitted = []

    def emit(self, event_type, data):
        """Validate the event against its contract and put it in the outbox (same transaction)."""
        envelope = build(self.source, event_type, data)
        doc = {"_id": envelope["event_id"], "routing_key": event_type, "body": envelope, "created_at": clock.now()}
        self.db[OUTBOX].insert_one(doc, session=self.session)
        self.emitted.append(doc)
        return envelope


class Outbox:
    """Entries are published right after their transaction commits and deleted later, many in one
    `delete_many` (`forget_published`, run by the relay before it looks for leftovers): one store
    round trip per event fewer. An entry published but not yet deleted when the process dies is
    published again by the relay, which at-least-once delivery and the consumers' ledgers allow."""

    def __init__(self, db, publisher, source):
        self.collection = db[OUTBOX]
        self.publisher = publisher
        self.exchange = events_exchange(source)
        self.published = []  # ids confirmed by the broker, not yet deleted

    def publish(self, docs):
        for doc in docs:
            self.publisher.publish(
                doc["body"], exchange=self.exchange, routing_key=doc["routing_key"], declare=[self.exchange]
            )
            self.published.append(doc["_id"])

    def forget_published(self):
        ids, self.published = self.published, []
        try:
            if ids:
                self.collection.delete_many({"_id": {"$in": ids}})
        except Exception:
            self.published = ids + self.published  # the next sweep tries again
            raise
        return len(ids)

    def publish_pending(self, older_than=OUTBOX_GRACE, limit=200):
        """Publish what a crash left behind; returns how many were published."""
        self.forget_published()
        cutoff = clock.now() - older_than
        docs = list(self.collection.find({"created_at": {"$lt": cutoff}}).sort("created_at", ASCENDING).limit(limit))
        self.publish(docs)
        self.forget_published()
        return len(docs)

    def backlog(self):
        """Entries not yet published (estimated: the store's count less those awaiting deletion)."""
        return max(0, self.collection.estimated_document_count() - len(self.published))


class Storage:
    """Base of each service's store wrapper: domain methods go in the subclass."""

    def __init__(self, provider):
        self._provider = provider
        self.db = provider.db
        self.broker = provider.publisher

    @classmethod
    def ensure_indexes(cls, db):
        """Override to create the service's indexes (called once, in the provider's setup)."""

    def apply(self, event, change):
        """Run `change(uow)` once per event id, atomically with the ledger and the outbox.
        Returns the change's result, or None when this event was applied before."""
        try:
            return self.transaction(change, event_id=event.event_id)
        except AlreadyApplied:
            log.info("event already applied", extra={"event_id": event.event_id})
            return None

    def transaction(self, change, event_id=None):
        return self._provider.run_transaction(change, event_id)

    def ping(self):
        self.db.command("ping")
        return True


class MongoStore(DependencyProvider):
    """Opens the client in setup(), closes it in stop(); nothing happens at import time."""

    def __init__(self, storage_cls=Storage):
        self.storage_cls = storage_cls
        self.client = None
        self._relay = None

    def setup(self):
        settings = for_container(self.container)
        self.client = MongoClient(
            settings[MONGODB_URI_KEY],
            tz_aware=True,
            serverSelectionTimeoutMS=5000,
            uuidRepresentation="standard",
        )
        self.db = self.client[database_name(settings[DB_PREFIX_KEY], self.container.service_name)]
        self.publisher = BrokerPublisher(settings[AMQP_URI_KEY])
        self.outbox = Outbox(self.db, self.publisher, self.container.service_name)
        self.sweep_seconds = settings.as_float(OUTBOX_SWEEP_SECONDS_KEY)
        self.db[OUTBOX].create_index("created_at")
        self.storage_cls.ensure_indexes(self.db)
        # Metrics, probes and log context of the service (the same report as its `health()` RPC).
        self.observability = observability.attach(
            self.container,
            gauges={"outbox_backlog": self.outbox.backlog},
            health=lambda: health_report(self.container.service_name, Storage(self), self.publisher),
        )

    def start(self):
        self._relay = self.container.spawn_managed_thread(self._relay_loop, identifier="outbox-relay")
        self.observability.start()

    def stop(self):
        if getattr(self, "observability", None) is not None:
            self.observability.stop()
        if self._relay is not None:
            self._relay.kill()
            self._relay = None
        if self.client is not None:
            try:
                self.outbox.forget_published()
            except Exception as exc:  # left for the next start's relay to publish again
                log.warning("outbox cleanup at stop failed: %s", type(exc).__name__)
            self.client.close()
            self.client = None

    kill = stop

    def _relay_loop(self):
        while True:
            try:
                self.outbox.publish_pending()
            except Exception as exc:  # keep relaying: the broker or the store may come back
                log.warning("outbox relay failed: %s", type(exc).__name__)
            eventlet.sleep(self.sweep_seconds)

    def run_transaction(self, change, event_id=None):
        outcome = {}

        def callback(session):
            uow = UnitOfWork(self.db, session, self.container.service_name)
            if event_id is not None:  # an event applied before fails here, on the unique _id
                self.db[LEDGER].insert_one({"_id": event_id, "applied_at": clock.now()}, session=session)
            outcome["result"] = change(uow)
            outcome["uow"] = uow

        with self.client.start_session() as session:
            try:
                session.with_transaction(
                    callback,
                    read_concern=ReadConcern("snapshot"),
                    write_concern=WriteConcern("majority"),
                )
            except DuplicateKeyError as exc:
                if event_id is not None and LEDGER in str(exc):
                    raise AlreadyApplied(event_id) from None
                raise
        try:
            self.outbox.publish(outcome["uow"].emitted)
        except Exception as exc:  # the relay publishes it later
            log.warning("outbox publish deferred to the relay: %s", type(exc).__name__)
        return outcome["result"]

    def get_dependency(self, worker_ctx):
        return self.storage_cls(self)
