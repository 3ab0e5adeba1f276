"""registration's use cases called directly with in-memory ports: no nameko, no mock."""

import copy
from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet

from services.common.clock import FixedClock
from services.common.errors import Conflict, Forbidden, InvalidInput
from services.registration import handlers
from services.registration.ports import Ports
from services.registration.vault import Vault
from tests.fakes import an_event
from tests.fakes.registration import LOOKUP_KEY, FakeDirectory, FakeRegistrationStorage
from tests.samples import intake

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
ADMIN = {"role": "national_admin", "account_id": "acc-0"}
#: Actors as @rpc hands them on once verified (worker_factory calls the methods themselves).
PUBLIC = {"role": "public", "issuer": "gateway"}
NOTIFICATION = {"role": "service", "service": "notification", "issuer": "notification"}
STAFF_BERGEN = {"role": "contact_point_staff", "contact_point_ids": ["link-bergen"], "account_id": "acc-1"}


def ports_with(store=None, directory=None, clock=None):
    return Ports(
        store=store or FakeRegistrationStorage(),
        directory=directory or FakeDirectory(),
        clock=clock or FixedClock(T0),
    )


def test_a_registration_is_stamped_with_the_time_of_the_ports_clock():
    clock = FixedClock(T0)
    ports = ports_with(clock=clock)
    first = handlers.register(ports, intake(), PUBLIC)["registration_id"]
    clock.advance(days=3)
    second = handlers.register(ports, intake(), PUBLIC)["registration_id"]
    assert ports.store.registrations[first]["registered_at"] == T0
    created = [e["data"] for e in ports.store.events if e["event_type"] == "registration_created"]
    assert created[1]["registered_at"] == "2026-12-01T09:00:00Z"  # (the two are flagged as possible duplicates)
    assert ports.store.registrations[second]["municipality_number"] == "4601"


def test_a_place_the_directory_does_not_know_is_refused_on_its_own_field():
    ports = ports_with(directory=FakeDirectory(postal_codes={}))
    with pytest.raises(InvalidInput) as refused:
        handlers.register(ports, intake(postal_code="0000"), PUBLIC)
    assert refused.value.errors == {"postal_code": ["unknown_postal_code"]}
    data = intake()
    del data["postal_code"]
    with pytest.raises(InvalidInput) as refused:
        handlers.register(ports, {**data, "municipality_number": "9999"}, PUBLIC)
    assert refused.value.errors == {"municipality_number": ["unknown_municipality"]}
    assert ports.store.registrations == {} and ports.store.events == []


def test_a_registration_that_lost_the_race_for_its_key_answers_with_the_winners():
    """A key is not looked up before storing (issue 19): every repeat, a lost race too, is told
    by the unique index on the key when the registration is stored."""
    store = FakeRegistrationStorage()
    ports = ports_with(store=store)
    data = intake()
    winner = handlers.register(ports, data, PUBLIC)
    assert handlers.register(ports, copy.deepcopy(data), PUBLIC) == {
        "registration_id": winner["registration_id"],
        "created": False,
    }
    with pytest.raises(Conflict) as refused:  # the loser's payload differs: the first one wins
        handlers.register(ports, {**data, "themes": ["trauma"]}, PUBLIC)
    assert str(refused.value) == "key_reused"  # the code of a key used before for another registration
    assert store.emitted_types() == ["registration_created"] and len(store.registrations) == 1


def test_a_repeat_whose_place_the_directory_no_longer_knows_still_answers_with_the_first():
    store = FakeRegistrationStorage()
    data = intake()
    first = handlers.register(ports_with(store=store), data, PUBLIC)["registration_id"]
    later = ports_with(store=store, directory=FakeDirectory(postal_codes={}))
    assert handlers.register(later, copy.deepcopy(data), PUBLIC) == {"registration_id": first, "created": False}
    with pytest.raises(InvalidInput):  # a new key still needs a known place
        handlers.register(later, intake(), PUBLIC)


