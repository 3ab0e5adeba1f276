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
        "receipt", language, {"first_name": "Kari", "unroutable": unroutable, "contact_point": "LINK Bergen og omegn"}
    )
    text = (subject + body).lower()
    assert "kari" in text
    assert set(THEME_WORDS) == set(THEMES)
    for words in THEME_WORDS.values():
        for word in words:
            assert word not in text, (language, word)
