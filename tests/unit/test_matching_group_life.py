"""matching, issue 13: a group's life after the start (started, the handover, check-ins and their
comments), the growth rule per state, and a person's status for their page. matching's entrypoints
over its in-memory store; only the directory proxy is a mock."""

from datetime import UTC, datetime, timedelta

import pytest

from services.common import clock
from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.matching import life
from tests.fakes import an_event
from tests.fakes import participant as person
from tests.unit.test_matching_service import (
    BERGEN,
    NATIONAL,
    OTHER_STAFF,
    STAFF,
    arrive,
    confirmation,
    emitted,
    proposed,
    service_with,
)

NOW = datetime(2026, 11, 2, 12, tzinfo=UTC)  # the day after the people in these tests registered
FIRST_MEETING = "2030-01-08T17:00:00Z"  # a Tuesday, 18:00 in Oslo
SCHEDULE = {"weekday": "thu", "start_time": "18:00", "every": "other_week", "meeting_place_id": "library"}


@pytest.fixture(autouse=True)
def fixed_clock():
    with clock.use(clock.FixedClock(NOW)) as fixed:
        yield fixed


def a_confirmed_group(service=None, store=None, **confirm):
    if service is None:
        service, store = service_with([BERGEN, NATIONAL])
    for i in range(5):
        arrive(service, f"r{i}")
    [group] = proposed(store)
    service.confirm_group(group["_id"], confirmation(first_meeting_at=FIRST_MEETING, **confirm), STAFF)
    return service, store, group["_id"]


def a_self_run_group(fixed_clock, checkin_ids=("r0", "r1")):
    service, store, gid = a_confirmed_group()
    fixed_clock.moment = datetime(2030, 1, 8, 18, tzinfo=UTC)
    service.advance_group(gid, "started", STAFF)
    fixed_clock.moment = datetime(2030, 2, 19, 12, tzinfo=UTC)  # six weeks on
    service.record_handover(gid, {"checkin_registration_ids": list(checkin_ids), "schedule": SCHEDULE}, STAFF)
    return service, store, gid


def answer(**changes):
    return {"still_meeting": True, "usual_attendance": 5, "wants_new_members": False, "needs_help": False, **changes}


# --- confirmation, start, handover -----------------------------------------------------------------


def test_a_confirmation_may_name_the_day_the_handover_is_planned_for():
    service, store, gid = a_confirmed_group(handover_planned_on="2030-02-19")
    [event] = emitted(store, "group_confirmed")
    assert event["handover_planned_on"] == "2030-02-19"
    assert store.outbox[-1]["schema_version"] == 2
    other, other_store, _ = a_confirmed_group()
    assert emitted(other_store, "group_confirmed")[0]["handover_planned_on"] is None


def test_a_handover_planned_before_the_first_meeting_is_refused_by_field():
    service, store = service_with([BERGEN, NATIONAL])
    for i in range(5):
        arrive(service, f"r{i}")
    [group] = proposed(store)
    for planned, code in (
        ("2030-01-07", "before_first_meeting"),
        ("soon", "invalid"),
    ):
        with pytest.raises(InvalidInput) as refused:
            service.confirm_group(
                group["_id"], confirmation(first_meeting_at=FIRST_MEETING, handover_planned_on=planned), STAFF
            )
        assert refused.value.errors == {"handover_planned_on": [code]}


def test_starting_a_group_is_on_the_bus(fixed_clock):
    service, store, gid = a_confirmed_group()
    fixed_clock.moment = datetime(2030, 1, 8, 18, tzinfo=UTC)
    assert service.advance_group(gid, "started", STAFF) == {"group_id": gid, "state": "started"}
    [event] = emitted(store, "group_started")
    assert event["started_at"] == "2030-01-08T18:00:00Z" and sorted(event["registration_ids"]) == [
        f"r{i}" for i in range(5)
    ]


