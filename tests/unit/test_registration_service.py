"""registration's entrypoints with in-memory fakes of its own ports; only the directory proxy is a mock."""

import copy
from datetime import timedelta

import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import worker_factory

from services.common import clock
from services.common.cache import TtlCache
from services.common.contracts import RegistrationRequested
from services.common.delivery import PermanentError
from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.registration.service import PLACE_CACHE_SECONDS, RegistrationService
from tests.fakes import an_event
from tests.fakes.registration import BERGEN_PLACE, FakeRegistrationStorage
from tests.samples import intake

STAFF_BERGEN = {"role": "contact_point_staff", "contact_point_ids": ["link-bergen"], "account_id": "acc-1"}
STAFF_OSLO = {"role": "contact_point_staff", "contact_point_ids": ["link-oslo"], "account_id": "acc-2"}
ADMIN = {"role": "national_admin", "account_id": "acc-0"}
#: Actors as @rpc hands them on once verified (worker_factory calls the methods themselves).
PUBLIC = {"role": "public", "issuer": "gateway"}
NOTIFICATION = {"role": "service", "service": "notification", "issuer": "notification"}
REFERRER = {"role": "referrer", "referrer_id": "ref-1", "account_id": "acc-3"}
OTHER_REFERRER = {"role": "referrer", "referrer_id": "ref-2", "account_id": "acc-4"}


def a_service():
    store = FakeRegistrationStorage()
    service = worker_factory(
        RegistrationService, store=store, places=TtlCache(PLACE_CACHE_SECONDS), clock=clock.CURRENT
    )
    service.directory.municipality_for_postal_code.return_value = BERGEN_PLACE
    service.directory.municipality.return_value = {k: v for k, v in BERGEN_PLACE.items() if k != "area"}
    return service, store


def registered(service, **changes):
    return service.register(intake(**changes), PUBLIC)["registration_id"]


def waitlisted(service, registration_id, contact_point_id="link-bergen"):
    service.handle_registration_waitlisted(
        an_event(
            "matching",
            "registration_waitlisted",
            {
                "registration_id": registration_id,
                "contact_point_id": contact_point_id,
                "route_kind": "contact_point",
                "reason": "serves Bergen",
            },
        )
    )


def referred(**changes):
    return dict(
        referral={"referrer_id": "ref-1", "organisation": "Rask psykisk helsehjelp Bergen"},
        consent={
            "purpose": "self_help_group_matching",
            "text_version": "2026-01",
            "given_at": "2026-11-28T08:59:00Z",
            "channel": "referrer",
        },
        **changes,
    )


# --- fields -----------------------------------------------------------------------------------------

BAD_FIELDS = [
    ("idempotency_key", "", "length"),
    ("name", "", "length"),
    ("email", "not-an-address", "invalid"),
    ("phone", "+4712345678", "not_norwegian_mobile"),
    ("postal_code", "50", "not_four_digits"),
    ("role", "patient", "not_one_of"),
    ("themes", [], "length"),
    ("languages", ["norsk"], "invalid"),
    ("availability", [{"weekday": "someday", "part_of_day": "evening"}], "not_one_of"),
    ("open_to_mixed", "yes", "invalid"),
    ("birth_year", "1980", "invalid"),
    ("digital_ok", "no", "invalid"),
    ("accessibility_needs", ["lift"], "not_one_of"),
    ("message_language", "sv", "not_one_of"),
    ("preferred_channel", "pigeon", "not_one_of"),
    ("free_text", "x" * 2001, "length"),
    ("cohort", {"cohort_id": "kid-1"}, "required"),
    (
        "consent",
        {"purpose": "marketing", "text_version": "1", "given_at": "2026-11-28T08:59:00Z", "channel": "self"},
        "consent_purpose",
    ),
    ("shoe_size", 42, "unknown_field"),
]


@pytest.mark.parametrize("field,value,code", BAD_FIELDS, ids=[f for f, _, _ in BAD_FIELDS])
def test_each_bad_field_gets_its_own_error_code_and_nothing_is_stored(field, value, code):
    """The codes are stable (the gateway words them in the reader's language): never a value."""
    service, store = a_service()
    with pytest.raises(InvalidInput) as refused:
        service.register(intake(**{field: value}), PUBLIC)
    assert list(refused.value.errors) == [field]
    assert code in str(refused.value.errors[field])
    assert store.registrations == {} and store.contacts == {} and store.events == []


def test_under_18_gets_a_code_of_its_own_the_form_points_to_services_for_young_people_by():
    service, store = a_service()
    with pytest.raises(InvalidInput) as refused:
        service.register(intake(birth_year=clock.today_in_oslo().year - 16), PUBLIC)
    assert refused.value.errors == {"birth_year": ["under_18"]}
    assert store.registrations == {}


