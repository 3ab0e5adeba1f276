"""Routing into pools, widening step by step, the lifecycle and the meeting-place rule (pure)."""

from datetime import UTC, datetime, timedelta

import pytest

from services.matching import domain, engine

NOW = datetime(2026, 11, 28, 9, tzinfo=UTC)
HOME = {"kind": "contact_point", "contact_point_id": "cp-home", "reason": "serves home"}
NEAR = {"kind": "contact_point", "contact_point_id": "cp-near", "reason": "nearest in the county"}
DIGITAL = {"kind": "digital", "contact_point_id": "link-oslo", "reason": "runs digital groups"}


def profile(**changes):
    data = {
        "registration_id": "r1",
        "municipality_number": "4601",
        "role": "relative",
        "themes": ["grief"],
        "languages": ["en", "nb"],
        "availability": [{"weekday": "tue", "part_of_day": "evening"}],
        "open_to_mixed": True,
        "birth_year": 1980,
        "digital_ok": True,
        "not_in_own_municipality": False,
        "accessibility_needs": [],
        "cohort": None,
        "referred": False,
        "registered_at": NOW - timedelta(days=50),
    }
    data.update(changes)
    return data


def entry(**changes):
    return domain.waiting_entry(
        profile(**changes), HOME, [HOME, NEAR, DIGITAL], NOW - timedelta(days=50), engine.DEFAULT_WIDENING_DAYS
    )


def test_pools_are_by_contact_point_role_and_first_language_and_digital_apart():
    assert entry()["home_pool"] == "cp-home|relative|en"
    digital = domain.waiting_entry(profile(), DIGITAL, [DIGITAL], NOW, engine.DEFAULT_WIDENING_DAYS)
    assert digital["home_pool"] == "link-oslo|relative|en|digital"


def test_widening_goes_step_by_step_and_records_each_with_its_reason():
    waiting = entry()
    assert waiting["next_widening_at"] == waiting["queue_since"] + timedelta(days=14)
    widened = domain.widen(waiting, NOW, engine.DEFAULT_WIDENING_DAYS, {"link-oslo"})
    assert [w["step"] for w in widened["widening"]] == ["mixed_themes", "neighbouring", "digital"]
    assert widened["pools"] == ["cp-home|relative|en", "cp-near|relative|en", "link-oslo|relative|en|digital"]
    assert "waited 50 days (threshold 28)" in widened["widening"][1]["reason"]
    assert widened["next_widening_at"] == waiting["queue_since"] + timedelta(days=56)
    assert domain.widen(widened, NOW, engine.DEFAULT_WIDENING_DAYS, {"link-oslo"}) is None


def test_no_digital_group_for_someone_who_does_not_accept_one():
    widened = domain.widen(entry(digital_ok=False), NOW, engine.DEFAULT_WIDENING_DAYS, {"link-oslo"})
    assert "link-oslo|relative|en|digital" not in widened["pools"]
    assert "no digital group" in widened["widening"][2]["reason"]


def test_a_visitor_is_seen_as_visiting_in_the_other_pool_only():
    widened = domain.widen(entry(), NOW, engine.DEFAULT_WIDENING_DAYS, {"link-oslo"})
    assert domain.person(widened, "cp-near|relative|en", NOW, engine.DEFAULT_WIDENING_DAYS).visiting == "neighbouring"
    at_home = domain.person(widened, "cp-home|relative|en", NOW, engine.DEFAULT_WIDENING_DAYS)
    assert at_home.visiting is None and "mixed_themes" in at_home.steps


def test_the_lifecycle_allows_only_its_own_order():
    group = {"state": "proposed", "history": []}
    assert domain.transition(group, "confirmed", NOW)["state"] == "confirmed"
    with pytest.raises(domain.RuleBroken):
        domain.transition(group, "self_run", NOW)
    with pytest.raises(domain.RuleBroken):
        domain.transition({"state": "closed", "history": []}, "confirmed", NOW)