def test_only_the_national_office_rotates_the_contact_keys_and_every_record_is_resealed():
    ports, old_key = ports_with(), Fernet.generate_key()
    ports.store.vault = Vault([old_key], LOOKUP_KEY)
    rid = handlers.register(ports, intake(name="Kari Nøkkel"), PUBLIC)["registration_id"]
    ports.store.vault = Vault([Fernet.generate_key(), old_key], LOOKUP_KEY)
    assert not ports.store.vault.is_current(ports.store.contacts[rid])
    with pytest.raises(Forbidden):
        handlers.rotate_contact_keys(ports, STAFF_BERGEN)
    assert handlers.rotate_contact_keys(ports, ADMIN) == {"rotated": 1}
    assert handlers.rotate_contact_keys(ports, ADMIN) == {"rotated": 0}
    assert ports.store.vault.is_current(ports.store.contacts[rid])
    assert ports.store.contact(rid)["name"] == "Kari Nøkkel"


def test_the_national_office_notes_a_contact_for_a_purpose_from_a_fixed_list():
    ports = ports_with()
    rid = handlers.register(ports, intake(), PUBLIC)["registration_id"]
    before = ports.store.registrations[rid]["updated_at"]
    with pytest.raises(Forbidden):
        handlers.record_contact(ports, rid, "clarify_wishes", STAFF_BERGEN)
    with pytest.raises(InvalidInput) as refused:
        handlers.record_contact(ports, rid, "Ringte og snakket om angsten", ADMIN)  # no free text
    assert list(refused.value.errors) == ["purpose"]
    answer = handlers.record_contact(ports, rid, "offer_digital_group", ADMIN)
    assert answer == {"registration_id": rid, "purpose": "offer_digital_group", "contacted_at": "2026-11-28T09:00:00Z"}
    assert ports.store.events[-1]["event_type"] == "registration_contacted"
    assert ports.store.events[-1]["data"] == {"registration_id": rid, "purpose": "offer_digital_group"}
    registration = ports.store.registrations[rid]
    assert registration["last_contact"]["purpose"] == "offer_digital_group"
    assert registration["updated_at"] >= before  # activity: the retention period counts from here


def test_an_assignment_by_the_national_office_is_noted_as_activity():
    ports = ports_with()
    rid = handlers.register(ports, intake(), PUBLIC)["registration_id"]
    event = an_event("matching", "registration_assigned", {"registration_id": rid, "contact_point_id": "link-bergen"})
    handlers.follow_matching(ports, event)
    registration = ports.store.registrations[rid]
    assert registration["assigned_to"] == "link-bergen" and registration["assigned_at"] == event.occurred_at


def test_an_event_about_one_person_is_applied_once_with_its_ledger_in_their_registration():
    """Issue 19: registration_waitlisted costs a read and one write, no transaction; a redelivery
    finds its id in the registration and changes nothing (not even a later withdrawal)."""
    ports = ports_with()
    rid = handlers.register(ports, intake(), PUBLIC)["registration_id"]
    transactions = ports.store.transactions
    event = an_event("matching", "registration_waitlisted", waitlisted_data(rid, "link-bergen"))
    handlers.follow_matching(ports, event)
    assert ports.store.transactions == transactions
    assert ports.store.registrations[rid]["status"] == "waiting"
    assert ports.store.registrations[rid]["contact_point_id"] == "link-bergen"
    handlers.withdraw(ports, rid, ADMIN, "person")
    handlers.follow_matching(ports, event)
    assert ports.store.registrations[rid]["status"] == "withdrawn"
    assert "applied_events" not in handlers.get_registration(ports, rid, ADMIN)


def waitlisted_data(rid, contact_point_id):
    return {
        "registration_id": rid,
        "contact_point_id": contact_point_id,
        "route_kind": "contact_point",
        "reason": "serves Bergen",
    }