def test_without_consent_nothing_is_stored():
    service, store = a_service()
    data = intake()
    del data["consent"]
    with pytest.raises(InvalidInput) as refused:
        service.register(data, PUBLIC)
    assert refused.value.errors == {"consent": ["required"]}
    assert store.registrations == {}


@pytest.mark.parametrize(
    "field,value,remote,message",
    [
        ("postal_code", "0000", "UnknownPostalCode", "unknown_postal_code"),
        ("municipality_number", "9999", "UnknownMunicipality", "unknown_municipality"),
    ],
)
def test_an_unknown_place_is_refused_on_its_own_field_and_nothing_is_stored(field, value, remote, message):
    service, store = a_service()
    failure = RemoteError(remote, "unknown")
    service.directory.municipality_for_postal_code.side_effect = failure
    service.directory.municipality.side_effect = failure
    data = intake()
    del data["postal_code"]
    with pytest.raises(InvalidInput) as refused:
        service.register({**data, field: value}, PUBLIC)
    assert refused.value.errors == {field: [message]}
    assert store.registrations == {} and store.events == []


def test_an_intake_event_with_an_unknown_place_emits_the_rejection_only():
    service, store = a_service()
    service.directory.municipality_for_postal_code.side_effect = RemoteError("UnknownPostalCode", "unknown")
    data = RegistrationRequested().load(intake(postal_code="0000"))
    with pytest.raises(PermanentError):
        service.handle_registration_requested(an_event("intake", "registration_requested", data))
    assert store.emitted_types() == ["registration_rejected"]
    assert store.events[0]["data"] == {
        "idempotency_key": data["idempotency_key"],
        "errors": {"postal_code": ["unknown_postal_code"]},
    }
    assert store.registrations == {}


# --- idempotency and the same person ------------------------------------------------------------------


def test_a_postal_code_is_asked_of_the_directory_once_and_an_unknown_one_every_time():
    service, store = a_service()
    registered(service, idempotency_key="k-1")
    registered(service, idempotency_key="k-2")
    assert service.directory.municipality_for_postal_code.call_count == 1
    service.directory.municipality_for_postal_code.side_effect = RemoteError("UnknownPostalCode", "unknown")
    for key in ("k-3", "k-4"):
        with pytest.raises(InvalidInput):
            registered(service, idempotency_key=key, postal_code="0000")
    assert service.directory.municipality_for_postal_code.call_count == 3
    assert len(store.registrations) == 2


def test_the_same_key_twice_is_the_same_registration_and_one_event():
    service, store = a_service()
    data = intake()
    first, again = service.register(data, PUBLIC), service.register(copy.deepcopy(data), PUBLIC)
    assert first["created"] and not again["created"]
    assert first["registration_id"] == again["registration_id"]
    assert store.emitted_types() == ["registration_created"]


def test_a_redelivered_intake_event_is_applied_once():
    service, store = a_service()
    event = an_event("intake", "registration_requested", RegistrationRequested().load(intake()))
    service.handle_registration_requested(event)
    service.handle_registration_requested(event)
    assert store.emitted_types() == ["registration_created"] and len(store.registrations) == 1


def test_a_key_reused_with_another_payload_is_refused():
    service, store = a_service()
    data = intake()
    service.register(data, PUBLIC)
    with pytest.raises(Conflict) as refused:
        service.register({**data, "themes": ["trauma"]}, PUBLIC)
    assert str(refused.value) == "key_reused"  # the code of a key used before for another registration
    assert len(store.registrations) == 1


def test_the_same_person_registering_again_is_flagged_to_staff_not_merged():
    service, store = a_service()
    first = registered(service, email="Kari.Dup@Example.no", phone="+4791111111")
    second = registered(service, email="kari.dup@example.no ".strip().lower(), phone="+4792222222")
    third = registered(service, email="someone.else@example.no", phone="+4791111111")
    other = registered(service, email="unrelated@example.no", phone="+4793333333")
    for rid in (first, second, third, other):
        waitlisted(service, rid)
    view = lambda rid: service.get_registration(rid, STAFF_BERGEN)["possible_duplicates"]
    assert sorted(view(first)) == sorted([second, third])
    assert view(second) == [first] and view(third) == [first] and view(other) == []
    assert len(store.registrations) == 4
    assert all("kari" not in str(r).lower() for r in store.registrations.values())


# --- who may read what ----------------------------------------------------------------------------------


def test_staff_of_the_persons_contact_point_read_everything_and_others_are_refused():
    service, _ = a_service()
    rid = registered(service, name="Kari Nordmann", free_text="private words")
    with pytest.raises(Forbidden):  # not routed yet: only the national office
        service.get_registration(rid, STAFF_BERGEN)
    waitlisted(service, rid)
    seen = service.get_registration(rid, STAFF_BERGEN)
    assert (seen["name"], seen["free_text"], seen["status"], seen["contact_point_id"]) == (
        "Kari Nordmann",
        "private words",
        "waiting",
        "link-bergen",
    )
    assert seen["consent"]["channel"] == "self" and "fingerprint" not in seen
    assert service.get_registration(rid, ADMIN)["registration_id"] == rid
    for outsider in (STAFF_OSLO, REFERRER, {"role": "public"}, None):
        with pytest.raises(Forbidden):
            service.get_registration(rid, outsider)


