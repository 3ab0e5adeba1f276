"""Intake from other systems, through registration and directory on the real broker and store."""

from unittest import mock

import pytest

from services.common import clock
from services.common.amqp import BrokerPublisher
from services.common.contracts import RegistrationRequested
from services.common.metrics import METRICS
from services.directory.service import DirectoryService
from services.registration import domain
from services.registration.ports import KeyTaken
from services.registration.service import RegistrationService
from tests.bus import Tap, dead_letters, publish
from tests.fakes.registration import BERGEN_PLACE
from tests.samples import envelope, intake
from tests.waiting import wait_until


@pytest.fixture
def running(container_factory, service_config):
    for cls in (DirectoryService, RegistrationService):
        container_factory(cls, service_config).start()
    tap = Tap(service_config["AMQP_URI"], "registration")
    yield service_config["AMQP_URI"], tap
    tap.close()


def test_an_intake_is_stored_once_and_announced_without_personal_data(running, mongo, db_prefix):
    amqp_uri, tap = running
    data = intake()
    publish(amqp_uri, "intake.events", "registration_requested", envelope(data))
    created = tap.wait_for("registration_created")[0]["data"]
    assert created["idempotency_key"] == data["idempotency_key"]
    assert created["municipality_number"] == "4601"
    raw = b"".join(body if isinstance(body, bytes) else body.encode() for _, _, body, _ in tap.seen)
    for secret in (data["name"], data["email"], data["phone"]):
        assert secret.encode() not in raw
    db = mongo[f"{db_prefix}registration"]
    assert db.registrations.count_documents({}) == 1
    stored = db.contacts.find_one({"_id": created["registration_id"]})
    assert set(stored) == {"_id", "sealed"}
    for secret in (data["name"], data["email"], data["phone"]):
        assert secret not in str(db.contacts.find_one()) and secret not in str(db.registrations.find_one())


def test_the_same_key_twice_is_the_same_registration_and_one_event(running, mongo, db_prefix):
    amqp_uri, tap = running
    data = intake()
    publish(amqp_uri, "intake.events", "registration_requested", envelope(data))
    publish(amqp_uri, "intake.events", "registration_requested", envelope(data))  # another event id
    tap.wait_for("registration_created")
    marker = intake()
    publish(amqp_uri, "intake.events", "registration_requested", envelope(marker))
    tap.wait_for("registration_created", count=2)  # the marker: everything before it is handled
    keys = [e["data"]["idempotency_key"] for e in tap.events("registration_created")]
    assert keys == [data["idempotency_key"], marker["idempotency_key"]]
    assert mongo[f"{db_prefix}registration"].registrations.count_documents({}) == 2


def test_copies_of_one_intake_handled_at_the_same_time_make_one_registration(running, mongo, db_prefix):
    """Eight workers race on one key: the unique index lets one store it; the others answer with it."""
    amqp_uri, tap = running
    handled_before = METRICS.value("events_handled", "registration_requested")
    data = intake()
    for _ in range(8):
        publish(amqp_uri, "intake.events", "registration_requested", envelope(data))
    marker = intake()
    publish(amqp_uri, "intake.events", "registration_requested", envelope(marker))
    wait_until(
        lambda: METRICS.value("events_handled", "registration_requested") - handled_before == 9,
        what="all nine intakes handled",
    )
    keys = [e["data"]["idempotency_key"] for e in tap.events("registration_created")]
    assert sorted(keys) == sorted([data["idempotency_key"], marker["idempotency_key"]])
    assert mongo[f"{db_prefix}registration"].registrations.count_documents({}) == 2
    assert tap.events("registration_rejected") == []


def test_an_invalid_intake_is_rejected_with_field_errors_and_dead_lettered(running, mongo, db_prefix):
    amqp_uri, tap = running
    data = intake(phone="12345", themes=["astrology"])
    publish(amqp_uri, "intake.events", "registration_requested", envelope(data))
    rejected = tap.wait_for("registration_rejected")[0]["data"]
    assert rejected["idempotency_key"] == data["idempotency_key"]
    assert set(rejected["errors"]) == {"phone", "themes"}
    assert "12345" not in str(rejected) and "astrology" not in str(rejected)
    # dead-lettered once the handler returned, after its registration_rejected was published
    [(headers, _)] = wait_until(lambda: dead_letters(amqp_uri, "registration"), what="the intake dead-lettered")
    assert "phone" in headers["x-flokk-reason"]
    assert mongo[f"{db_prefix}registration"].registrations.count_documents({}) == 0


def test_an_unknown_postal_code_is_rejected_on_that_field(running):
    amqp_uri, tap = running
    publish(amqp_uri, "intake.events", "registration_requested", envelope(intake(postal_code="0000")))
    rejected = tap.wait_for("registration_rejected")[0]["data"]
    assert rejected["errors"] == {"postal_code": ["unknown_postal_code"]}


def test_a_key_reused_with_another_payload_is_a_conflict(running):
    amqp_uri, tap = running
    data = intake()
    publish(amqp_uri, "intake.events", "registration_requested", envelope(data))
    tap.wait_for("registration_created")
    publish(amqp_uri, "intake.events", "registration_requested", envelope({**data, "themes": ["trauma"]}))
    rejected = tap.wait_for("registration_rejected")[0]["data"]
    assert list(rejected["errors"]) == ["idempotency_key"]


def test_an_event_whose_publish_failed_after_commit_is_published_once_by_the_relay(running):
    """The crash window: state committed, publish failed. The outbox relay publishes it later."""
    amqp_uri, tap = running
    real_publish = BrokerPublisher.publish
    failures = []

    def publish_fails_once(self, body, **kwargs):
        if kwargs.get("routing_key") == "registration_created" and not failures:
            failures.append(1)
            raise ConnectionError("broker gone")
        return real_publish(self, body, **kwargs)

    with mock.patch.object(BrokerPublisher, "publish", publish_fails_once):
        data = intake()
        publish(amqp_uri, "intake.events", "registration_requested", envelope(data))
        tap.wait_for("registration_created", timeout=20)
    marker = intake()
    publish(amqp_uri, "intake.events", "registration_requested", envelope(marker))
    tap.wait_for("registration_created", count=2)
    keys = [e["data"]["idempotency_key"] for e in tap.events("registration_created")]
    assert failures and keys.count(data["idempotency_key"]) == 1


def test_the_store_refuses_a_second_registration_under_a_key_with_key_taken(container_factory, service_config):
    """What the use cases rely on when two workers race on one key: the unique index refuses the
    later one, and the store adapter reports it as KeyTaken, with nothing of it stored."""
    container = container_factory(RegistrationService, service_config)
    container.start()
    storage = next(d for d in container.dependencies if d.attr_name == "store").get_dependency(None)
    data = RegistrationRequested().load(intake())
    first, contact = domain.new_registration(data, BERGEN_PLACE, clock.now(), "fingerprint", [])
    storage.transaction(lambda uow: storage.add(uow, first, contact))
    second, _ = domain.new_registration(data, BERGEN_PLACE, clock.now(), "fingerprint", [])
    with pytest.raises(KeyTaken):
        storage.transaction(lambda uow: storage.add(uow, second, contact))
    assert storage.get(second["_id"]) is None and storage.get(first["_id"])["_id"] == first["_id"]
    assert storage.counts() == {"registered": 1}
