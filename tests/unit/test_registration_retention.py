"""Retention for everyone (issue 17, item 7): the sweep erases the withdrawn, those whose group
closed and the unroutable once they were inactive for the retention period; what counts as
activity. registration's use cases with in-memory ports and a fixed clock."""

from datetime import UTC, datetime, timedelta

import pytest

from services.common import clock
from services.common.errors import InvalidInput
from services.registration import handlers
from services.registration.domain import LAST_ACTIVITY
from services.registration.ports import Ports
from tests.fakes import an_event, participant
from tests.fakes.registration import FakeDirectory, FakeRegistrationStorage
from tests.samples import intake

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
PUBLIC = {"role": "public", "issuer": "gateway"}
ADMIN = {"role": "national_admin", "account_id": "acc-0"}
STAFF_BERGEN = {"role": "contact_point_staff", "contact_point_ids": ["link-bergen"], "account_id": "acc-1"}
RETENTION = timedelta(days=365)


@pytest.fixture
def fixed():
    with clock.use(clock.FixedClock(T0)) as fixed:
        yield fixed


@pytest.fixture
def ports(fixed):
    return Ports(store=FakeRegistrationStorage(), directory=FakeDirectory(), clock=clock.CURRENT)


def registered(ports):
    return handlers.register(ports, intake(), PUBLIC)["registration_id"]


def follow(ports, event_type, data, schema_version=1):
    handlers.follow_matching(ports, an_event("matching", event_type, data, schema_version=schema_version))


def waitlisted(ports, rid, occurred_at=None):
    data = {"registration_id": rid, "contact_point_id": "link-bergen", "route_kind": "contact_point", "reason": "x"}
    handlers.follow_matching(ports, an_event("matching", "registration_waitlisted", data, occurred_at=occurred_at))


def unroutable(ports, rid, occurred_at=None):
    data = {"registration_id": rid, "reason": "no contact point serves Utsira"}
    handlers.follow_matching(ports, an_event("matching", "registration_unroutable", data, occurred_at=occurred_at))


def in_group(ports, group_id, *rids):
    data = {"group_id": group_id, "contact_point_id": "link-bergen", "registration_ids": list(rids)}
    follow(
        ports,
        "group_confirmed",
        {**data, "meeting_place_id": "mp-1", "first_meeting_at": "2026-12-03T17:00:00Z", "starter_id": "acc-1"},
    )


def closed(ports, group_id, reason, *rids, schema_version=2):
    data = {"group_id": group_id, "contact_point_id": "link-bergen", "registration_ids": list(rids), "reason": reason}
    follow(ports, "group_closed", data, schema_version)


def swept(ports):
    """The ids the sweep erased."""
    before = set(ports.store.registrations)
    handlers.erase_after_retention(ports)
    return before - set(ports.store.registrations)


def test_people_whose_group_closed_are_erased_after_the_period_counted_from_the_close(ports, fixed):
    members = [registered(ports) for _ in range(3)]
    for rid in members:
        waitlisted(ports, rid)
    in_group(ports, "grp-1", *members)
    fixed.advance(days=800)  # two years in a running group: activity, nobody goes
    assert swept(ports) == set()
    closed(ports, "grp-1", "completed", *members)
    assert {ports.store.registrations[rid]["retention_reason"] for rid in members} == {"group_closed"}
    fixed.advance(days=364)
    assert swept(ports) == set()
    fixed.advance(days=2)
    assert swept(ports) == set(members)
    assert [e["data"]["reason"] for e in ports.store.events if e["event_type"] == "registration_erased"] == [
        "retention"
    ] * 3
    assert swept(ports) == set()  # idempotent


def test_a_superseded_or_dissolved_proposal_closes_no_ones_group_life(ports, fixed):
    people = [registered(ports) for _ in range(2)]
    for rid in people:
        waitlisted(ports, rid)
    closed(ports, "grp-p", "superseded", *people)
    closed(ports, "grp-q", "dissolved", *people, schema_version=1)  # a proposal they were never in_group for
    fixed.advance(days=400)
    assert swept(ports) == set()
    assert {ports.store.registrations[rid]["status"] for rid in people} == {"waiting"}
    assert {ports.store.registrations[rid]["retention_reason"] for rid in people} == {None}


