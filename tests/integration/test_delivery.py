"""The shared delivery machinery on the real broker and store: dead letters with reasons,
retry with backoff, the ledger, and a service that keeps running through all of it."""

import pytest

from services.common import contracts
from services.common.delivery import PermanentError, handle_event
from services.common.store import MongoStore, Storage
from tests.bus import dead_letters, publish
from tests.samples import envelope
from tests.waiting import wait_until

CALLS = []  # event ids, as each attempt starts
DONE = []  # event ids, as each attempt returns
OTHER = []  # event ids seen by the second handler
BEHAVIOUR = {"fail_first": 0, "permanent": False}


class ProbeService:
    name = "probe"
    store = MongoStore(Storage)

    @handle_event("matching", "registration_unroutable")
    def handle_registration_unroutable(self, event):
        CALLS.append(event.event_id)
        if BEHAVIOUR["permanent"]:
            raise PermanentError("cannot ever work")
        if len(CALLS) <= BEHAVIOUR["fail_first"]:
            raise ConnectionError("transient")
        self.store.apply(
            event,
            lambda uow: uow.db.effects.insert_one(
                {"registration_id": event.data["registration_id"]}, session=uow.session
            ),
        )
        DONE.append(event.event_id)

    @handle_event("matching", "registration_waitlisted")
    def handle_registration_waitlisted(self, event):
        """A second queue: a retry of the other handler must come back to its own queue only."""
        OTHER.append(event.event_id)


@pytest.fixture
def probe(container_factory, service_config, monkeypatch, mongo, db_prefix):
    monkeypatch.setitem(
        contracts.SUBSCRIPTIONS,
        "probe",
        [("matching", "registration_unroutable"), ("matching", "registration_waitlisted")],
    )
    CALLS.clear()
    DONE.clear()
    OTHER.clear()
    BEHAVIOUR.update(fail_first=0, permanent=False)
    container = container_factory(ProbeService, service_config)
    container.start()
    effects = mongo[f"{db_prefix}probe"].effects
    return service_config["AMQP_URI"], effects


def unroutable(registration_id="r1", **changes):
    return envelope(
        {"registration_id": registration_id, "reason": "no route"},
        event_type="registration_unroutable",
        source="matching",
        **changes,
    )


def test_a_valid_event_is_applied(probe):
    amqp_uri, effects = probe
    publish(amqp_uri, "matching.events", "registration_unroutable", unroutable())
    wait_until(lambda: effects.count_documents({}) == 1, what="the effect")


def test_an_invalid_event_is_dead_lettered_with_its_reason_and_the_service_goes_on(probe):
    amqp_uri, effects = probe
    bad = unroutable()
    del bad["data"]["reason"]
    publish(amqp_uri, "matching.events", "registration_unroutable", bad)
    letters = wait_until(lambda: dead_letters(amqp_uri, "probe"), what="a dead letter")
    headers, _ = letters[0]
    assert "reason" in headers["x-flokk-reason"] and "Missing data" in headers["x-flokk-reason"]
    assert headers["x-flokk-original-exchange"] == "matching.events"
    assert headers["x-flokk-original-routing-key"] == "registration_unroutable"
    publish(amqp_uri, "matching.events", "registration_unroutable", unroutable("r2"))
    wait_until(lambda: effects.count_documents({"registration_id": "r2"}) == 1, what="the next event")
    assert CALLS and len(CALLS) == 1  # the invalid one never reached the handler


def test_an_unknown_schema_version_is_dead_lettered_with_that_reason(probe):
    amqp_uri, _ = probe
    publish(amqp_uri, "matching.events", "registration_unroutable", unroutable(schema_version=7))
    headers, _ = wait_until(lambda: dead_letters(amqp_uri, "probe"), what="a dead letter")[0]
    assert "unknown schema_version 7" in headers["x-flokk-reason"]


def test_an_undecodable_body_is_dead_lettered_not_fatal(probe):
    amqp_uri, effects = probe
    publish(amqp_uri, "matching.events", "registration_unroutable", b"{not json")
    headers, body = wait_until(lambda: dead_letters(amqp_uri, "probe"), what="a dead letter")[0]
    assert "cannot be decoded" in headers["x-flokk-reason"]
    assert (body.encode() if isinstance(body, str) else body) == b"{not json"
    publish(amqp_uri, "matching.events", "registration_unroutable", unroutable("r3"))
    wait_until(lambda: effects.count_documents({"registration_id": "r3"}) == 1, what="the next event")


def test_a_failing_handler_is_retried_with_backoff_and_then_succeeds(probe):
    amqp_uri, effects = probe
    BEHAVIOUR["fail_first"] = 2
    publish(amqp_uri, "matching.events", "registration_unroutable", unroutable())
    wait_until(lambda: effects.count_documents({}) == 1, timeout=20, what="the effect after retries")
    assert len(CALLS) == 3 and len(set(CALLS)) == 1
    assert dead_letters(amqp_uri, "probe") == [] and OTHER == []  # the retries went to one queue only


def test_a_handler_that_keeps_failing_is_dead_lettered_after_the_last_attempt(probe):
    amqp_uri, effects = probe
    BEHAVIOUR["fail_first"] = 99
    publish(amqp_uri, "matching.events", "registration_unroutable", unroutable())
    headers, _ = wait_until(lambda: dead_letters(amqp_uri, "probe"), timeout=20, what="a dead letter")[0]
    assert "after 3 attempt(s): ConnectionError" in headers["x-flokk-reason"]
    assert len(CALLS) == 3 and effects.count_documents({}) == 0


def test_a_permanent_error_is_dead_lettered_at_once(probe):
    amqp_uri, _ = probe
    BEHAVIOUR["permanent"] = True
    publish(amqp_uri, "matching.events", "registration_unroutable", unroutable())
    headers, _ = wait_until(lambda: dead_letters(amqp_uri, "probe"), what="a dead letter")[0]
    assert "after 1 attempt(s): PermanentError" in headers["x-flokk-reason"]


def test_the_same_event_delivered_twice_is_applied_once(probe):
    amqp_uri, effects = probe
    event = unroutable()
    publish(amqp_uri, "matching.events", "registration_unroutable", event)
    publish(amqp_uri, "matching.events", "registration_unroutable", event)
    wait_until(lambda: len(DONE) == 2, what="both deliveries handled")
    assert effects.count_documents({}) == 1