def test_the_handover_comes_from_started_only_and_names_members_and_a_place_of_the_contact_point(fixed_clock):
    service, store, gid = a_confirmed_group()
    handover = {"checkin_registration_ids": ["r0"], "schedule": SCHEDULE}
    with pytest.raises(Conflict):
        service.record_handover(gid, handover, STAFF)
    service.advance_group(gid, "started", STAFF)
    bad = [
        ({"checkin_registration_ids": ["r0", "r1", "r2"], "schedule": SCHEDULE}, "checkin_registration_ids"),
        ({"checkin_registration_ids": ["r0", "stranger"], "schedule": SCHEDULE}, "checkin_registration_ids"),
        ({"checkin_registration_ids": ["r0", "r0"], "schedule": SCHEDULE}, "checkin_registration_ids"),
        ({"checkin_registration_ids": [], "schedule": {**SCHEDULE, "every": "month"}}, "schedule"),
        ({"checkin_registration_ids": [], "schedule": {**SCHEDULE, "meeting_place_id": "nowhere"}}, "schedule"),
        ({"checkin_registration_ids": []}, "schedule"),
    ]
    for payload, field in bad:
        with pytest.raises(InvalidInput) as refused:
            service.record_handover(gid, payload, STAFF)
        assert list(refused.value.errors) == [field], payload
    with pytest.raises(Forbidden):
        service.record_handover(gid, handover, OTHER_STAFF)
    assert service.record_handover(gid, handover, STAFF) == {"group_id": gid, "state": "self_run"}
    [event] = emitted(store, "group_self_run")
    assert event["checkin_registration_ids"] == ["r0"] and event["schedule"] == SCHEDULE
    assert event["handover_at"] == "2026-11-02T12:00:00Z"


def test_advancing_to_self_run_is_a_handover_without_check_in_members_or_schedule():
    service, store, gid = a_confirmed_group()
    service.advance_group(gid, "started", STAFF)
    service.advance_group(gid, "self_run", STAFF)
    [event] = emitted(store, "group_self_run")
    assert event["checkin_registration_ids"] == [] and event["schedule"] is None
    with pytest.raises(Conflict) as refused:
        service.send_checkin(gid, STAFF)
    assert str(refused.value) == "no_checkin_members"


# --- check-ins ------------------------------------------------------------------------------------


def test_check_ins_fall_due_by_the_months_after_the_start_never_before_the_handover(fixed_clock):
    service, store, gid = a_self_run_group(fixed_clock)
    # Started 8 January: the one-month check-in (8 February) fell before the handover: skipped.
    assert store.group(gid)["next_checkin_at"] == datetime(2030, 4, 8, 18, tzinfo=UTC)
    fixed_clock.moment = datetime(2030, 4, 8, 17, 59, tzinfo=UTC)
    assert service.group_life()["checkins"] == 0
    fixed_clock.moment = datetime(2030, 4, 8, 18, 1, tzinfo=UTC)
    assert service.group_life()["checkins"] == 1
    assert service.group_life()["checkins"] == 0
    [due] = emitted(store, "group_checkin_due")
    assert (due["number"], due["due_at"]) == (1, "2030-04-08T18:00:00Z")
    assert store.group(gid)["next_checkin_at"] == datetime(2030, 7, 8, 18, tzinfo=UTC)


def test_staff_send_a_check_in_now_or_hear_why_not(fixed_clock):
    service, store, gid = a_confirmed_group()
    with pytest.raises(Conflict) as refused:
        service.send_checkin(gid, STAFF)
    assert str(refused.value) == "not_self_run"
    service, store, gid = a_self_run_group(fixed_clock)
    sent = service.send_checkin(gid, STAFF)
    assert sent["due_at"] == "2030-02-19T12:00:00Z"
    [due] = emitted(store, "group_checkin_due")
    assert due["checkin_id"] == sent["checkin_id"] and due["number"] == 1
    for _ in range(4):
        service.send_checkin(gid, STAFF)
    with pytest.raises(Conflict, match="no_checkins_left"):
        service.send_checkin(gid, STAFF)
    assert store.group(gid)["next_checkin_at"] is None
    with pytest.raises(Forbidden):
        service.send_checkin(gid, OTHER_STAFF)


def test_a_check_in_member_answers_and_the_comment_stays_in_matching(fixed_clock):
    service, store, gid = a_self_run_group(fixed_clock)
    checkin_id = service.send_checkin(gid, STAFF)["checkin_id"]
    for actor in (person("r2"), STAFF, person("stranger")):
        with pytest.raises(Forbidden):
            service.answer_checkin(checkin_id, answer(), actor)
    result = service.answer_checkin(checkin_id, answer(comment="Vi savner Ola."), person("r1"))
    assert result == {"checkin_id": checkin_id, "recorded": True}
    [recorded] = emitted(store, "group_checkin_recorded")
    assert recorded == {
        "group_id": gid,
        "contact_point_id": "link-bergen",
        "registration_ids": [f"r{i}" for i in range(5)],
        "checkin_id": checkin_id,
        "still_meeting": True,
        "usual_attendance": 5,
        "wants_new_members": False,
        "needs_help": False,
        "has_comment": True,
    }
    assert "savner" not in repr(store.outbox) and "savner" not in repr(store.checkins.docs)
    assert service.checkin_comment(checkin_id, STAFF) == {"checkin_id": checkin_id, "comment": "Vi savner Ola."}
    assert store.audit_log[-1]["action"] == "read_checkin_comment" and "savner" not in repr(store.audit_log)
    with pytest.raises(Forbidden):
        service.checkin_comment(checkin_id, OTHER_STAFF)


