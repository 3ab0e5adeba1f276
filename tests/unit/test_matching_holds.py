"""matching, issue 13: a person's break (paused, resumed), a return after withdrawing (came_back),
and pairs registration flags. matching's entrypoints over its in-memory store; only the directory
proxy is a mock."""

from datetime import timedelta

import pytest

from services.common import clock
from tests.fakes import an_event
from tests.unit.test_matching_service import (
    BERGEN,
    NATIONAL,
    REGISTERED,
    arrive,
    emitted,
    proposed,
    service_with,
)

NOW = REGISTERED + timedelta(days=1)


@pytest.fixture(autouse=True)
def fixed_clock():
    with clock.use(clock.FixedClock(NOW)) as fixed:
        yield fixed


def paused(service, rid, weeks=4):
    until = clock.now() + timedelta(weeks=weeks)
    service.handle_registration_paused(
        an_event("registration", "registration_paused", {"registration_id": rid, "paused_until": until.isoformat()})
    )


def resumed(service, rid, reason="pause_cancelled", occurred_at=None):
    service.handle_registration_resumed(
        an_event(
            "registration", "registration_resumed", {"registration_id": rid, "reason": reason}, occurred_at=occurred_at
        )
    )


def withdrawn(service, rid, occurred_at=None):
    service.handle_registration_withdrawn(
        an_event(
            "registration",
            "registration_withdrawn",
            {"registration_id": rid, "reason": "person"},
            occurred_at=occurred_at,
        )
    )


def test_a_paused_person_is_in_no_pool_and_comes_back_at_their_place_in_the_queue(fixed_clock):
    service, store = service_with([BERGEN, NATIONAL])
    arrive(service, "r1")
    paused(service, "r1")
    entry = store.entry("r1")
    assert entry["pools"] == [] and entry["held"] == "paused" and entry["next_widening_at"] is None
    assert store.pool_entries("link-bergen|self|nb") == []
    staff = {"role": "contact_point_staff", "contact_point_ids": ["link-bergen"]}
    assert service.pool("link-bergen", staff)[0]["paused_until"] == "2026-11-30T09:00:00Z"
    fixed_clock.advance(days=10)
    resumed(service, "r1")
    entry = store.entry("r1")
    assert entry["pools"] == ["link-bergen|self|nb"] and entry["held"] is None
    assert entry["queue_since"] == REGISTERED  # kept
    assert entry["paused_seconds"] == timedelta(days=10).total_seconds()
    [record] = store.figure_people()  # and the figures count the ten days toward no waiting time
    assert record["paused_seconds"] == timedelta(days=10).total_seconds()
    # The ten days paused count toward no widening: mixed themes after 14 days of waiting, not 4.
    assert entry["next_widening_at"] == REGISTERED + timedelta(days=24)


def test_paused_people_are_not_proposed_and_a_resumed_one_completes_a_group():
    service, store = service_with([BERGEN, NATIONAL])
    arrive(service, "r0")
    paused(service, "r0")
    for i in range(1, 5):
        arrive(service, f"r{i}")
    assert proposed(store) == []
    resumed(service, "r0", "pause_ended")
    [group] = proposed(store)
    assert sorted(group["members"]) == ["r0", "r1", "r2", "r3", "r4"]


def test_a_pause_takes_the_person_out_of_a_proposal_which_is_dissolved_if_it_cannot_be_refilled():
    service, store = service_with([BERGEN, NATIONAL])
    for i in range(5):
        arrive(service, f"r{i}")
    [group] = proposed(store)
    paused(service, "r2")
    assert emitted(store, "group_member_left")[-1]["registration_id"] == "r2"
    assert store.group(group["_id"])["state"] == "closed"  # dissolved: the others wait again
    assert store.entry("r2")["group_id"] is None and store.entry("r2")["held"] == "paused"
    assert store.entry("r1")["pools"] == ["link-bergen|self|nb"]


def test_a_pause_that_crossed_a_confirmation_gives_way_to_the_group():
    service, store = service_with([BERGEN, NATIONAL])
    for i in range(5):
        arrive(service, f"r{i}")
    [group] = proposed(store)
    service.confirm_group(
        group["_id"],
        {"meeting_place_id": "library", "first_meeting_at": "2030-01-08T18:00:00Z", "starter_id": "s1"},
        {"role": "contact_point_staff", "contact_point_ids": ["link-bergen"]},
    )
    paused(service, "r1")
    assert store.entry("r1")["group_id"] == group["_id"] and not store.entry("r1")["held"]


