"""What one arrival costs matching on the real store (issue 19), statement by statement: a new
person's transaction is one read (the waiting entry and the erasure tombstone together), the
waiting write, the figure record's one write, the pool's mark, the record and the commit. An
erased person's late arrival is that read, the record and the commit, and puts nobody in a pool,
whether the tombstone was written by this code or by the earlier code (its own collection)."""

import uuid

import pymongo
import pytest
from pymongo import monitoring

from services.common.store import LEDGER, LEGACY_OUTBOX
from services.matching import domain, figures
from services.matching.service import MatchingService
from services.matching.store import LEGACY_ERASED
from tests.bus import Tap, publish
from tests.integration.test_matching_flow import StandInDirectory, created
from tests.samples import envelope
from tests.waiting import wait_until

#: What the outbox relay does in the background, on its own timer: not the arrival's.
RELAY = (LEDGER, LEGACY_OUTBOX)
STATEMENTS = ("find", "insert", "update", "delete", "findAndModify", "aggregate", "commitTransaction")


class Statements(monitoring.CommandListener):
    """Every statement matching sends, with whether it ran inside a transaction."""

    def __init__(self):
        self.seen = []

    def started(self, event):
        name = event.command_name
        target = event.command.get(name)
        if name in STATEMENTS and target not in RELAY or name == "insert" and target == LEDGER:
            self.seen.append((name, target, event.command.get("autocommit") is False))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass

    def in_transactions(self):
        return [(name, target) for name, target, in_txn in self.seen if in_txn]

    def outside(self):
        return [(name, target) for name, target, in_txn in self.seen if not in_txn]


@pytest.fixture
def matching(container_factory, service_config, monkeypatch, mongo, db_prefix):
    statements = Statements()
    monkeypatch.setattr(
        "services.common.store.MongoClient",
        lambda *args, **kwargs: pymongo.MongoClient(*args, event_listeners=[statements], **kwargs),
    )
    db = mongo[f"{db_prefix}matching"]

    def start():
        container_factory(StandInDirectory, service_config).start()
        container_factory(MatchingService, service_config).start()
        statements.seen.clear()  # the indexes and the copy of the earlier code's tombstones

    tap = Tap(service_config["AMQP_URI"], "matching")
    yield start, service_config["AMQP_URI"], statements, db, tap
    tap.close()


def a_person():
    return f"reg-{uuid.uuid4().hex[:8]}"


def test_a_new_person_s_arrival_is_one_read_and_four_writes_and_its_commit(matching):
    start, amqp, statements, db, tap = matching
    start()
    rid = a_person()
    publish(amqp, "registration.events", "registration_created", created(rid))
    tap.wait_for("registration_waitlisted")
    wait_until(lambda: ("find", "waiting") in statements.outside(), what="the pool planned")
    assert statements.in_transactions() == [
        ("find", "waiting"),  # the entry and the tombstone, by `_id`
        ("update", "waiting"),
        ("update", "figure_people"),  # kept or fresh, in one update pipeline
        ("update", "pool_state"),  # marked for a re-solve
        ("insert", LEDGER),
        ("commitTransaction", 1),
    ]
    # the route check's contact point, and the pool (one person: too few to plan)
    assert statements.outside() == [("find", "contact_points"), ("find", "waiting")]
    record = db.figure_people.find_one({"_id": figures.record_key(rid)})
    assert (record["contact_point_id"], record["placed_at"], record["paused_seconds"]) == ("link-bergen", None, 0)
    assert record["left_at"] is None and db.waiting.find_one({"_id": rid})["pools"] == ["link-bergen|self|nb"]


def test_an_erased_person_s_late_arrival_is_one_read_and_puts_nobody_in_a_pool(matching):
    start, amqp, statements, db, _ = matching
    start()
    rid = a_person()
    erased = envelope({"registration_id": rid, "reason": "request"}, "registration_erased", "registration")
    publish(amqp, "registration.events", "registration_erased", erased)
    tombstone = domain.erasure_tombstone(rid)
    wait_until(lambda: db.waiting.find_one({"_id": tombstone}) is not None, what="the tombstone")
    assert db[LEGACY_ERASED].find_one({"_id": tombstone}) is not None  # for replicas of the earlier code
    statements.seen.clear()
    late = created(rid)
    publish(amqp, "registration.events", "registration_created", late)
    wait_until(lambda: db[LEDGER].find_one({"_id": late["event_id"]}) is not None, what="the late arrival applied")
    assert statements.in_transactions() == [("find", "waiting"), ("insert", LEDGER), ("commitTransaction", 1)]
    assert db.waiting.find_one({"_id": rid}) is None
    assert db.figure_people.find_one({"_id": figures.record_key(rid)}) is None
    assert rid not in str(list(db.waiting.find({})))  # the tombstone is a digest


def test_a_tombstone_the_earlier_code_wrote_still_keeps_the_person_out(matching):
    start, amqp, _, db, _ = matching
    rid = a_person()
    db[LEGACY_ERASED].insert_one({"_id": domain.erasure_tombstone(rid)})
    start()  # copies it into the waiting collection's id space
    late = created(rid)
    publish(amqp, "registration.events", "registration_created", late)
    wait_until(lambda: db[LEDGER].find_one({"_id": late["event_id"]}) is not None, what="the late arrival applied")
    assert db.waiting.find_one({"_id": rid}) is None
