"""The outbox under a real crash: registration, run from the fault module, dies (os._exit) after its
transaction committed and before it published registration_created. After a restart the event is
published exactly once."""

from services.common.store import pending_events
from tests.bus import Tap, publish
from tests.e2e.registration_with_faults import CRASH_LINE, FAULT_VAR
from tests.processes import alive
from tests.samples import envelope, intake
from tests.waiting import wait_until

FAULTY = {"registration": "tests.e2e.registration_with_faults"}


def test_a_crash_between_commit_and_publish_still_publishes_exactly_once(services, mongo, db_prefix):
    amqp_uri = services.env["AMQP_URI"]
    services.start("directory", "registration", modules=FAULTY, extra_env={FAULT_VAR: "registration_created"})
    doomed = services.pid("registration")
    tap = Tap(amqp_uri, "registration")
    db = mongo[f"{db_prefix}registration"]
    try:
        data = intake()
        publish(amqp_uri, "intake.events", "registration_requested", envelope(data))
        wait_until(lambda: not alive(doomed), timeout=30, what="the faulty registration to crash")
        assert f"{CRASH_LINE} registration_created" in services.log("registration").read_text()
        # The crash window: committed (registration and its outbox entry), nothing published.
        assert db.registrations.count_documents({"idempotency_key": data["idempotency_key"]}) == 1
        assert [body["event_type"] for body in pending_events(db)] == ["registration_created"]
        assert tap.events("registration_created") == []

        services.start("registration")  # the same service, no fault
        created = tap.wait_for("registration_created", timeout=30)[0]["data"]
        assert created["idempotency_key"] == data["idempotency_key"]

        # The unacked intake comes back after the restart and is skipped by the ledger; a later
        # marker proves that everything before it has been handled.
        marker = intake()
        publish(amqp_uri, "intake.events", "registration_requested", envelope(marker))
        tap.wait_for("registration_created", count=2, timeout=30)
        keys = [e["data"]["idempotency_key"] for e in tap.events("registration_created")]
        assert keys.count(data["idempotency_key"]) == 1 and keys.count(marker["idempotency_key"]) == 1
        assert db.registrations.count_documents({}) == 2
        # Published records are marked in batches by the relay's next sweep.
        wait_until(lambda: pending_events(db) == [], timeout=15, what="the outbox emptied")
    finally:
        tap.close()
