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
        ("hall", {"a": ["hearing_loop"]}, "place_lacks_access"),
        ("gym", {}, "unknown_meeting_place"),
    ):
        with pytest.raises(domain.RuleBroken) as broken:
            domain.check_meeting_place(group, place_id, places, needs)
        assert broken.value.field_errors == {"meeting_place_id": [message]}
    small = [{"meeting_place_id": "hall", "capacity": 5, "accessibility": []}]
    with pytest.raises(domain.RuleBroken) as broken:
        domain.check_meeting_place(group, "hall", small, {})
    assert broken.value.field_errors == {"meeting_place_id": ["capacity_too_small"]}  # five and a starter
