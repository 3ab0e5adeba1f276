"""Contact details at rest, key rotation, same-person flags, status from matching, withdrawal and
erasure, on the real broker and the real store."""

from datetime import timedelta

import pytest
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from cryptography.fernet import Fernet
from nameko.exceptions import RemoteError
from nameko.testing.services import entrypoint_hook, entrypoint_waiter

from services.common import clock
from services.common.actors import SELF, Actor
from services.directory.service import DirectoryService
from services.registration.service import RegistrationService
from tests.actors import GATEWAY, rpc_as
from tests.bus import Tap, publish
from tests.samples import envelope, intake
from tests.waiting import wait_until

ADMIN = Actor(role="national_admin", account_id="acc-0")
STAFF_BERGEN = Actor(role="contact_point_staff", contact_point_ids=["link-bergen"], account_id="acc-1")
PUBLIC = Actor(role="public")
KEY_A, KEY_B = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def start(container_factory, service_config):
    """Start directory and registration (with the given contact keys); returns the registration container."""
    container_factory(DirectoryService, service_config).start()

    def start_registration(keys=KEY_A):
        container = container_factory(
            RegistrationService,
            {**service_config, "FLOKK_CONTACT_KEYS": keys, "FLOKK_LOOKUP_KEY": "integration-lookup"},
        )
        container.start()
        return container

    return start_registration


@pytest.fixture
def rpc(service_config):
    """registration as the gateway calls it (its actors signed by the gateway)."""
    with rpc_as(GATEWAY, service_config) as services:
        yield services.registration


@pytest.fixture
def notification_rpc(service_config):
    with rpc_as("notification", service_config) as services:
        yield services.registration


def as_stored(db):
    """Every document of every collection, as the raw bytes the store holds."""
    raw = CodecOptions(document_class=RawBSONDocument)
    return b"".join(
        doc.raw for name in db.list_collection_names() for doc in db.get_collection(name, codec_options=raw).find()
    )


def waitlist(amqp_uri, container, registration_id, contact_point_id="link-bergen", event=None):
    """Publish registration_waitlisted (`event`, or a new one) and wait for registration to handle it."""
    event = event or waitlisted(registration_id, contact_point_id)
    with entrypoint_waiter(container, "handle_registration_waitlisted"):
        publish(amqp_uri, "matching.events", "registration_waitlisted", event)
    return event


def waitlisted(registration_id, contact_point_id="link-bergen"):
    return envelope(
        {
            "registration_id": registration_id,
            "contact_point_id": contact_point_id,
            "route_kind": "contact_point",
            "reason": "serves Bergen",
        },
        event_type="registration_waitlisted",
        source="matching",
    )


def test_an_event_about_one_person_is_applied_once_with_its_ledger_in_their_registration(
    start, rpc, service_config, mongo, db_prefix
):
    """Issue 19: registration_waitlisted is one conditional update of the registration (its event
    id kept there), no transaction and no ledger record; a redelivery after a change is ignored."""
    container, amqp_uri = start(), service_config["AMQP_URI"]
    rid = rpc.register(intake(), PUBLIC)["registration_id"]
    db = mongo[f"{db_prefix}registration"]
    event = waitlist(amqp_uri, container, rid, "link-bergen")
    stored = db.registrations.find_one({"_id": rid})
    assert (stored["status"], stored["contact_point_id"]) == ("waiting", "link-bergen")
    assert stored["applied_events"] == [event["event_id"]]
    assert db.applied_events.find_one({"_id": event["event_id"]}) is None
    rpc.withdraw(rid, ADMIN, "person")
    waitlist(amqp_uri, container, rid, event=event)
    stored = db.registrations.find_one({"_id": rid})
    assert stored["status"] == "withdrawn" and stored["applied_events"] == [event["event_id"]]


