"""The figures matching serves (services/matching/figures.py, small_numbers.py): periods in Norwegian
time, what is counted where, waiting days less pauses, group survival from check-ins, the
small-number rule with its secondary blanks; and what the service notes for them as people come,
are placed and leave."""

import math
from datetime import UTC, datetime, timedelta

import pytest

from services.common.errors import Forbidden, InvalidInput
from services.matching import figures, small_numbers
from services.matching.small_numbers import Relation
from tests.fakes import an_event
from tests.unit.test_matching_service import (
    BERGEN,
    NATIONAL,
    STAFF,
    a_group_of_five,
    arrive,
    confirmation,
    service_with,
)

NOW = datetime(2026, 11, 28, 9, tzinfo=UTC)


def record(county="46", registered=datetime(2026, 3, 2, tzinfo=UTC), placed=None, **changes):
    return {
        "_id": f"d-{county}-{registered.isoformat()}-{placed}",
        "county_number": county,
        "contact_point_id": "link-bergen",
        "role": "self",
        "themes": ["grief"],
        "referred": False,
        "registered_at": registered,
        "placed_at": placed,
        "placed_contact_point_id": "link-bergen" if placed else None,
        "placed_group_id": "g-1" if placed else None,
        "paused_seconds": 0,
        "left_at": None,
        **changes,
    }


# --- periods ---------------------------------------------------------------------------------------


def test_a_period_is_a_whole_month_quarter_or_year_in_norwegian_time():
    november = figures.parse_period("2026-11")
    assert november.start == datetime(2026, 10, 31, 23, tzinfo=UTC)  # midnight in Oslo, winter time
    assert november.end == datetime(2026, 11, 30, 23, tzinfo=UTC)
    quarter = figures.parse_period("2026-Q3")
    assert quarter.start == datetime(2026, 6, 30, 22, tzinfo=UTC)  # summer time
    assert figures.parse_period("2026").end == datetime(2026, 12, 31, 23, tzinfo=UTC)
    assert quarter.holds(datetime(2026, 9, 30, 21, 59, tzinfo=UTC)) and not quarter.holds(quarter.end)
    for wrong in ("2026-Q5", "2026-00", "26", "2026-1", "1999", ""):
        with pytest.raises(ValueError, match="2026-Q4"):
            figures.parse_period(wrong)


def test_the_lattice_of_a_year_names_what_each_period_is_the_sum_of():
    tree = {period.label: [sub.label for sub in subs] for period, subs in figures.lattice(2026).items()}
    assert tree["2026"] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    assert tree["2026-Q4"] == ["2026-10", "2026-11", "2026-12"] and tree["2026-12"] == []
    assert len(tree) == 17 and len(figures.lattice(2026, with_months=False)) == 5


def test_months_are_added_on_the_calendar():
    assert figures.add_months(datetime(2026, 8, 31, tzinfo=UTC), 6) == datetime(2027, 2, 28, tzinfo=UTC)
    assert figures.add_months(datetime(2026, 1, 15, tzinfo=UTC), 24) == datetime(2028, 1, 15, tzinfo=UTC)


# --- waiting days and pauses -----------------------------------------------------------------------


def test_waiting_days_run_from_registration_less_the_days_paused():
    registered = datetime(2026, 1, 1, tzinfo=UTC)
    assert figures.waited_days(registered, registered + timedelta(days=40, hours=23)) == 40
    assert figures.waited_days(registered, registered + timedelta(days=40), paused=10 * 86400) == 30
    assert figures.paused_seconds({}, NOW) == 0  # no pauses recorded: nothing to take off
    held = {"paused_seconds": 86400, "held": "paused", "held_since": NOW - timedelta(days=2)}
    assert figures.paused_seconds(held, NOW) == 3 * 86400


# --- counting --------------------------------------------------------------------------------------


