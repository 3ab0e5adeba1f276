"""registration, issue 13: course cohorts through the web. A course leader (a referrer) creates a
cohort and gets a code; participants register themselves with it; the leader sees counts only.
In-memory fakes of registration's ports; only the directory proxy is a mock."""

from datetime import UTC, datetime, timedelta

import pytest
from nameko.exceptions import RemoteError

from services.common import clock
from services.common.errors import Forbidden, InvalidInput, NotFound
from services.registration import cohorts
from tests.samples import intake
from tests.unit.test_registration_service import PUBLIC, REFERRER, STAFF_BERGEN, a_service

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
COURSE = {
    "contact_point_id": "link-bergen",
    "expected_size": 6,
    "slot": {"weekday": "thu", "part_of_day": "evening", "start_time": "18:00"},
    "keep_together": True,
}


@pytest.fixture(autouse=True)
def fixed_clock():
    with clock.use(clock.FixedClock(NOW)) as fixed:
        yield fixed


def a_cohort(**changes):
    service, store = a_service()
    service.directory.get_contact_point.return_value = {"contact_point_id": "link-bergen", "active": True}
    created = service.create_cohort({**COURSE, **changes}, REFERRER)
    return service, store, created


def join(service, cohort_id, keep_together=False):
    return service.register(intake(cohort={"cohort_id": cohort_id, "keep_together": keep_together}), PUBLIC)


def test_a_course_leader_creates_a_cohort_with_a_code_and_a_deadline_three_weeks_on():
    service, store, created = a_cohort()
    assert created["deadline"] == "2026-12-19T09:00:00Z"
    assert len(created["code"]) == 10 and set(created["code"]) <= set(cohorts.CROCKFORD)
    [event] = [e for e in store.events if e["event_type"] == "cohort_created"]
    assert event["data"] == {
        "cohort_id": created["cohort_id"],
        "contact_point_id": "link-bergen",
        "expected_size": 6,
        "slot": COURSE["slot"],
        "deadline": "2026-12-19T09:00:00Z",
    }


def test_only_a_course_leader_creates_one_and_each_bad_field_is_named():
    service, _ = a_service()
    service.directory.get_contact_point.return_value = {"contact_point_id": "link-bergen", "active": True}
    with pytest.raises(Forbidden):
        service.create_cohort(COURSE, STAFF_BERGEN)
    cases = [
        ({"expected_size": 3}, "expected_size"),
        ({"expected_size": 13}, "expected_size"),
        ({"slot": {"weekday": "thu", "part_of_day": "evening", "start_time": "25:00"}}, "slot"),
        ({"slot": {"weekday": "thu", "part_of_day": "morning", "start_time": "18:00"}}, "slot"),
        ({"keep_together": "yes"}, "keep_together"),
        ({"room": "big"}, "room"),
    ]
    for changes, field in cases:
        with pytest.raises(InvalidInput) as refused:
            service.create_cohort({**COURSE, **changes}, REFERRER)
        assert list(refused.value.errors) == [field], changes
    service.directory.get_contact_point.side_effect = RemoteError("NotFound", "no contact point")
    with pytest.raises(InvalidInput) as refused:
        service.create_cohort(COURSE, REFERRER)
    assert refused.value.errors == {"contact_point_id": ["unknown_contact_point"]}


def test_a_code_is_found_as_people_type_it_and_an_unknown_or_expired_one_is_not(fixed_clock):
    service, _, created = a_cohort()
    code = created["code"]
    typed = f" {code[:5].lower()}-{code[5:]} ".replace("0", "o").replace("1", "l")
    assert service.cohort_by_code(typed) == {
        "cohort_id": created["cohort_id"],
        "contact_point_id": "link-bergen",
        "keep_together": True,
        "open": True,
    }
    for wrong in ("", "ABC", "UUUUUUUUUU", None, 1234567890):
        with pytest.raises(NotFound, match="cohort"):
            service.cohort_by_code(wrong)
    fixed_clock.advance(days=21)
    with pytest.raises(NotFound):
        service.cohort_by_code(code)


def test_failed_attempts_under_one_prefix_are_throttled_for_an_hour(fixed_clock):
    service, _, created = a_cohort()
    code = created["code"]
    wrong = code[:2] + ("00000000" if code[2:] != "00000000" else "11111111")
    for _ in range(10):
        with pytest.raises(NotFound):
            service.cohort_by_code(wrong)
    with pytest.raises(NotFound):
        service.cohort_by_code(code)  # even the right code, for now
    fixed_clock.advance(hours=1, seconds=1)
    assert service.cohort_by_code(code)["cohort_id"] == created["cohort_id"]


def test_participants_register_with_the_cohort_and_the_leader_sees_only_counts(fixed_clock):
    service, store, created = a_cohort(expected_size=4)
    first = join(service, created["cohort_id"])["registration_id"]
    assert store.registrations[first]["cohort"] == {"cohort_id": created["cohort_id"], "keep_together": True}
    for _ in range(3):
        join(service, created["cohort_id"])
    assert service.cohorts(REFERRER) == [
        {
            "cohort_id": created["cohort_id"],
            "contact_point_id": "link-bergen",
            "expected_size": 4,
            "registered": 4,
            "deadline": "2026-12-19T09:00:00Z",
            "code": created["code"],
        }
    ]
    assert service.cohort_by_code(created["code"])["open"] is False
    with pytest.raises(InvalidInput) as refused:
        join(service, created["cohort_id"])
    assert list(refused.value.errors) == ["cohort"]
    assert service.cohorts({**REFERRER, "referrer_id": "ref-2"}) == []


def test_a_cohort_past_its_deadline_takes_no_one_and_other_systems_cohorts_pass(fixed_clock):
    service, _, created = a_cohort()
    fixed_clock.advance(days=21, seconds=1)
    with pytest.raises(InvalidInput):
        join(service, created["cohort_id"])
    assert join(service, "kid-2026-bergen", keep_together=True)["created"]


def test_codes_differ_and_are_drawn_from_crockfords_alphabet():
    codes = {cohorts.new_code() for _ in range(200)}
    assert len(codes) == 200 and all(cohorts.normalised_code(code) == code for code in codes)
    assert cohorts.normalised_code("abcd-efgh-jk") == "ABCDEFGHJK"
    assert timedelta(days=21) == cohorts.LIFETIME