def test_contact_details_are_encrypted_at_rest_and_survive_a_key_rotation(
    start, rpc, notification_rpc, mongo, db_prefix
):
    container = start(KEY_A)
    data = intake(name="Kari Rotasjon", email="kari.rot@example.no", phone="+4790000001", free_text="min sorg")
    rid = rpc.register(data, PUBLIC)["registration_id"]
    db = mongo[f"{db_prefix}registration"]
    stored = as_stored(db)
    for secret in (data["name"], data["email"], data["phone"], data["free_text"], data["phone"][3:]):
        assert secret.encode() not in stored
    sealed_under_a = db.contacts.find_one({"_id": rid})["sealed"]

    container.stop()
    start(f"{KEY_B},{KEY_A}")  # the new key first, the old one still there: no downtime
    assert notification_rpc.contact_details(rid, SELF)["email"] == data["email"]
    assert db.contacts.find_one({"_id": rid})["sealed"] != sealed_under_a  # re-sealed on read
    other = rpc.register(intake(), PUBLIC)["registration_id"]
    db.contacts.update_one({"_id": other}, {"$set": {"sealed": Fernet(KEY_A).encrypt(b'{"name": "x"}').decode()}})
    assert rpc.rotate_contact_keys(ADMIN) == {"rotated": 1}
    for doc in db.contacts.find():
        Fernet(KEY_B).decrypt(doc["sealed"].encode())  # every record opens with the new key alone


def test_the_same_person_is_flagged_both_ways_and_the_flag_goes_with_erasure(start, rpc, service_config):
    container = start()
    first = rpc.register(intake(email="Same.Person@example.no", phone="+4790000002"), PUBLIC)["registration_id"]
    second = rpc.register(intake(email="same.person@example.no", phone="+4790000003"), PUBLIC)["registration_id"]
    for rid in (first, second):
        waitlist(service_config["AMQP_URI"], container, rid)
    assert rpc.get_registration(first, STAFF_BERGEN)["possible_duplicates"] == [second]
    assert rpc.get_registration(second, STAFF_BERGEN)["possible_duplicates"] == [first]
    assert [p["registration_id"] for p in rpc.find_by_reference(first[:8], STAFF_BERGEN)] == [
        first
    ]  # the store's range
    rpc.erase(first, STAFF_BERGEN, "request")
    assert rpc.get_registration(second, STAFF_BERGEN)["possible_duplicates"] == []


def test_erasure_leaves_nothing_of_the_person_in_registrations_database(start, rpc, mongo, db_prefix, service_config):
    container = start()
    tap = Tap(service_config["AMQP_URI"], "registration")
    data = intake(email="erase.me@example.no", phone="+4790000004")
    rid = rpc.register(data, PUBLIC)["registration_id"]
    waitlist(service_config["AMQP_URI"], container, rid)
    assert rpc.withdraw(rid, STAFF_BERGEN, "person")["changed"]
    assert rpc.erase(rid, STAFF_BERGEN, "request") == {"registration_id": rid, "erased": True}
    erased = tap.wait_for("registration_erased")[0]["data"]
    assert erased == {"registration_id": rid, "reason": "request"}
    assert [e["data"]["reason"] for e in tap.events("registration_withdrawn")] == ["person"]
    stored = as_stored(mongo[f"{db_prefix}registration"])
    for trace in (data["email"], data["phone"]):
        assert trace.encode() not in stored
    # The id and the key travel in events (registration_created, registration_erased): their outbox
    # entries, published already, are deleted by the relay's next sweep.
    wait_until(
        lambda: (
            not any(
                trace.encode() in as_stored(mongo[f"{db_prefix}registration"])
                for trace in (rid, data["idempotency_key"])
            )
        ),
        what="the registration id and key gone from the database once the outbox is swept",
    )
    assert rpc.counts() == {"registered": 1, "erased_request": 1}
    tap.close()


