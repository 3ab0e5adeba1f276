import pytest
from marshmallow import ValidationError

from services.common import clock
from services.common.contracts import EVENTS, RegistrationRequested
from services.common.envelope import ContractViolation, build, parse
from tests.samples import envelope, intake


def load(**changes):
    return RegistrationRequested().load(intake(**changes))


def errors_of(payload):
    with pytest.raises(ValidationError) as caught:
        RegistrationRequested().load(payload)
    return caught.value.messages


def test_the_minimal_valid_intake_loads_with_defaults():
    data = load()
    assert data["message_language"] == "nb"
    assert data["digital_ok"] is False and data["not_in_own_municipality"] is False
    assert data["accessibility_needs"] == []


@pytest.mark.parametrize(
    "field, value",
    [
        ("phone", "+4712345678"),
        ("phone", "91234567"),
        ("email", "not-an-address"),
        ("postal_code", "503"),
        ("role", "friend"),
        ("themes", []),
        ("themes", ["grief", "astrology"]),
        ("languages", ["norsk"]),
        ("availability", []),
        ("availability", [{"weekday": "tue", "part_of_day": "night"}]),
        ("open_to_mixed", "yes"),
        ("message_language", "sv"),
        ("free_text", "x" * 2001),
        ("accessibility_needs", ["lift"]),
        ("cohort", {"cohort_id": "k1"}),
    ],
)
def test_each_bad_field_gets_its_own_message_and_only_that_field(field, value):
    payload = intake(**{field: value})
    assert set(errors_of(payload)) == {field}


def test_unknown_fields_are_rejected_by_name():
    assert errors_of(intake(shoe_size=42)) == {"shoe_size": ["Unknown field."]}


def test_a_contact_channel_is_required():
    payload = intake()
    del payload["email"], payload["phone"]
    assert "email" in errors_of(payload)


def test_exactly_one_of_postal_code_and_municipality_number():
    assert "postal_code" in errors_of(intake(municipality_number="4601"))
    payload = intake()
    del payload["postal_code"]
    assert "postal_code" in errors_of(payload)


def test_under_eighteen_gets_its_own_message_pointing_to_help_for_young_people():
    messages = errors_of(intake(birth_year=clock.today_in_oslo().year - 16))
    assert list(messages) == ["birth_year"]
    assert "ung.no" in messages["birth_year"][0]


def test_referrer_consent_needs_the_referral():
    payload = intake(consent={**intake()["consent"], "channel": "referrer"})
    assert "referral" in errors_of(payload)


def test_consent_purpose_is_fixed():
    payload = intake(consent={**intake()["consent"], "purpose": "marketing"})
    assert "consent" in errors_of(payload)


def test_build_refuses_data_that_breaks_the_contract():
    with pytest.raises(ContractViolation) as caught:
        build("matching", "registration_waitlisted", {"registration_id": "r1"})
    assert "contact_point_id" in caught.value.errors


def test_parse_round_trips_what_build_makes():
    body = build("matching", "registration_unroutable", {"registration_id": "r1", "reason": "none"})
    event = parse(body, "matching", "registration_unroutable")
    assert event.event_id == body["event_id"] and event.data["registration_id"] == "r1"


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"schema_version": 2}, "unknown schema_version 2"),
        ({"source": "elsewhere"}, "expected registration_requested from intake"),
        ({"extra": 1}, "envelope breaks its contract"),
        ({"occurred_at": "2026-11-28T09:00:00"}, "envelope breaks its contract"),  # no offset
    ],
)
def test_parse_names_what_is_wrong_with_an_envelope(changes, reason):
    with pytest.raises(ContractViolation) as caught:
        parse(envelope(intake(), **changes), "intake", "registration_requested")
    assert reason in caught.value.reason


def test_parse_rejects_a_body_that_is_not_json():
    with pytest.raises(ContractViolation, match="not JSON"):
        parse(b"{nope", "intake", "registration_requested")


def test_no_event_but_the_intake_has_contact_or_free_text_fields():
    personal = {"name", "email", "phone", "free_text", "address"}
    for (source, event_type), schema in EVENTS.items():
        if event_type != "registration_requested" and source != "directory":  # organisations have names
            assert not personal & set(schema().fields), event_type


def test_every_problem_is_named_at_once():
    payload = intake(phone="123")
    del payload["postal_code"], payload["email"]
    messages = errors_of(payload)
    assert messages["phone"] == ["Must be a Norwegian mobile number: +47 and 8 digits starting with 4 or 9."]
    assert "postal_code" in messages


def test_access_rules():
    from services.common.access import may_see_contact_point, require_role
    from services.common.errors import Forbidden

    staff = {"role": "contact_point_staff", "contact_point_ids": ["a"]}
    assert may_see_contact_point(staff, "a") and not may_see_contact_point(staff, "b")
    assert may_see_contact_point({"role": "national_admin"}, "b")
    assert not may_see_contact_point({"role": "referrer"}, "a")
    with pytest.raises(Forbidden):
        require_role(staff, "national_admin")


@pytest.mark.parametrize("value", [1, 0, "true", "yes", None])
def test_booleans_are_json_booleans_only(value):
    assert set(errors_of(intake(open_to_mixed=value))) == {"open_to_mixed"}


def test_group_proposed_v2_carries_the_explanations_numbers_and_v1_stays_readable():
    from services.common.contracts import data_schema, emitted_version

    v1 = {
        "group_id": "g-1",
        "contact_point_id": "link-bergen",
        "registration_ids": ["a", "b", "c", "d", "v"],
        "explanation": {
            "summary": "5 people can all meet Tuesday evening.",
            "slot": {"weekday": "tue", "part_of_day": "evening"},
            "theme": "grief",
            "mixed": False,
            "relaxed": [{"step": "neighbouring", "reason": "v waited more than 28 days"}],
        },
    }
    assert data_schema("matching", "group_proposed", 1)().load(v1)
    with pytest.raises(ValidationError) as missing:
        data_schema("matching", "group_proposed", 2)().load(v1)
    assert set(missing.value.messages["explanation"]) == {"longest_wait_days", "relaxed"}
    v2 = {**v1, "explanation": {**v1["explanation"], "longest_wait_days": 34}}
    v2["explanation"]["relaxed"] = [{**v1["explanation"]["relaxed"][0], "after_days": 28, "registration_ids": ["v"]}]
    assert data_schema("matching", "group_proposed", 2)().load(v2)["explanation"]["longest_wait_days"] == 34
    assert emitted_version("matching", "group_proposed") == 2