def test_a_closed_group_the_person_had_left_is_not_theirs(ports, fixed):
    stayer, leaver = registered(ports), registered(ports)
    for rid in (stayer, leaver):
        waitlisted(ports, rid)
    in_group(ports, "grp-1", stayer, leaver)
    follow(
        ports,
        "group_member_left",
        {
            "group_id": "grp-1",
            "contact_point_id": "link-bergen",
            "registration_ids": [stayer],
            "registration_id": leaver,
            "reason": "left",
        },
    )
    closed(ports, "grp-1", "staff", stayer, schema_version=1)
    fixed.advance(days=366)
    assert swept(ports) == {stayer}  # the leaver waits in a pool again: activity


def test_the_unroutable_are_erased_after_the_period_unless_a_contact_point_takes_them(ports, fixed):
    left_alone, assigned = registered(ports), registered(ports)
    for rid in (left_alone, assigned):
        unroutable(ports, rid)
    fixed.advance(days=200)
    follow(ports, "registration_assigned", {"registration_id": assigned, "contact_point_id": "link-bergen"})
    waitlisted(ports, assigned)
    assert ports.store.registrations[assigned]["retention_reason"] is None
    fixed.advance(days=166)
    assert swept(ports) == {left_alone}
    fixed.advance(days=1000)
    assert swept(ports) == set()  # waiting at a contact point is activity


def test_a_routing_applied_out_of_order_keeps_the_later_one(ports, fixed):
    """registration_unroutable and registration_waitlisted travel on separate queues: the later
    routing stands whichever is applied first."""
    rid = registered(ports)
    earlier = clock.now()
    waitlisted(ports, rid, occurred_at=earlier + timedelta(minutes=5))
    unroutable(ports, rid, occurred_at=earlier)
    assert ports.store.registrations[rid]["retention_reason"] is None
    fixed.advance(days=400)
    assert swept(ports) == set()


@pytest.mark.parametrize(
    "activity",
    [
        pytest.param(
            lambda ports, rid: handlers.record_contact(ports, rid, "offer_digital_group", ADMIN), id="contact"
        ),
        pytest.param(lambda ports, rid: handlers.personal_view(ports, rid, participant(rid)), id="own-page-view"),
        pytest.param(
            lambda ports, rid: handlers.update_preferences(ports, rid, {"languages": ["nb", "en"]}, participant(rid)),
            id="own-page-change",
        ),
        pytest.param(
            lambda ports, rid: follow(
                ports, "registration_assigned", {"registration_id": rid, "contact_point_id": "link-bergen"}
            ),
            id="assignment",
        ),
    ],
)
def test_activity_restarts_the_period(ports, fixed, activity):
    rid = registered(ports)
    unroutable(ports, rid)
    fixed.advance(days=300)
    activity(ports, rid)
    fixed.advance(days=300)
    assert swept(ports) == set()
    fixed.advance(days=66)
    assert swept(ports) == {rid}


def test_a_status_change_is_activity_and_staff_reading_is_not(ports, fixed):
    rid = registered(ports)
    waitlisted(ports, rid)
    fixed.advance(days=300)
    handlers.withdraw(ports, rid, ADMIN, "staff")  # the status changes: the period starts here
    fixed.advance(days=300)
    handlers.personal_view(ports, rid, STAFF_BERGEN)  # staff looking is not the person's activity
    assert ports.store.registrations[rid][LAST_ACTIVITY] == T0 + timedelta(days=300)
    fixed.advance(days=66)
    assert swept(ports) == {rid}


def test_a_refused_action_on_the_own_page_is_no_activity(ports, fixed):
    rid = registered(ports)
    unroutable(ports, rid)
    fixed.advance(days=300)
    with pytest.raises(InvalidInput):
        handlers.pause(ports, rid, 1, participant(rid))  # one week: too short
    assert ports.store.registrations[rid][LAST_ACTIVITY] == T0


def test_a_registration_stored_before_the_field_counts_from_its_last_update(ports, fixed):
    """The migration: no `last_activity_at` yet, so its `updated_at` (never before its last
    activity) stands in; nobody is erased sooner than under the old rule."""
    old, recent = registered(ports), registered(ports)
    for rid in (old, recent):
        handlers.withdraw(ports, rid, ADMIN, "staff")
        del ports.store.registrations[rid][LAST_ACTIVITY]
        del ports.store.registrations[rid]["retention_reason"]
    ports.store.registrations[recent]["updated_at"] = T0 + timedelta(days=100)
    fixed.advance(days=366)
    assert swept(ports) == {old}
