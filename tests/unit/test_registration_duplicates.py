"""registration, issue 14: two registrations with the same e-mail or phone become a pair matching
never puts in one group (registration_pair_flagged, reason possible_duplicate), until staff say
they are two people (registration_pair_cleared). In-memory fakes; only the directory proxy is a mock."""

from datetime import UTC, datetime

import pytest

from services.common import clock
from services.common.errors import Conflict, Forbidden, InvalidInput
from tests.fakes import an_event
from tests.samples import intake
from tests.unit.test_registration_service import ADMIN, PUBLIC, STAFF_BERGEN, STAFF_OSLO, a_service, waitlisted

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_clock():
    with clock.use(clock.FixedClock(NOW)):
        yield


def registered(service, **changes):
    return service.register(intake(**changes), PUBLIC)["registration_id"]


def pairs(store, event_type):
    return [e["data"] for e in store.events if e["event_type"] == event_type]


def test_the_same_address_registered_twice_is_flagged_to_matching_before_the_second_is_created():
    service, store = a_service()
    first = registered(service, email="kari@example.no", phone="+4791234567")
    second = registered(service, email="kari@example.no", phone="+4798765432")
    registered(service, email="per@example.no", phone="+4741234567")  # someone else: no flag
    assert pairs(store, "registration_pair_flagged") == [
        {"registration_ids": sorted((first, second)), "reason": "possible_duplicate"}
    ]
    types = store.emitted_types()
    assert types.index("registration_pair_flagged") < types.index(
        "registration_created", types.index("registration_pair_flagged")
    )
    assert store.registrations[first]["possible_duplicates"] == [second]


def test_staff_of_both_say_they_are_two_people_and_the_flag_is_cleared_once():
    service, store = a_service()
    first = registered(service, email="kari@example.no")
    second = registered(service, email="kari@example.no", phone="+4798765432")
    waitlisted(service, first)
    waitlisted(service, second)
    with pytest.raises(Forbidden):
        service.resolve_duplicate(first, second, STAFF_OSLO)
    assert service.resolve_duplicate(first, second, STAFF_BERGEN) == {
        "registration_ids": sorted((first, second)),
        "resolved": True,
    }
    assert pairs(store, "registration_pair_cleared") == [
        {"registration_ids": sorted((first, second)), "reason": "possible_duplicate"}
    ]
    assert store.registrations[first]["possible_duplicates"] == []
    assert store.registrations[second]["possible_duplicates"] == []
    with pytest.raises(Conflict, match="not_flagged"):
        service.resolve_duplicate(second, first, ADMIN)
    with pytest.raises(InvalidInput) as refused:
        service.resolve_duplicate(first, first, ADMIN)
    assert refused.value.errors == {"other_id": ["same_person"]}
    assert len(pairs(store, "registration_pair_cleared")) == 1


def proposed(service, contact_point_id, *registration_ids, group_id="g1"):
    data = {"group_id": group_id, "contact_point_id": contact_point_id, "registration_ids": list(registration_ids)}
    data["explanation"] = {"summary": "x", "slot": {"weekday": "tue", "part_of_day": "evening"}, "theme": None}
    data["explanation"].update(mixed=True, relaxed=[], longest_wait_days=3)
    service.handle_group_proposed(an_event("matching", "group_proposed", data, schema_version=2))


def test_staff_read_the_first_names_of_those_they_wait_with_or_have_proposed_a_group_of():
    service, store = a_service()
    home, widened, stranger = (registered(service, name=f"{n} Nordmann") for n in ("Kari", "Ola", "Per"))
    waitlisted(service, home)
    waitlisted(service, widened, "link-oslo")  # came to Bergen's proposal through widening
    waitlisted(service, stranger, "link-oslo")
    proposed(service, "link-bergen", home, widened)
    names = service.first_names([home, widened, stranger], "link-bergen", STAFF_BERGEN)
    assert names == {home: "Kari", widened: "Ola"}  # the first name only; the stranger left out
    with pytest.raises(Forbidden):
        service.first_names([home], "link-bergen", STAFF_OSLO)
    assert service.first_names([widened, stranger], "link-oslo", STAFF_OSLO) == {widened: "Ola", stranger: "Per"}


@pytest.mark.parametrize(
    "event_type,version,data",
    [
        ("group_rejected", 1, {"reason": "no_room"}),
        ("group_closed", 2, {"reason": "superseded"}),
    ],
)
def test_a_proposal_rejected_or_superseded_no_longer_lets_its_staff_read_the_names(event_type, version, data):
    service, store = a_service()
    widened, other = registered(service, name="Ola Nordmann"), registered(service, name="Per Nordmann")
    waitlisted(service, widened, "link-oslo")
    waitlisted(service, other, "link-oslo")
    proposed(service, "link-bergen", widened, other, group_id="g1")
    proposed(service, "link-bergen", other, group_id="g2")  # a second proposal holds one of them
    assert service.first_names([widened, other], "link-bergen", STAFF_BERGEN) == {widened: "Ola", other: "Per"}
    ended = {"group_id": "g1", "contact_point_id": "link-bergen", "registration_ids": [widened, other], **data}
    handle = getattr(service, f"handle_{event_type}")
    handle(an_event("matching", event_type, ended, schema_version=version))
    assert service.first_names([widened, other], "link-bergen", STAFF_BERGEN) == {other: "Per"}  # g2 still holds Per
    assert service.find_by_reference(widened[:8], STAFF_BERGEN) == []
    assert service.first_names([widened], "link-oslo", STAFF_OSLO) == {widened: "Ola"}  # their own contact point


def test_staff_find_people_by_a_short_reference_among_their_own_only():
    service, store = a_service()
    mine, other = registered(service), registered(service)
    waitlisted(service, mine)
    waitlisted(service, other, "link-oslo")
    found = service.find_by_reference(mine[:8].upper(), STAFF_BERGEN)
    assert found == [{"registration_id": mine, "status": "waiting", "contact_point_id": "link-bergen"}]
    assert service.find_by_reference(other[:8], STAFF_BERGEN) == []  # not theirs
    assert [p["registration_id"] for p in service.find_by_reference(other[:6], ADMIN)] == [other]
    with pytest.raises(InvalidInput):
        service.find_by_reference("x'; drop", STAFF_BERGEN)
