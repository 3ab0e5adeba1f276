"""The transaction's record on the real store: the ledger entry and the outbox in one document,
written last with one insert. A handled event costs its state change, that insert and the commit;
the relay publishes what a crash left, marks records published in batches, and still empties the
outbox collection of the earlier code."""

from datetime import timedelta

import pymongo
import pytest
from nameko.testing.services import entrypoint_hook
from pymongo import monitoring

from services.common import clock
from services.common.delivery import handle_event
from services.common.envelope import build
from services.common.rpc import rpc
from services.common.store import LEDGER, LEGACY_OUTBOX, PENDING, MongoStore, Storage, pending_events
from tests.bus import Tap, publish
from tests.samples import envelope
from tests.waiting import wait_until

APPLIED = []  # what each handler run's `apply` returned


class Statements(monitoring.CommandListener):
    """Every command sent inside a transaction (its statements and its commit), in order."""

    def __init__(self):
        self.seen = []

    def started(self, event):
        command = event.command
        if command.get("autocommit") is False:
            self.seen.append((event.command_name, command.get(event.command_name)))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


class ProbeRegistration:
    """Named registration so that it may emit registration_withdrawn (the contracts say who
    emits what); it handles registration_waitlisted, which registration subscribes to."""

    name = "registration"
    store = MongoStore(Storage)

    @handle_event("matching", "registration_waitlisted")
    def handle_registration_waitlisted(self, event):
        rid = event.data["registration_id"]

        def change(uow):
            # a plain insert by key: running it again for the same event would fail
            uow.db.effects.insert_one({"_id": rid}, session=uow.session)
            uow.emit("registration_withdrawn", {"registration_id": rid, "reason": "staff"})
            return rid

        APPLIED.append(self.store.apply(event, change))

    @rpc
    def announce(self, registration_id):
        return self.store.transaction(
            lambda uow: uow.emit("registration_withdrawn", {"registration_id": registration_id, "reason": "person"})
        )["event_id"]


@pytest.fixture
def probe(container_factory, service_config, monkeypatch, mongo, db_prefix):
    APPLIED.clear()
    statements = Statements()
    monkeypatch.setattr(
        "services.common.store.MongoClient",
        lambda *args, **kwargs: pymongo.MongoClient(*args, event_listeners=[statements], **kwargs),
    )
    container = container_factory(ProbeRegistration, service_config)
    tap = Tap(service_config["AMQP_URI"], "registration")
    container.start()
    yield container, tap, statements, mongo[f"{db_prefix}registration"]
    tap.close()


def waitlisted(registration_id="r1"):
    data = {"registration_id": registration_id, "contact_point_id": "cp1", "route_kind": "contact_point", "reason": "x"}
    return envelope(data, event_type="registration_waitlisted", source="matching")


def test_a_handled_event_costs_its_change_one_record_and_the_commit(probe, service_config):
    container, tap, statements, db = probe
    event = waitlisted()
    publish(service_config["AMQP_URI"], "matching.events", "registration_waitlisted", event)
    [withdrawn] = tap.wait_for("registration_withdrawn")
    assert statements.seen == [("insert", "effects"), ("insert", LEDGER), ("commitTransaction", 1)]
    record = db[LEDGER].find_one({"_id": event["event_id"]})
    assert record["applied_at"] is not None
    # published at once, then marked by the relay's next sweep: the ledger entry stays
    wait_until(lambda: PENDING not in db[LEDGER].find_one({"_id": event["event_id"]}), what="the record marked")
    assert "outbox" not in db[LEDGER].find_one({"_id": event["event_id"]})
    assert withdrawn["data"] == {"registration_id": "r1", "reason": "staff"}


def test_an_event_applied_before_is_skipped_even_where_its_change_would_now_fail(probe, service_config):
    _, tap, _, db = probe
    event = waitlisted("r2")
    publish(service_config["AMQP_URI"], "matching.events", "registration_waitlisted", event)
    publish(service_config["AMQP_URI"], "matching.events", "registration_waitlisted", event)
    wait_until(lambda: len(APPLIED) == 2, what="both deliveries handled")
    assert sorted(APPLIED, key=str) == [None, "r2"]  # two workers may take them: either may finish first
    assert db.effects.count_documents({}) == 1 and len(tap.wait_for("registration_withdrawn")) == 1


def test_a_transaction_without_an_event_keeps_no_record_once_published(probe):
    container, tap, _, db = probe
    with entrypoint_hook(container, "announce") as announce:
        event_id = announce("r3")
    assert tap.wait_for("registration_withdrawn")[0]["event_id"] == event_id
    wait_until(lambda: db[LEDGER].count_documents({}) == 0, what="the record gone after the relay's sweep")


def test_a_record_a_crash_left_unpublished_is_published_by_the_relay(probe):
    _, tap, _, db = probe
    body = build("registration", "registration_withdrawn", {"registration_id": "r4", "reason": "person"})
    left_at = clock.now() - timedelta(minutes=1)
    entry = {"_id": body["event_id"], "routing_key": "registration_withdrawn", "body": body}
    db[LEDGER].insert_one({"_id": "some-event", "applied_at": left_at, "outbox": [entry], PENDING: left_at})
    assert tap.wait_for("registration_withdrawn")[0]["event_id"] == body["event_id"]
    wait_until(lambda: pending_events(db) == [], what="the record marked published")
    assert db[LEDGER].find_one({"_id": "some-event"})["applied_at"] is not None  # the ledger entry stays


def test_the_earlier_code_s_outbox_collection_is_still_relayed(probe):
    _, tap, _, db = probe
    body = build("registration", "registration_withdrawn", {"registration_id": "r5", "reason": "person"})
    left_at = clock.now() - timedelta(minutes=1)
    db[LEGACY_OUTBOX].insert_one(
        {"_id": body["event_id"], "routing_key": "registration_withdrawn", "body": body, "created_at": left_at}
    )
    assert tap.wait_for("registration_withdrawn")[0]["event_id"] == body["event_id"]
    wait_until(lambda: db[LEGACY_OUTBOX].count_documents({}) == 0, what="the legacy entry deleted")
