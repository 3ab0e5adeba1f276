"""notification_failed version 2 (issue 16): `failure` says whether every channel refused the
message ("permanent") or its retries ran out ("expired"). Receivers keep accepting version 1."""

import pytest

from services.common.envelope import ContractViolation, build, parse

V1 = {
    "notification_id": "n1",
    "recipient": {"kind": "participant", "id": "r1"},
    "registration_id": "r1",
    "template": "receipt",
    "channel": "email",
    "cause_event_id": "e1",
    "reason": "email: SMTP 550",
}


def test_the_emitter_sends_version_2_with_its_failure():
    body = build("notification", "notification_failed", {**V1, "failure": "expired"})
    assert body["schema_version"] == 2
    assert parse(body, "notification", "notification_failed").data["failure"] == "expired"


def test_version_1_without_a_failure_is_still_accepted():
    body = build("notification", "notification_failed", V1, version=1)
    event = parse(body, "notification", "notification_failed")
    assert event.schema_version == 1 and "failure" not in event.data


@pytest.mark.parametrize(
    "data, message",
    [
        (V1, "Missing data for required field."),
        ({**V1, "failure": "later"}, "Must be one of: permanent, expired."),
    ],
)
def test_version_2_needs_a_known_failure(data, message):
    with pytest.raises(ContractViolation) as caught:
        build("notification", "notification_failed", data)
    assert caught.value.errors["failure"] == [message]


def test_version_1_does_not_take_a_failure():
    with pytest.raises(ContractViolation) as caught:
        build("notification", "notification_failed", {**V1, "failure": "permanent"}, version=1)
    assert "failure" in caught.value.errors
