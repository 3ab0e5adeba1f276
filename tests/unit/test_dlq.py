"""flokk-dlq without a broker: what a dead letter is read as, what `show` masks, and the usage
errors (exit code 2). The queue operations are tested on the real broker (tests/integration/test_dlq.py)."""

import json
from datetime import UTC, datetime, timedelta

import amqp
import pytest

from services.common import dlq
from tests.samples import OCCURRED_AT, envelope, intake

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # two days after OCCURRED_AT


def a_message(body, **headers):
    return amqp.Message(body if isinstance(body, bytes) else json.dumps(body).encode(), application_headers=headers)


def test_a_dead_letter_is_named_by_its_event_id_and_aged_from_its_event():
    body = envelope({"registration_id": "r1", "reason": "none"}, "registration_unroutable", "matching")
    letter = dlq.read_letter(
        "notification",
        a_message(body, **{"x-flokk-reason": "handler failed after 5 attempt(s): RpcTimeout"}),
        NOW,
    )
    assert (letter.id, letter.event_type, letter.age) == (
        body["event_id"],
        "registration_unroutable",
        timedelta(days=2),
    )
    assert letter.summary()["age_seconds"] == 2 * 86400 and letter.reason.startswith("handler failed")


def test_a_body_that_is_no_envelope_gets_an_id_from_its_hash_and_the_type_from_its_queue():
    message = a_message(b"\xff not json", **{"x-flokk-original-queue": "notification.matching.group_confirmed"})
    letter = dlq.read_letter("notification", message, NOW)
    assert letter.id.startswith("body-") and len(letter.id) == 21
    assert letter.id == dlq.read_letter("notification", message, NOW).id  # the same body, the same id
    assert letter.event_type == "group_confirmed" and letter.age is None and letter.envelope is None


def test_show_keeps_ids_municipality_numbers_themes_and_enum_values_and_masks_the_rest():
    data = intake(municipality_number="4601", birth_year=1980, preferred_channel="sms")
    del data["postal_code"]
    shown = dlq.redacted(envelope(data))
    kept = shown["data"]
    assert kept["themes"] == ["grief"] and kept["municipality_number"] == "4601"
    assert kept["role"] == "self" and kept["preferred_channel"] == "sms"
    assert kept["availability"] == [{"weekday": "tue", "part_of_day": "evening"}]
    assert kept["consent"]["purpose"] == "self_help_group_matching" and kept["consent"]["channel"] == "self"
    for key in ("name", "email", "phone", "birth_year", "open_to_mixed", "idempotency_key"):
        assert kept[key] == dlq.MASK, key
    assert kept["languages"] == [dlq.MASK]  # free ISO codes: no enum in the contract
    assert kept["consent"]["given_at"] == dlq.MASK
    assert {k: shown[k] for k in ("event_type", "source", "schema_version", "occurred_at")} == {
        "event_type": "registration_requested",
        "source": "intake",
        "schema_version": 1,
        "occurred_at": OCCURRED_AT,
    }
    text = json.dumps(shown)
    for secret in ("Kari", data["email"], data["phone"], "1980"):
        assert secret not in text


def test_show_masks_what_only_looks_like_an_id_or_an_enum():
    body = envelope(
        {
            "registration_id": "kari@example.no",  # the shape of an id is checked too
            "contact_point_id": "link-bergen",
            "route_kind": "Kari Nordmann",  # not one of the contract's values
            "reason": "serves Bergen",
            "phone": "+4791234567",  # no such field: masked whatever its name
        },
        "registration_waitlisted",
        "matching",
        extra="Kari",
    )
    shown = dlq.redacted(body)
    assert shown["data"] == {
        "registration_id": dlq.MASK,
        "contact_point_id": "link-bergen",
        "route_kind": dlq.MASK,
        "reason": dlq.MASK,
        "phone": dlq.MASK,
    }
    assert shown["extra"] == dlq.MASK and shown["event_id"] == body["event_id"]


def test_an_event_without_a_contract_keeps_only_ids_by_name():
    body = envelope({"group_id": "g1", "registration_ids": ["r1", "r2"], "note": "x"}, "group_renamed", "matching")
    assert dlq.redacted(body)["data"] == {"group_id": "g1", "registration_ids": ["r1", "r2"], "note": dlq.MASK}


@pytest.mark.parametrize(
    "argv, complaint",
    [
        (["purge", "notification", "--all"], "required: --yes"),
        (["purge", "notification", "--yes"], "one of the arguments id --all --older-than is required"),
        (["purge", "notification", "--older-than", "-1", "--yes"], "days must be 0 or more"),
        (["purge", "notification", "--older-than", "soon", "--yes"], "not a number of days"),
        (["replay", "notification", "abc", "--all"], "not allowed with argument"),
        (["replay", "nobody", "--all"], "invalid choice: 'nobody'"),
        (["list", "--service", "nobody"], "invalid choice: 'nobody'"),
        (["show", "notification"], "required: id"),
        ([], "required: command"),
    ],
)
def test_a_usage_error_says_what_is_wrong_and_exits_with_2(argv, complaint, capsys):
    with pytest.raises(SystemExit) as exited:
        dlq.main(argv)
    assert exited.value.code == dlq.USAGE == 2
    assert complaint in capsys.readouterr().err
