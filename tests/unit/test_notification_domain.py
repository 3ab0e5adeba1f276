from datetime import UTC, datetime, timedelta

import pytest

from services.common.contracts import THEMES
from services.notification import domain, templates

THEME_WORDS = {
    "grief": ["sorg", "grief", "bereave"],
    "loneliness": ["ensom", "einsam", "lonel"],
    "anxiety": ["angst", "anxi"],
    "depression": ["depresj", "depress"],
    "chronic_illness": ["kronisk", "chronic"],
    "chronic_pain": ["smerte", "pain"],
    "cancer": ["kreft", "cancer"],
    "addiction": ["rus", "avhengig", "addict"],
    "eating_disorder": ["spiseforstyrr", "eating"],
    "trauma": ["traum"],
    "burnout": ["utbrent", "burnout"],
    "separation": ["samlivsbrudd", "skilsmisse", "divorce"],
    "job_loss": ["arbeidsledig", "job"],
    "caregiving": ["omsorg", "caregiv"],
    "other": [],
}


def test_notification_ids_are_deterministic_per_cause_recipient_and_template():
    recipient = {"kind": "participant", "id": "r1"}
    a = domain.notification_id("e1", recipient, "receipt")
    assert a == domain.notification_id("e1", recipient, "receipt")
    assert a != domain.notification_id("e2", recipient, "receipt")
    assert domain.message_id(a) == f"<{a}@flokk.no>"


def test_addresses_are_masked_in_the_log():
    assert domain.mask_email("kari.test@example.no") == "k***@example.no"
    assert domain.mask_phone("+4791234567") == "+47*****67"


def test_the_other_channel_is_used_when_the_preferred_has_no_address():
    assert domain.channel_and_address({"preferred_channel": "sms", "email": "a@b.no", "phone": None}) == (
        "email",
        "a@b.no",
    )


@pytest.mark.parametrize("language", templates.LANGUAGES)
@pytest.mark.parametrize("unroutable", [False, True])
def test_receipts_render_in_every_language_and_name_no_theme(language, unroutable):
    subject, body = templates.render(
        "receipt",
        language,
        {
            "first_name": "Kari",
            "unroutable": unroutable,
            "contact_point": "LINK Bergen og omegn",
            "personal_link": "https://flokk.test/me?t=v1.r1.me.token",
        },
    )
    text = (subject + body).lower()
    assert "kari" in text and "https://flokk.test/me?t=v1.r1.me.token" in text
    assert set(THEME_WORDS) == set(THEMES)
    for words in THEME_WORDS.values():
        for word in words:
            assert word not in text, (language, word)


FIRST = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_the_retry_schedule_is_30_seconds_1_2_5_10_20_30_minutes_then_hourly_to_24_hours():
    minutes = [0.5, 1, 2, 5, 10, 20, 30] + [60 * hour for hour in range(1, 25)]
    times = [domain.retry_time(attempts, FIRST) for attempts in range(1, len(minutes) + 1)]
    assert times == [FIRST + timedelta(minutes=m) for m in minutes]
    assert times[-1] == FIRST + timedelta(hours=24)
    assert domain.retry_time(len(minutes) + 1, FIRST) is None  # 32 attempts, then it gives up
    with pytest.raises(ValueError, match="at least 1"):
        domain.retry_time(0, FIRST)


def test_a_retry_late_by_less_than_a_step_keeps_the_schedule():
    late = FIRST + timedelta(seconds=40)  # the timer came 10 s after the 30 s retry
    assert domain.next_retry(2, FIRST, late) == FIRST + timedelta(minutes=1)


def test_a_retry_after_a_long_wait_skips_the_times_it_missed():
    """After quiet hours (or a stopped service) the next retry is the next time on the schedule,
    not each missed one in a burst."""
    morning = FIRST + timedelta(hours=7, minutes=10)
    assert domain.next_retry(3, FIRST, morning) == FIRST + timedelta(hours=8)
    assert domain.next_retry(3, FIRST, FIRST + timedelta(hours=24)) is None
    assert domain.next_retry(3, FIRST, FIRST + timedelta(hours=23, minutes=59)) == FIRST + timedelta(hours=24)