def test_a_referrer_reads_only_the_status_of_their_own_referrals():
    service, _ = a_service()
    mine = service.register(intake(**referred()), REFERRER)["registration_id"]
    not_mine = registered(service)
    waitlisted(service, mine)
    assert service.referral_status(mine, REFERRER) == {
        "registration_id": mine,
        "status": "waiting",
        "updated_at": service.referral_status(mine, REFERRER)["updated_at"],
    }
    assert [s["registration_id"] for s in service.referral_statuses(REFERRER)] == [mine]
    assert service.referral_statuses(OTHER_REFERRER) == []
    for actor, rid in ((OTHER_REFERRER, mine), (REFERRER, not_mine)):
        with pytest.raises(Forbidden):
            service.referral_status(rid, actor)
    with pytest.raises(Forbidden):
        service.referral_statuses(STAFF_BERGEN)


def test_a_referrer_registers_only_under_their_own_id_with_attested_consent():
    service, store = a_service()
    with pytest.raises(Forbidden):
        service.register(intake(**referred()), OTHER_REFERRER)
    with pytest.raises(InvalidInput) as refused:
        service.register(intake(referral={"referrer_id": "ref-1", "organisation": "GP"}), REFERRER)
    assert list(refused.value.errors) == ["consent"]
    assert store.registrations == {}


def test_referral_status_follows_matching_into_a_group_and_out_again():
    service, _ = a_service()
    rid = service.register(intake(**referred()), REFERRER)["registration_id"]
    waitlisted(service, rid)
    group = {"group_id": "g1", "contact_point_id": "link-bergen", "registration_ids": [rid]}
    service.handle_group_confirmed(
        an_event(
            "matching",
            "group_confirmed",
            {**group, "meeting_place_id": "mp1", "first_meeting_at": "2026-12-01T18:00:00Z", "starter_id": "s1"},
        )
    )
    assert service.referral_status(rid, REFERRER)["status"] == "in_group"
    service.handle_group_member_left(
        an_event("matching", "group_member_left", {**group, "registration_id": rid, "reason": "left"})
    )
    assert service.referral_status(rid, REFERRER)["status"] == "waiting"
    service.withdraw(rid, REFERRER, "referrer")
    assert service.referral_status(rid, REFERRER)["status"] == "withdrawn"


# --- withdrawal and erasure -----------------------------------------------------------------------------


def test_withdrawal_keeps_the_record_emits_once_and_the_person_can_come_back():
    service, store = a_service()
    rid = registered(service)
    waitlisted(service, rid)
    with pytest.raises(Forbidden):
        service.withdraw(rid, STAFF_OSLO, "person")
    assert service.withdraw(rid, STAFF_BERGEN, "person")["changed"]
    assert not service.withdraw(rid, STAFF_BERGEN, "person")["changed"]
    assert store.emitted_types().count("registration_withdrawn") == 1
    assert store.events[-1]["data"] == {"registration_id": rid, "reason": "person"}
    assert service.get_registration(rid, STAFF_BERGEN)["status"] == "withdrawn"
    waitlisted(service, rid)  # a late waitlisting does not undo the withdrawal
    assert service.get_registration(rid, STAFF_BERGEN)["status"] == "withdrawn"
    assert service.come_back(rid, STAFF_BERGEN)["changed"]
    assert store.events[-1]["event_type"] == "registration_resumed"  # no longer registration_updated (issue 13)
    assert store.events[-1]["data"] == {"registration_id": rid, "reason": "came_back"}


def test_erasure_deletes_the_person_keeps_anonymous_counts_and_the_key_cannot_bring_them_back():
    service, store = a_service()
    data = intake(email="dup@example.no")
    rid = service.register(data, PUBLIC)["registration_id"]
    twin = registered(service, email="dup@example.no")
    waitlisted(service, rid)
    with pytest.raises(InvalidInput):
        service.erase(rid, STAFF_BERGEN, "retention")  # the timer's reason, not a caller's
    assert service.erase(rid, STAFF_BERGEN, "consent_withdrawn")["erased"]
    assert store.events[-1]["event_type"] == "registration_erased"
    assert store.events[-1]["data"] == {"registration_id": rid, "reason": "consent_withdrawn"}
    assert rid not in store.registrations and rid not in store.contacts
    assert rid not in str(store.registrations)  # nor in the twin's duplicate flags
    assert store.counts() == {"registered": 2, "erased_consent_withdrawn": 1}
    with pytest.raises(NotFound):
        service.erase(rid, ADMIN, "request")
    with pytest.raises(NotFound):
        service.contact_details(rid, NOTIFICATION)
    with pytest.raises(Conflict) as refused:
        service.register(data, PUBLIC)
    assert "erased" in str(refused.value)
    assert twin in store.registrations


