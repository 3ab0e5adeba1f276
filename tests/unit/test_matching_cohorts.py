"""matching, issue 13: a course cohort forms one group at the course's time (split evenly above
the contact point's largest group), when everyone expected has come or at the deadline. matching's
entrypoints over its in-memory store; only the directory proxy is a mock."""

from datetime import timedelta

import pytest

from services.common import clock
from services.matching import cohorts
from tests.fakes import an_event
from tests.unit.test_matching_service import ASKOY, NATIONAL, REGISTERED, arrive, emitted, proposed, service_with

NOW = REGISTERED + timedelta(days=1)
COURSE_SLOT = {"weekday": "thu", "part_of_day": "evening", "start_time": "18:00"}


@pytest.fixture(autouse=True)
def fixed_clock():
    with clock.use(clock.FixedClock(NOW)) as fixed:
        yield fixed


def created(service, expected=6, cohort_id="coh-1", contact_point_id="link-bergen"):
    service.handle_cohort_created(
        an_event(
            "registration",
            "cohort_created",
            {
                "cohort_id": cohort_id,
                "contact_point_id": contact_point_id,
                "expected_size": expected,
                "slot": COURSE_SLOT,
                "deadline": (NOW + timedelta(days=21)).isoformat(),
            },
        )
    )


def member(service, rid, cohort_id="coh-1", keep_together=True, **changes):
    arrive(service, rid, cohort={"cohort_id": cohort_id, "keep_together": keep_together}, **changes)


def test_a_cohort_waits_at_its_contact_point_and_becomes_one_group_when_everyone_has_come():
    service, store = service_with([ASKOY, NATIONAL])  # their own route would be Askøy
    created(service, expected=6)
    for i in range(5):
        member(service, f"c{i}", themes=["grief", "anxiety"] if i else ["anxiety", "grief"])
    assert proposed(store) == [] and service.directory.route.call_count == 0
    assert store.entry("c0")["contact_point_id"] == "link-bergen"
    assert emitted(store, "registration_waitlisted")[0]["contact_point_id"] == "link-bergen"
    member(service, "c5", themes=["grief"], role="relative", languages=["en"])
    [group] = proposed(store)
    assert sorted(group["members"]) == [f"c{i}" for i in range(6)]
    assert group["slot"] == "thu:evening" and group["theme"] == "grief"
    summary = group["explanation"]["summary"]
    assert "course cohort kept together: 6 of the 6 expected" in summary and "Thursday evening at 18:00" in summary
    assert "different roles or first languages are together, as joining by the cohort's code implies" in summary


def test_members_who_came_before_the_cohort_was_announced_move_into_its_pool():
    service, store = service_with([ASKOY, NATIONAL])
    for i in range(4):
        member(service, f"c{i}")
    assert store.entry("c0")["home_pool"] == "cp-4627|self|nb"
    created(service, expected=4)
    [group] = proposed(store)
    assert group["contact_point_id"] == "link-bergen" and len(group["members"]) == 4


def test_at_the_deadline_the_cohort_forms_with_those_who_registered(fixed_clock):
    service, store = service_with([ASKOY, NATIONAL])
    created(service, expected=8)
    for i in range(4):
        member(service, f"c{i}")
    service.group_life()
    assert proposed(store) == []
    fixed_clock.advance(days=21)
    assert service.group_life()["cohorts"] == 1
    [group] = proposed(store)
    assert "4 of the 8 expected" in group["explanation"]["summary"]
    assert service.group_life()["cohorts"] == 0


def test_too_few_at_the_deadline_wait_in_the_contact_points_own_pool(fixed_clock):
    service, store = service_with([ASKOY, NATIONAL])
    created(service, expected=6)
    member(service, "c0")
    member(service, "c1")
    fixed_clock.advance(days=21)
    service.group_life()
    assert proposed(store) == []
    assert store.entry("c0")["pools"] == ["link-bergen|self|nb"] and store.entry("c0")["next_widening_at"]


def test_a_cohort_above_the_largest_group_is_split_evenly():
    service, store = service_with([ASKOY, NATIONAL])
    created(service, expected=12)
    for i in range(12):
        member(service, f"c{i:02}")
    groups = proposed(store)
    assert sorted(len(g["members"]) for g in groups) == [6, 6]
    assert "split evenly into 2 groups" in groups[0]["explanation"]["summary"]
    assert cohorts.split_evenly(list("abcdefghijk"), 8) == [list("abcdef"), list("ghijk")]


def test_a_cohort_that_did_not_ask_to_be_kept_together_is_routed_as_anyone():
    service, store = service_with([ASKOY, NATIONAL])
    created(service)
    member(service, "c0", keep_together=False)
    assert store.entry("c0")["home_pool"] == "cp-4627|self|nb"