def test_a_later_answer_replaces_the_earlier_until_the_next_check_in(fixed_clock):
    service, store, gid = a_self_run_group(fixed_clock)
    first = service.send_checkin(gid, STAFF)["checkin_id"]
    service.answer_checkin(first, answer(comment="Først"), person("r0"))
    service.answer_checkin(first, answer(usual_attendance=3), person("r1"))
    assert store.checkin(first)["answer"]["usual_attendance"] == 3
    assert service.checkin_comment(first, STAFF)["comment"] is None  # the later answer had none
    service.send_checkin(gid, STAFF)
    with pytest.raises(Conflict, match="checkin_closed"):
        service.answer_checkin(first, answer(), person("r0"))


def test_a_bad_answer_is_refused_by_field(fixed_clock):
    service, store, gid = a_self_run_group(fixed_clock)
    checkin_id = service.send_checkin(gid, STAFF)["checkin_id"]
    cases = [
        (answer(usual_attendance=21), "usual_attendance"),
        (answer(still_meeting="yes"), "still_meeting"),
        (answer(comment="x" * 2001), "comment"),
        ({**answer(), "mood": "good"}, "mood"),
    ]
    for payload, field in cases:
        with pytest.raises(InvalidInput) as refused:
            service.answer_checkin(checkin_id, payload, person("r0"))
        assert list(refused.value.errors) == [field]
    with pytest.raises(NotFound):
        service.answer_checkin("no-such-checkin", answer(), person("r0"))


def test_the_group_page_shows_answers_without_comments_and_unknown_after_two_unanswered(fixed_clock):
    service, store, gid = a_self_run_group(fixed_clock)
    first = service.send_checkin(gid, STAFF)["checkin_id"]
    service.answer_checkin(first, answer(comment="hemmelig"), person("r0"))
    fixed_clock.advance(days=30)
    service.send_checkin(gid, STAFF)
    fixed_clock.advance(days=30)
    service.send_checkin(gid, STAFF)
    view = service.group_view(gid, STAFF)
    assert view["status"] == "known"  # the last one's three weeks are not over
    assert view["checkins"][0]["answer"]["has_comment"] is True and "hemmelig" not in repr(view)
    assert [c["unanswered"] for c in view["checkins"]] == [False, True, False]
    assert view["schedule"] == SCHEDULE and view["checkin_registration_ids"] == ["r0", "r1"]
    fixed_clock.advance(days=21)
    assert service.group_view(gid, STAFF)["status"] == "unknown"
    with pytest.raises(Forbidden):
        service.group_view(gid, OTHER_STAFF)


def test_comments_go_with_the_group_when_it_closes_and_with_their_author_when_erased(fixed_clock):
    service, store, gid = a_self_run_group(fixed_clock)
    first = service.send_checkin(gid, STAFF)["checkin_id"]
    service.answer_checkin(first, answer(comment="om gruppa"), person("r0"))
    service.handle_registration_erased(
        an_event("registration", "registration_erased", {"registration_id": "r0", "reason": "request"})
    )
    group = store.group(gid)
    assert store.comment(first) is None and "r0" not in group["members"] + group["handover"]["checkin_registration_ids"]
    second = service.send_checkin(gid, STAFF)["checkin_id"]
    service.answer_checkin(second, answer(comment="igjen"), person("r1"))
    service.close_group(gid, "completed", STAFF)
    assert store.comment(second) is None


# --- growth ---------------------------------------------------------------------------------------


def test_a_self_run_group_grows_only_when_its_last_check_in_asked_for_new_members(fixed_clock):
    service, store, gid = a_self_run_group(fixed_clock)
    arrive(service, "r9")
    service.leave_group(gid, "r4", person("r4"))  # a member leaves through their page
    assert "r9" not in store.group(gid)["members"]  # no answer yet counts as no
    checkin_id = service.send_checkin(gid, STAFF)["checkin_id"]
    service.answer_checkin(checkin_id, answer(wants_new_members=False), person("r0"))
    assert "r9" not in store.group(gid)["members"]
    service.answer_checkin(checkin_id, answer(wants_new_members=True), person("r0"))
    assert "r9" in store.group(gid)["members"]
    [added] = emitted(store, "group_member_added")
    assert added["group_state"] == "self_run" and added["schedule"] == SCHEDULE
    assert added["next_meeting_at"] == "2030-02-21T17:00:00Z"  # the Thursday of the handover's week