def test_a_resume_overtaken_by_its_pause_on_the_bus_leaves_the_person_waiting(fixed_clock):
    service, store = service_with([BERGEN, NATIONAL])
    arrive(service, "r1")
    pause_at = clock.now()
    fixed_clock.advance(minutes=5)
    resumed(service, "r1")  # the later event comes first
    service.handle_registration_paused(
        an_event(
            "registration",
            "registration_paused",
            {"registration_id": "r1", "paused_until": (pause_at + timedelta(weeks=2)).isoformat()},
            occurred_at=pause_at,
        )
    )
    assert store.entry("r1")["held"] is None and store.entry("r1")["pools"] == ["link-bergen|self|nb"]


def test_a_person_who_comes_back_is_waitlisted_again_at_their_place_and_hears_of_it(fixed_clock):
    service, store = service_with([BERGEN, NATIONAL])
    arrive(service, "r1")
    withdrawn(service, "r1")
    assert store.entry("r1") is None and [record["left_at"] for record in store.figure_people()] == [clock.now()]
    fixed_clock.advance(days=30)
    resumed(service, "r1", "came_back")
    entry = store.entry("r1")
    assert entry["queue_since"] == REGISTERED and entry["pools"] == ["link-bergen|self|nb"]
    assert [e["registration_id"] for e in emitted(store, "registration_waitlisted")] == ["r1", "r1"]
    assert store.withdrawn_entry("r1") is None


def test_an_unroutable_person_who_comes_back_is_routed_afresh():
    service, store = service_with([NATIONAL])
    arrive(service, "r1")
    withdrawn(service, "r1")
    service.directory.route.return_value = [BERGEN, NATIONAL]
    service.routes.clear()
    resumed(service, "r1", "came_back")
    assert store.entry("r1")["contact_point_id"] == "link-bergen"


def test_a_withdrawal_overtaken_by_the_return_on_the_bus_is_ignored(fixed_clock):
    service, store = service_with([BERGEN, NATIONAL])
    arrive(service, "r1")
    withdrew_at = clock.now()
    fixed_clock.advance(seconds=30)
    resumed(service, "r1", "came_back")  # the return comes first: nothing to undo yet
    withdrawn(service, "r1", occurred_at=withdrew_at)
    assert store.entry("r1")["pools"] == ["link-bergen|self|nb"]


def test_erasure_forgets_what_was_kept_for_a_return():
    service, store = service_with([BERGEN, NATIONAL])
    arrive(service, "r1")
    withdrawn(service, "r1")
    service.handle_registration_erased(
        an_event("registration", "registration_erased", {"registration_id": "r1", "reason": "request"})
    )
    assert store.withdrawn_entry("r1") is None
    resumed(service, "r1", "came_back")
    assert store.entry("r1") is None


def pair(service, event_type, a, b, reason="avoid"):
    handler = getattr(service, f"handle_{event_type}")
    handler(an_event("registration", event_type, {"registration_ids": sorted((a, b)), "reason": reason}))


def test_a_flagged_pair_is_never_proposed_together_and_clearing_it_keeps_a_staff_record():
    service, store = service_with([BERGEN, NATIONAL])
    pair(service, "registration_pair_flagged", "r0", "r1")
    for i in range(6):
        arrive(service, f"r{i}")
    [group] = proposed(store)
    assert not {"r0", "r1"} <= set(group["members"])
    staff = {"role": "contact_point_staff", "contact_point_ids": ["link-bergen"]}
    service.record_acquaintances("r2", "r3", staff)
    pair(service, "registration_pair_flagged", "r2", "r3")
    pair(service, "registration_pair_cleared", "r2", "r3")
    assert store.acquaintances_among(["r2", "r3"]) == [frozenset({"r2", "r3"})]  # staff's record stays
    pair(service, "registration_pair_cleared", "r0", "r1")
    assert store.acquaintances_among(["r0", "r1"]) == []


def test_a_possible_duplicate_is_never_in_one_group_with_its_twin_until_staff_resolve_the_flag():
    """Issue 14: one address registered twice was placed twice in one group."""
    service, store = service_with([BERGEN, NATIONAL])
    pair(service, "registration_pair_flagged", "r0", "r1", "possible_duplicate")
    pair(service, "registration_pair_flagged", "r0", "r1")  # r0 also listed r1 as someone not to meet
    for i in range(6):
        arrive(service, f"r{i}")
    [group] = proposed(store)
    assert not {"r0", "r1"} <= set(group["members"])
    pair(service, "registration_pair_cleared", "r0", "r1", "possible_duplicate")
    assert store.acquaintances_among(["r0", "r1"]) == [frozenset({"r0", "r1"})]  # the avoid flag stays
    pair(service, "registration_pair_cleared", "r0", "r1")
    assert store.acquaintances_among(["r0", "r1"]) == []
