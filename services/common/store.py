"""The Mongo dependency provider: one client per container, a unit of work per change.

A unit of work is one MongoDB transaction that holds the state change, the id of the event it
applies (the ledger that makes handlers idempotent) and the events it emits (the outbox), so the
three cannot come apart. The ledger entry and the outbox are one document, the transaction's
record, written last with one insert: a handled event costs its state change, that insert and the
commit. After commit the outbox entries are published at once; a relay thread publishes whatever
a crash left behind.
"""

import logging
from datetime import UTC, datetime, timedelta

import eventlet
from nameko.extensions import DependencyProvider
from pymongo import ASCENDING, MongoClient
from pymongo.errors import DuplicateKeyError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from . import clock, observability
from .amqp import BrokerPublisher
from .config import (
    DB_PREFIX_KEY,
    MONGODB_CA_FILE_KEY,
    MONGODB_URI_KEY,
    OUTBOX_SWEEP_SECONDS_KEY,
    database_name,
    service_broker,
)
from .envelope import build
from .health import health_report
from .metrics import METRICS
from .settings import for_container
from .topology import events_exchange

log = logging.getLogger(__name__)

#: One record per transaction that applied an event or emitted any: `_id` the event id (the
#: ledger: a second record for the same event fails on the unique `_id`), `applied_at`, and while
#: its events are unpublished `outbox` (the entries) and `pending_since`. A transaction that
#: applies no event but emits has the id of its first event after EMIT_PREFIX, and its record
#: goes once its events are published.
LEDGER = "applied_events"
PENDING = "pending_since"
EMIT_PREFIX = "emit:"
#: Where the outbox was before it moved into the records: entries that a process of the earlier
#: code left unpublished are still relayed from here (once a minute, while there are any).
LEGACY_OUTBOX = "outbox"
LEGACY_EVERY = 30
OUTBOX_GRACE = timedelta(seconds=3)
#: "Has a `pending_since`" as a range on its index: the development store answers `$ne` and
#: `$exists` by scanning the whole ledger, a range through the index.
UNPUBLISHED = {PENDING: {"$gte": datetime(1970, 1, 1, tzinfo=UTC)}}


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
        """Validate the event against its contract and put it in the outbox (written with the
        transaction's record, at its end)."""
        envelope = build(self.source, event_type, data)
        self.emitted.append({"_id": envelope["event_id"], "routing_key": event_type, "body": envelope})
        return envelope


def transaction_record(event_id, emitted, now):
    """The one document a transaction writes besides its state change, or None when it neither
    applies an event nor emits one."""
    if event_id is None and not emitted:
        return None
    record = {"_id": event_id if event_id is not None else EMIT_PREFIX + emitted[0]["_id"], "applied_at": now}
    if emitted:
        record.update(outbox=emitted, **{PENDING: now})
    return record


def pending_events(db):
    """The envelopes committed and not yet published, oldest first (for tests and tools)."""
    records = db[LEDGER].find(UNPUBLISHED).sort(PENDING, ASCENDING)
    return [entry["body"] for record in records for entry in record["outbox"]]