def test_a_member_leaves_through_their_page_and_no_one_else():
    service, store, gid = a_confirmed_group()
    with pytest.raises(Forbidden):
        service.leave_group(gid, "r1", person("r0"))
    assert service.leave_group(gid, "r0", person("r0"))["registration_ids"] == ["r1", "r2", "r3", "r4"]


def test_a_newcomer_to_a_confirmed_group_fits_its_meeting_place():
    service, store = service_with([BERGEN, NATIONAL])
    service, store, gid = a_confirmed_group(service, store, meeting_place_id="library")
    arrive(service, "r8", accessibility_needs=["quiet_room"])  # the library has no quiet room
    arrive(service, "r9")
    service.leave_group(gid, "r0", STAFF)
    members = store.group(gid)["members"]
    assert "r9" in members and "r8" not in members
    [added] = emitted(store, "group_member_added")
    assert added["group_state"] == "confirmed" and added["schedule"] is None
    assert added["next_meeting_at"] == FIRST_MEETING


def test_a_confirmed_group_takes_no_one_its_room_cannot_hold():
    service, store = service_with([BERGEN, NATIONAL])
    service.directory.get_contact_point.return_value = {
        "contact_point_id": "link-bergen",
        "meeting_places": [{"meeting_place_id": "small", "capacity": 6, "accessibility": []}],
    }
    service, store, gid = a_confirmed_group(service, store, meeting_place_id="small")
    service.directory.get_contact_point.return_value = {
        "contact_point_id": "link-bergen",
        "meeting_places": [{"meeting_place_id": "small", "capacity": 5, "accessibility": []}],  # made smaller
    }
    arrive(service, "r9")
    service.leave_group(gid, "r0", STAFF)
    assert "r9" not in store.group(gid)["members"]  # four members and the starter fill it


def test_growth_by_state_is_stated_as_a_rule():
    assert life.may_grow({"state": "proposed"}, []) and life.may_grow({"state": "started"}, [])
    assert not life.may_grow({"state": "self_run"}, [])
    said_no = [{"number": 1, "answer": {"wants_new_members": False}}]
    said_yes = [*said_no, {"number": 2, "answer": {"wants_new_members": True}}]
    assert not life.may_grow({"state": "self_run"}, said_no) and life.may_grow({"state": "self_run"}, said_yes)
    assert not life.may_grow({"state": "self_run"}, [*said_yes, {"number": 3, "answer": None}])


# --- a person's status ----------------------------------------------------------------------------


def test_a_person_sees_where_they_wait_and_what_was_widened(fixed_clock):
    service, store = service_with([BERGEN, NATIONAL])
    arrive(service, "r1")
    fixed_clock.moment = datetime(2026, 11, 16, 9, tzinfo=UTC)  # 15 days after registering
    service.sweep()
    status = service.person_status("r1", person("r1"))
    assert status == {
        "registration_id": "r1",
        "state": "waiting",
        "contact_point_id": "link-bergen",
        "queue_since": "2026-11-01T09:00:00Z",
        "paused_until": None,
        "widening": [{"step": "mixed_themes", "after_days": 15}],
        "group": None,
    }
    with pytest.raises(Forbidden):
        service.person_status("r1", person("r2"))
    with pytest.raises(Forbidden):
        service.person_status("r1", OTHER_STAFF)
    with pytest.raises(Forbidden):
        service.person_status("r1", {"role": "service", "service": "notification", "issuer": "notification"})
    assert service.person_status("r1", STAFF)["state"] == "waiting"
    directory = {"role": "service", "service": "directory", "issuer": "directory"}  # before a video link
    assert service.person_status("r1", directory)["state"] == "waiting"


def test_a_person_in_a_self_run_group_sees_its_schedule_and_next_meeting(fixed_clock):
    service, store, gid = a_self_run_group(fixed_clock)
    fixed_clock.moment = datetime(2030, 2, 22, 12, tzinfo=UTC)  # the day after a meeting
    status = service.person_status("r2", person("r2"))
    assert status["state"] == "in_group"
    assert status["group"] == {
        "group_id": gid,
        "state": "self_run",
        "contact_point_id": "link-bergen",
        "meeting_place_id": "library",
        "first_meeting_at": FIRST_MEETING,
        "schedule": SCHEDULE,
        "next_meeting_at": "2030-03-07T17:00:00Z",  # every other Thursday from the handover's week
        "open_checkin": None,  # r2 answers no check-ins
    }