def test_the_meeting_place_must_exist_hold_the_group_and_suit_every_need():
    group = {"contact_point_id": "cp-home", "members": ["a", "b", "c", "d", "e"]}
    places = [{"meeting_place_id": "hall", "capacity": 10, "accessibility": ["step_free", "quiet_room"]}]
    assert (
        domain.check_meeting_place(group, "hall", places, {"a": ["step_free"], "b": []})["meeting_place_id"] == "hall"
    )
    for place_id, needs, message in (
        ("hall", {"a": ["hearing_loop"]}, "lacks hearing_loop"),
        ("gym", {}, "not a meeting place"),
    ):
        with pytest.raises(domain.RuleBroken) as broken:
            domain.check_meeting_place(group, place_id, places, needs)
        assert message in broken.value.field_errors["meeting_place_id"][0]
    small = [{"meeting_place_id": "hall", "capacity": 5, "accessibility": []}]
    with pytest.raises(domain.RuleBroken):
        domain.check_meeting_place(group, "hall", small, {})


# --- figures: the small-number rule -----------------------------------------------------------------


def figures(counties, national, groups=None):
    return {"counties": counties, "national": {**national, "groups": groups or {}}}


def test_figures_are_tallied_per_county_and_nationwide():
    rows = [("46", "waiting"), ("46", "waiting"), ("46", "in_group"), ("03", "waiting"), (None, "unroutable")]
    assert domain.tally_figures(rows, ["proposed", "proposed", "closed"]) == {
        "counties": {"46": {"waiting": 2, "in_group": 1}, "03": {"waiting": 1}},
        "national": {"waiting": 3, "in_group": 1, "unroutable": 1, "groups": {"proposed": 2, "closed": 1}},
    }


def test_no_count_of_fewer_than_five_people_is_shown_zero_included_and_groups_are_not_people():
    shown = domain.suppress_small_numbers(
        figures(
            {"46": {"waiting": 4, "in_group": 5}, "03": {"waiting": 2}, "50": {"waiting": 5, "in_group": 3}},
            {"waiting": 11, "in_group": 8, "unroutable": 3},
            groups={"proposed": 1, "confirmed": 2},
        )
    )
    assert shown["counties"] == {
        "46": {"waiting": None, "in_group": 5},
        "03": {"waiting": None, "in_group": None},  # a missing count is zero, hidden like any below 5
        "50": {"waiting": 5, "in_group": None},
    }
    assert shown["national"] == {
        "waiting": 11,
        "in_group": 8,
        "unroutable": None,
        "groups": {"proposed": 1, "confirmed": 2},
    }


def test_one_hidden_county_hides_the_next_smallest_so_the_total_cannot_give_it_away():
    """The gateway's own example (test_gateway_api), now applied where the figures are made."""
    shown = domain.suppress_small_numbers(
        figures(
            {"03": {"waiting": 3, "in_group": 5}, "46": {"waiting": 40, "in_group": 16}, "50": {"waiting": 7}},
            {"waiting": 50, "in_group": 21},
            groups={"confirmed": 1, "started": 2, "self_run": 1},
        )
    )
    assert shown["counties"] == {
        "03": {"waiting": None, "in_group": None},  # 3 is below 5; 5 is the complement of 50's 0
        "46": {"waiting": 40, "in_group": 16},
        "50": {"waiting": None, "in_group": None},  # 7 is the complement: otherwise 50 - 40 - 7 gives 03 away
    }
    assert shown["national"]["waiting"] == 50 and shown["national"]["groups"]["started"] == 2


def test_the_complement_is_the_smallest_shown_the_lower_county_number_first_on_a_tie():
    shown = domain.suppress_small_numbers(
        figures(
            {"11": {"waiting": 9}, "15": {"waiting": 6}, "18": {"waiting": 6}, "03": {"waiting": 1}},
            {"waiting": 22},
        )
    )
    assert {county: counts["waiting"] for county, counts in shown["counties"].items()} == {
        "11": 9,
        "15": None,
        "18": 6,
        "03": None,
    }


def test_no_complement_where_two_counties_are_hidden_or_the_nationwide_count_is():
    two_hidden = domain.suppress_small_numbers(
        figures(
            {
                "03": {"waiting": 2, "in_group": 6},
                "46": {"waiting": 3, "in_group": 5},
                "50": {"waiting": 9, "in_group": 8},
            },
            {"waiting": 14, "in_group": 19},
        )
    )
    assert two_hidden["counties"]["50"]["waiting"] == 9 and two_hidden["counties"]["46"]["in_group"] == 5
    assert two_hidden["counties"]["03"]["in_group"] == 6
    small_nation = domain.suppress_small_numbers(figures({"03": {"waiting": 4}}, {"waiting": 4}))
    assert small_nation["counties"]["03"]["waiting"] is None and small_nation["national"]["waiting"] is None