class Outbox:
    """A record's events are published right after its transaction commits; the record is marked
    published later, many in one `update_many` (`forget_published`, run by the relay before it
    looks for leftovers). A record published but not yet marked when the process dies is published
    again by the relay, which at-least-once delivery and the consumers' ledgers allow."""

    def __init__(self, db, publisher, source):
        self.records = db[LEDGER]
        self.legacy = db[LEGACY_OUTBOX]
        self.publisher = publisher
        self.exchange = events_exchange(source)
        self.published = []  # record ids whose events the broker confirmed, not yet marked
        self.legacy_published = []
        self.sweeps = 0

    def publish(self, record_id, entries):
        for entry in entries:
            self.publisher.publish(
                entry["body"], exchange=self.exchange, routing_key=entry["routing_key"], declare=[self.exchange]
            )
        self.published.append(record_id)

    def forget_published(self):
        ids, self.published = self.published, []
        legacy, self.legacy_published = self.legacy_published, []
        try:
            applied = [i for i in ids if not i.startswith(EMIT_PREFIX)]
            if applied:
                self.records.update_many({"_id": {"$in": applied}}, {"$unset": {"outbox": "", PENDING: ""}})
            emitted_only = [i for i in ids if i.startswith(EMIT_PREFIX)]
            if emitted_only:
                self.records.delete_many({"_id": {"$in": emitted_only}})
            if legacy:
                self.legacy.delete_many({"_id": {"$in": legacy}})
        except Exception:
            self.published = ids + self.published  # the next sweep tries again
            self.legacy_published = legacy + self.legacy_published
            raise
        return len(ids) + len(legacy)

    def publish_pending(self, older_than=OUTBOX_GRACE, limit=200):
        """Publish what a crash left behind; returns how many records were published."""
        self.forget_published()
        cutoff = clock.now() - older_than
        records = list(self.records.find({PENDING: {"$lt": cutoff}}).sort(PENDING, ASCENDING).limit(limit))
        for record in records:
            self.publish(record["_id"], record["outbox"])
        legacy = self._legacy_pending(cutoff, limit)
        self.forget_published()
        return len(records) + legacy

    def _legacy_pending(self, cutoff, limit):
        self.sweeps += 1
        if self.sweeps % LEGACY_EVERY != 1:
            return 0
        docs = list(self.legacy.find({"created_at": {"$lt": cutoff}}).sort("created_at", ASCENDING).limit(limit))
        for doc in docs:
            self.publisher.publish(
                doc["body"], exchange=self.exchange, routing_key=doc["routing_key"], declare=[self.exchange]
            )
            self.legacy_published.append(doc["_id"])
        if len(docs) == limit:
            self.sweeps = 0  # more left: look again at the next sweep
        return len(docs)

    def backlog(self):
        """Records whose events are not yet published (less those awaiting their mark)."""
        return max(0, self.records.count_documents(UNPUBLISHED) - len(self.published))


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


def mongodb_tls(ca_file):
    """pymongo's TLS options: the store's certificate checked against `ca_file` (none: as the URI says)."""
    return {"tls": True, "tlsCAFile": ca_file} if ca_file else {}


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
            **mongodb_tls(settings.get_optional(MONGODB_CA_FILE_KEY)),
        )
        self.db = self.client[database_name(settings[DB_PREFIX_KEY], self.container.service_name)]
        self.publisher = BrokerPublisher(*service_broker(settings))
        self.outbox = Outbox(self.db, self.publisher, self.container.service_name)
        self.sweep_seconds = settings.as_float(OUTBOX_SWEEP_SECONDS_KEY)
        self.db[LEDGER].create_index(PENDING)
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
        """`change(uow)` and the transaction's record (ledger entry and outbox) in one
        transaction, then its events published. The record is written last: an event applied
        before fails there, on the unique `_id` (AlreadyApplied), and so does a change that
        raises for an event applied before."""
        outcome = {}
        service = self.container.service_name

        def callback(session):
            METRICS.count("store_transaction_attempts", service)
            uow = UnitOfWork(self.db, session, service)
            outcome["result"] = change(uow)
            record = transaction_record(event_id, uow.emitted, clock.now())
            if record is not None:
                self.db[LEDGER].insert_one(record, session=session)
            outcome["record"] = record

        with self.client.start_session() as session:
            try:
                session.with_transaction(
                    callback,
                    read_concern=ReadConcern("snapshot"),
                    write_concern=WriteConcern("majority"),
                )
            except Exception as exc:
                ledger_refused = isinstance(exc, DuplicateKeyError) and LEDGER in str(exc)
                if event_id is not None and (ledger_refused or self._applied(event_id)):
                    raise AlreadyApplied(event_id) from None
                raise
        METRICS.count("store_transactions", service)
        record = outcome["record"]
        if record is not None and record.get("outbox"):
            try:
                self.outbox.publish(record["_id"], record["outbox"])
            except Exception as exc:  # the relay publishes it later
                log.warning("outbox publish deferred to the relay: %s", type(exc).__name__)
        return outcome["result"]

    def _applied(self, event_id):
        """Whether the ledger holds this event (asked only when its change failed)."""
        try:
            return self.db[LEDGER].find_one({"_id": event_id}, {"_id": 1}) is not None
        except Exception:  # the store is unreachable: the change's own error says more
            return False

    def get_dependency(self, worker_ctx):
        return self.storage_cls(self)