def test_a_check_in_member_s_status_leads_to_the_check_in_they_can_answer_now(fixed_clock):
    service, store, gid = a_self_run_group(fixed_clock)
    assert service.person_status("r1", person("r1"))["group"]["open_checkin"] is None  # none sent yet
    first = service.send_checkin(gid, STAFF)["checkin_id"]
    opened = service.person_status("r1", person("r1"))["group"]["open_checkin"]
    assert opened == {"checkin_id": first, "number": 1, "due_at": "2030-02-19T12:00:00Z", "answered_at": None}
    service.answer_checkin(first, answer(), person("r0"))
    assert service.person_status("r1", person("r1"))["group"]["open_checkin"]["answered_at"] == "2030-02-19T12:00:00Z"
    second = service.send_checkin(gid, STAFF)["checkin_id"]
    assert service.person_status("r0", person("r0"))["group"]["open_checkin"]["checkin_id"] == second
    assert service.person_status("r2", person("r2"))["group"]["open_checkin"] is None  # not a check-in member


def test_a_person_unknown_to_matching_or_paused_or_unroutable():
    service, store = service_with([NATIONAL])
    assert service.person_status("nobody", person("nobody"))["state"] == "unknown"
    with pytest.raises(NotFound):
        service.person_status("nobody", STAFF)
    arrive(service, "r1")
    assert service.person_status("r1", person("r1"))["state"] == "unroutable"
    service, store = service_with([BERGEN, NATIONAL])
    arrive(service, "r2")
    service.handle_registration_paused(
        an_event(
            "registration",
            "registration_paused",
            {"registration_id": "r2", "paused_until": (NOW + timedelta(weeks=3)).isoformat()},
        )
    )
    status = service.person_status("r2", person("r2"))
    assert status["state"] == "paused" and status["paused_until"] == "2026-11-23T12:00:00Z"


def test_the_next_meeting_by_a_schedule_is_never_in_the_past():
    anchor = datetime(2030, 2, 19, 12, tzinfo=UTC)  # a Tuesday
    weekly = {**SCHEDULE, "every": "week"}
    assert life.next_meeting(weekly, anchor, anchor) == datetime(2030, 2, 21, 17, tzinfo=UTC)
    at_meeting = datetime(2030, 2, 21, 17, tzinfo=UTC)
    assert life.next_meeting(weekly, anchor, at_meeting) == at_meeting
    assert life.next_meeting(weekly, anchor, at_meeting + timedelta(minutes=1)) == datetime(2030, 2, 28, 17, tzinfo=UTC)
    summer = datetime(2030, 6, 1, tzinfo=UTC)
    assert life.next_meeting(SCHEDULE, anchor, summer) == datetime(2030, 6, 13, 16, tzinfo=UTC)  # 18:00 CEST


# --- digital groups -----------------------------------------------------------------------------------

ROOMS = [
    {"meeting_place_id": "library", "kind": "physical", "capacity": 12, "accessibility": []},
    {"meeting_place_id": "video", "kind": "digital", "capacity": 12, "accessibility": []},
]


def a_proposal(digital):
    candidate = {**BERGEN, "kind": "digital"} if digital else BERGEN
    service, store = service_with([candidate, NATIONAL])
    service.directory.get_contact_point.return_value = {"contact_point_id": "link-bergen", "meeting_places": ROOMS}
    for i in range(5):
        arrive(service, f"r{i}", accessibility_needs=["step_free"] if i == 0 else [])
    [group] = proposed(store)
    return service, store, group["_id"]


def test_a_digital_group_confirms_at_a_digital_place_and_a_physical_one_at_a_room_unless_staff_say_why():
    service, store, digital = a_proposal(digital=True)
    with pytest.raises(InvalidInput) as refused:
        service.confirm_group(digital, confirmation(meeting_place_id="library"), STAFF)
    assert refused.value.errors == {"meeting_place_id": ["place_kind_mismatch"]}
    # A video meeting needs no ramp: r0's step_free need does not stand in the way.
    assert service.confirm_group(digital, confirmation(meeting_place_id="video"), STAFF)["state"] == "confirmed"
    service, store, physical = a_proposal(digital=False)
    with pytest.raises(InvalidInput) as refused:
        service.confirm_group(physical, confirmation(meeting_place_id="video"), STAFF)
    assert refused.value.errors == {"meeting_place_id": ["place_kind_mismatch"]}
    overridden = confirmation(meeting_place_id="video", override_reason="the room is being renovated")
    assert service.confirm_group(physical, overridden, STAFF)["state"] == "confirmed"
    assert store.group(physical)["confirmation"]["override_reason"] == "the room is being renovated"