def test_the_retention_sweep_erases_only_the_long_inactive_and_is_idempotent():
    service, store = a_service()
    old, recent, waiting = registered(service), registered(service), registered(service)
    for rid in (old, recent, waiting):
        waitlisted(service, rid)
    service.withdraw(old, ADMIN, "person")
    service.withdraw(recent, ADMIN, "person")
    long_ago = clock.now() - timedelta(days=400)
    store.registrations[old]["last_activity_at"] = long_ago
    store.registrations[waiting]["last_activity_at"] = long_ago  # waiting in a pool is activity
    assert service.erase_after_retention() == 1
    assert service.erase_after_retention() == 0
    assert set(store.registrations) == {recent, waiting}
    assert store.events[-1]["data"] == {"registration_id": old, "reason": "retention"}


def test_notification_gets_contact_details_by_rpc():
    service, _ = a_service()
    rid = registered(service, name="Kari Nordmann", email="kari.n@example.no", phone="+4791234567")
    details = service.contact_details(rid, NOTIFICATION)
    assert service.open_link(details.pop("link_token")) == {"registration_id": rid}  # a fresh personal link
    assert details == {
        "registration_id": rid,
        "name": "Kari Nordmann",
        "email": "kari.n@example.no",
        "phone": "+4791234567",
        "message_language": "nb",
        "preferred_channel": "email",
        "status": "registered",
        "referral": None,
    }
    referred_id = registered(service, **referred())
    assert service.contact_details(referred_id, NOTIFICATION)[
        "referral"
    ] == {  # the referrer's address is the gateway's
        "referrer_id": "ref-1",
        "organisation": "Rask psykisk helsehjelp Bergen",
    }


def test_contact_details_answer_notification_and_the_gateways_staff_view_only_and_every_call_is_logged():
    service, store = a_service()
    rid = registered(service, name="Kari Nordmann", email="kari.n@example.no")
    waitlisted(service, rid)
    staff = {**STAFF_BERGEN, "issuer": "gateway", "purpose": "case handling"}
    assert service.contact_details(rid, staff)["email"] == "kari.n@example.no"
    outsiders = (
        {"role": "service", "service": "matching", "issuer": "matching"},
        {**STAFF_OSLO, "issuer": "gateway"},
        {**REFERRER, "issuer": "gateway"},
        {"role": "ops", "issuer": "ops"},
        PUBLIC,
        None,
    )
    for outsider in outsiders:
        with pytest.raises(Forbidden):
            service.contact_details(rid, outsider)
    with pytest.raises(NotFound):
        service.contact_details("nobody", NOTIFICATION)
    service.contact_details(rid, NOTIFICATION)
    log = store.contact_reads
    assert [(e["role"], e["outcome"]) for e in log] == [
        ("contact_point_staff", "allowed"),
        *[((o or {}).get("role"), "refused") for o in outsiders],
        ("service", "not_found"),
        ("service", "allowed"),
    ]
    assert log[0]["account_id"] == "acc-1" and log[0]["purpose"] == "case handling" and log[0]["at"] <= clock.now()
    assert log[-1]["service"] == "notification" and log[-1]["registration_id"] == rid
    assert "Kari" not in str(log) and "kari.n@example.no" not in str(log)  # who, whom, why; never what


# --- cohorts ------------------------------------------------------------------------------------------


def test_a_cohort_is_registered_together_and_matching_hears_the_cohort():
    service, store = a_service()
    cohort = {"cohort_id": "kid-bergen-2026-11", "keep_together": True}
    people = [{k: v for k, v in intake(**referred()).items()} for _ in range(3)]
    results = service.register_cohort({"cohort": cohort, "registrations": people}, REFERRER)
    assert [r["created"] for r in results] == [True, True, True]
    created = [e["data"] for e in store.events if e["event_type"] == "registration_created"]
    assert [c["cohort"] for c in created] == [cohort] * 3 and all(c["referred"] for c in created)


def test_a_cohort_with_one_bad_registration_stores_none_and_names_the_one():
    service, store = a_service()
    people = [intake(), intake(phone="123"), intake()]
    with pytest.raises(InvalidInput) as refused:
        service.register_cohort(
            {"cohort": {"cohort_id": "kib-1", "keep_together": False}, "registrations": people}, PUBLIC
        )
    assert refused.value.errors == {"registrations": {"1": {"phone": ["not_norwegian_mobile"]}}}
    assert store.registrations == {} and store.events == []