def test_flows_count_in_the_period_they_happened_and_stocks_at_its_end():
    people = [
        record(registered=datetime(2026, 3, 2, tzinfo=UTC), placed=datetime(2026, 4, 11, tzinfo=UTC)),
        record(registered=datetime(2026, 3, 5, tzinfo=UTC)),  # still waits
        record(county=None, registered=datetime(2026, 5, 5, tzinfo=UTC), role="relative", referred=True),
    ]
    group = {
        "_id": "g-1",
        "contact_point_id": "link-bergen",
        "history": [
            {"state": "proposed", "at": datetime(2026, 4, 1, tzinfo=UTC)},
            {"state": "confirmed", "at": datetime(2026, 4, 11, tzinfo=UTC)},
            {"state": "started", "at": datetime(2026, 4, 20, tzinfo=UTC)},
        ],
    }
    scope = figures.national_scope(["46"], {"link-bergen": "46"})
    periods = list(figures.lattice(2026))
    counted = figures.tally(people, [group], {}, scope, periods, NOW).counts
    assert counted[("registered", "2026-03", "46")] == 2 and ("registered", "2026-04", "46") not in counted
    assert counted[("registered", "2026-05", figures.OUTSIDE_COUNTIES)] == 1
    assert counted[("relatives", "2026-Q2", figures.OUTSIDE_COUNTIES)] == 1
    assert counted[("placed", "2026-04", "46")] == 1
    assert counted[("waiting", "2026-03", "46")] == 2 and counted[("waiting", "2026-04", "46")] == 1
    assert counted[("in_group", "2026-04", "46")] == 1 and counted[("in_group", "2026", "46")] == 1
    assert counted[("groups_started", "2026-Q2", "46")] == 1
    assert counted[("groups_running", "2026-04", "46")] == 1 and ("groups_confirmed", "2026-04", "46") not in counted
    assert not any(label == "2026-12" and column == "waiting" for column, label, _ in counted)  # not begun yet


def test_a_group_counts_as_still_meeting_from_the_first_check_in_that_says_so_after_each_mark():
    started = datetime(2025, 3, 10, tzinfo=UTC)
    group = {"_id": "g-1", "contact_point_id": "cp", "history": [{"state": "started", "at": started}]}
    checkins = [
        {"answered_at": datetime(2025, 8, 1, tzinfo=UTC), "still_meeting": True},  # before six months
        {"answered_at": datetime(2025, 9, 20, tzinfo=UTC), "still_meeting": True},
        {"answered_at": datetime(2026, 3, 12, tzinfo=UTC), "still_meeting": False},
    ]
    assert figures.milestones(group, checkins) == {6: datetime(2025, 9, 20, tzinfo=UTC)}
    assert figures.milestones(group, []) == {}
    assert figures.milestones({**group, "history": []}, checkins) == {}  # never started


def test_the_median_and_the_90th_percentile_need_five_and_ten_people():
    assert figures.median([3, 1, 2]) == 2.0 and figures.median([1, 2, 3, 10]) == 2.5
    assert figures.percentile(list(range(1, 11)), 0.9) == 9 and figures.percentile([7], 0.9) == 7
    waits = {("placed", "2026", "46"): [10, 20, 30, 40, 50, 60, 70, 80, 90]}
    shown = figures._waiting_figures(waits, "2026", "46")
    assert shown == {"median_waiting_days": 50.0, "p90_waiting_days": None, "waiting_now_median_days": None}


# --- the small-number rule -------------------------------------------------------------------------


def test_a_count_below_five_is_blank_and_every_other_is_rounded_to_the_nearest_five():
    assert [small_numbers.publish(n) for n in (0, 4, 5, 7, 8, 12, 13, 1000)] == [None, None, 5, 5, 10, 10, 15, 1000]