def test_the_retention_sweep_erases_the_long_withdrawn_once(start, rpc, mongo, db_prefix, service_config):
    container = start()
    tap = Tap(service_config["AMQP_URI"], "registration")
    old, fresh = rpc.register(intake(), PUBLIC)["registration_id"], rpc.register(intake(), PUBLIC)["registration_id"]
    for rid in (old, fresh):
        rpc.withdraw(rid, ADMIN, "staff")
    mongo[f"{db_prefix}registration"].registrations.update_one(
        {"_id": old}, {"$set": {"last_activity_at": clock.now() - timedelta(days=366)}}
    )
    with entrypoint_hook(container, "erase_after_retention") as sweep:
        assert sweep() == 1
        assert sweep() == 0
    assert [e["data"] for e in tap.wait_for("registration_erased")] == [{"registration_id": old, "reason": "retention"}]
    assert rpc.referral_statuses(Actor(role="referrer", referrer_id="nobody", account_id="acc-x")) == []
    assert mongo[f"{db_prefix}registration"].registrations.find_one({"_id": fresh})["status"] == "withdrawn"
    tap.close()


def test_a_referrer_sees_only_the_status_of_their_own_referrals_over_rpc(start, rpc, service_config):
    start()
    referrer = Actor(role="referrer", referrer_id="ref-kid-bergen", account_id="acc-9")
    other = Actor({**referrer, "referrer_id": "ref-other", "account_id": "acc-10"})
    cohort = {"cohort_id": "kid-bergen-2026-11", "keep_together": True}
    people = [
        intake(
            referral={"referrer_id": "ref-kid-bergen", "organisation": "KID-kurs Bergen"},
            consent={
                "purpose": "self_help_group_matching",
                "text_version": "2026-01",
                "given_at": "2026-11-28T08:59:00Z",
                "channel": "referrer",
            },
        )
        for _ in range(2)
    ]
    tap = Tap(service_config["AMQP_URI"], "registration")
    ids = [r["registration_id"] for r in rpc.register_cohort({"cohort": cohort, "registrations": people}, referrer)]
    assert [e["data"]["cohort"] for e in tap.wait_for("registration_created", count=2)] == [cohort, cohort]
    assert sorted(s["registration_id"] for s in rpc.referral_statuses(referrer)) == sorted(ids)
    assert {s["status"] for s in rpc.referral_statuses(referrer)} == {"waiting"}
    assert set(rpc.referral_status(ids[0], referrer)) == {"registration_id", "status", "updated_at"}
    with pytest.raises(RemoteError) as refused:
        rpc.referral_status(ids[0], other)
    assert refused.value.exc_type == "Forbidden"
    with pytest.raises(RemoteError) as refused:
        rpc.get_registration(ids[0], referrer)
    assert refused.value.exc_type == "Forbidden"
    tap.close()


def test_a_contact_opened_at_intake_is_answered_without_a_read_and_dropped_on_withdrawal(
    start, rpc, notification_rpc, mongo, db_prefix, service_config
):
    """The receipt's contact_details right after the intake: no read of the contact record, no
    decryption (issue 19). The copy goes with a withdrawal; the registration is still read on
    every call, so an erased person is NotFound."""
    container = start(KEY_A)
    data = intake(email="kari.cache@example.no", phone="+4790000007")
    rid = rpc.register(data, PUBLIC)["registration_id"]
    db = mongo[f"{db_prefix}registration"]
    sealed = db.contacts.find_one({"_id": rid})
    db.contacts.delete_one({"_id": rid})  # behind the service's back: only a kept copy can answer
    assert notification_rpc.contact_details(rid, SELF)["email"] == data["email"]
    db.contacts.insert_one(sealed)
    [provider] = [d for d in container.extensions if type(d).__name__ == "RegistrationStore"]
    assert rid in provider.opened._entries
    waitlist(service_config["AMQP_URI"], container, rid)
    assert rpc.withdraw(rid, STAFF_BERGEN, "person")["changed"]
    assert rid not in provider.opened._entries
    assert notification_rpc.contact_details(rid, SELF)["email"] == data["email"]  # read again, and kept again
    rpc.erase(rid, STAFF_BERGEN, "request")
    assert rid not in provider.opened._entries
    with pytest.raises(RemoteError) as refused:
        notification_rpc.contact_details(rid, SELF)
    assert refused.value.exc_type == "NotFound"