def test_rounding_alone_keeps_a_single_small_county_from_the_total():
    """The old rule's example: 3, 40 and 7 of 50. The total less the others no longer gives 3."""
    counts = {"national": 50, "03": 3, "46": 40, "50": 7}
    shown = small_numbers.protect(counts, [Relation("national", ("03", "46", "50"))])
    assert shown == {"national": 50, "03": None, "46": 40, "50": 5}


def test_a_total_that_would_pin_down_its_blank_cells_is_blanked_too():
    """8 = 4 + 4: shown as 10 (8 to 12), it leaves room only for 4 and 4."""
    relation = Relation("total", ("a", "b"))
    assert small_numbers.first_pinned({"total": 8, "a": 4, "b": 4}, {"total": 10, "a": None, "b": None}, [relation])
    assert small_numbers.protect({"total": 8, "a": 4, "b": 4}, [relation]) == {"total": None, "a": None, "b": None}


def test_a_pin_through_two_relations_blanks_the_smallest_shown_cell():
    """The year is pinned by its quarters, and through it, a quarter's blank month."""
    counts = {"year": 9, "q1": 5, "q2": 4, "jan": 0, "feb": 5}
    relations = [Relation("year", ("q1", "q2")), Relation("q1", ("jan", "feb"))]
    shown = small_numbers.protect(counts, relations)
    assert shown["q2"] is None and shown["jan"] is None
    assert small_numbers.first_pinned(counts, shown, relations) is None


def test_what_a_reader_knows_of_a_cell():
    assert small_numbers.known_interval(5, 7) == (5, 7)  # 3 and 4 are blanks, not fives
    assert small_numbers.known_interval(10, 9) == (8, 12)
    assert small_numbers.known_interval(None, 2) == (0, 4)
    assert small_numbers.known_interval(None, 30) == (5, math.inf)  # blanked to protect another


# --- the service notes what the figures need --------------------------------------------------------


def test_a_confirmed_group_places_its_members_and_the_records_hold_no_registration_id():
    service, store, group = a_group_of_five()
    service.confirm_group(group["_id"], confirmation(), STAFF)
    records = store.figure_people()
    assert len(records) == 5 and all(r["placed_group_id"] == group["_id"] and r["placed_at"] for r in records)
    assert not any(rid in str(records) for rid in group["members"])
    shown = service.figures("2026")
    assert shown["national"]["placed"] == 5 and shown["national"]["in_group"] == 5
    assert shown["national"]["median_waiting_days"] == 27.0  # 1 November to 28 November


def test_a_withdrawn_or_erased_person_leaves_the_counts_but_not_those_before():
    service, store = service_with([BERGEN, NATIONAL])
    for i in range(6):
        arrive(service, f"r{i}", languages=["nb"], availability=[{"weekday": "mon", "part_of_day": "morning"}])
    assert service.figures()["national"]["waiting"] == 5
    for i in range(2):
        event = {"registration_id": f"r{i}", "reason": "request"}
        service.handle_registration_erased(an_event("registration", "registration_erased", event))
    shown = service.figures()["national"]
    assert shown["waiting"] is None and shown["registered"] == 5  # four wait now; six registered this year
    assert len(store.figure_people()) == 6


def test_a_contact_points_figures_are_for_its_own_staff_and_never_the_national_office():
    service, store, group = a_group_of_five()
    table = service.contact_point_figures("link-bergen", "2026", STAFF)
    assert [row["period"] for row in table["rows"]] == ["2026", "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    assert table["rows"][0]["registered"] == 5 and table["rows"][4]["waiting"] == 5
    admin = {"account_id": "a", "role": "national_admin", "contact_point_ids": []}
    with pytest.raises(Forbidden):
        service.contact_point_figures("link-bergen", "2026", admin)
    with pytest.raises(Forbidden):
        service.contact_point_figures("link-oslo", "2026", STAFF)
    with pytest.raises(InvalidInput) as refused:
        service.contact_point_figures("link-bergen", "2026-Q1", STAFF)
    assert list(refused.value.errors) == ["year"]
