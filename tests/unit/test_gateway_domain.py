"""The gateway's pure rules: what the forms mean, how their errors are shown, where people land."""

from datetime import UTC, datetime

from werkzeug.datastructures import MultiDict

from services.gateway import domain

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def test_phone_numbers_as_people_type_them_become_e164():
    assert domain.e164("912 34 567") == "+4791234567"
    assert domain.e164("0047 912 34 567") == "+4791234567"
    assert domain.e164("+46 70 123 45 67") == "+46701234567"


def test_the_intake_from_a_form_carries_the_consent_given_now_and_names_every_bad_field():
    form = MultiDict({"name": "Kari", "postal_code": "5003", "role": "self", "themes": "grief", "birth_year": "x"})
    payload, errors = domain.intake_from_form(form, "nn", NOW, "web-1")
    assert payload["idempotency_key"] == "web-1" and payload["message_language"] == "nn"
    assert payload["consent"] == {
        "purpose": "self_help_group_matching",
        "text_version": domain.CONSENT_VERSION,
        "given_at": "2026-11-28T09:00:00Z",
        "channel": "self",
    }
    assert errors["birth_year"] == ["Must be a year, such as 1980."] and errors["consent"] == ["consent_required"]


def test_a_referral_needs_no_consent_box_the_referrer_attests_it():
    form = MultiDict({"name": "Kari", "postal_code": "5003", "role": "self", "themes": "grief", "language": "nb"})
    payload, errors = domain.intake_from_form(form, "nb", NOW, "ref-1", {"referrer_id": "r", "organisation": "GP"})
    assert "consent" not in errors and payload["consent"]["channel"] == "referrer"
    assert payload["referral"] == {"referrer_id": "r", "organisation": "GP"}


def test_errors_follow_the_form_and_use_the_pages_own_words_where_it_has_them():
    known = {"err_phone", "consent_required"}
    flat = domain.flat_errors({"consent": ["consent_required"], "phone": ["Not a number."], "zzz": {"0": ["x"]}}, known)
    assert list(flat) == ["phone", "consent", "zzz"]
    assert flat == {"phone": "err_phone", "consent": "consent_required", "zzz": "x"}


def test_a_first_meeting_typed_without_an_offset_is_norwegian_time():
    form = MultiDict({"meeting_place_id": "mp-1", "starter_id": "", "first_meeting_at": "2026-07-01T18:00"})
    confirmation, errors = domain.confirmation_from_form(form)
    assert confirmation["first_meeting_at"] == "2026-07-01T18:00:00+02:00"  # summer time
    assert errors == {"starter_id": "err_starter_id"}
    assert domain.confirmation_from_form(MultiDict({"first_meeting_at": "soon"}))[1]["first_meeting_at"]


def test_a_rejection_needs_one_of_the_contracts_reasons():
    assert domain.rejection_from_form(MultiDict({"reason": "no_room"})) == ("no_room", {})
    assert domain.rejection_from_form(MultiDict({"reason": "bored"}))[1] == {"reason": "choose_reason"}


def test_a_contact_points_sizes_must_be_whole_numbers():
    changes, errors = domain.contact_point_changes(
        MultiDict({"name": " LINK ", "municipalities": "4601 4602", "min_size": "5", "max_size": "eight"}),
        national=True,
    )
    assert changes["name"] == "LINK" and changes["municipalities"] == ["4601", "4602"] and changes["min_size"] == 5
    assert errors == {"max_size": "whole_number"}


def test_staff_change_only_their_own_fields_of_the_directory_form():
    form = {"name": "LINK", "languages": "nb en", "municipalities": "0301", "digital_groups": "yes", "max_size": "9"}
    changes, errors = domain.contact_point_changes(MultiDict(form), national=False)
    assert changes == {"name": "LINK", "languages": ["nb", "en"]}
    assert errors == {"municipalities": "national_only", "digital_groups": "national_only", "max_size": "national_only"}
    assert domain.contact_point_changes(MultiDict({"name": "LINK", "languages": "nb"}), national=False)[1] == {}


def test_after_signing_in_people_land_on_their_page_and_never_off_the_site():
    assert domain.landing({"role": "contact_point_staff", "contact_point_ids": ["link-bergen"]}) == (
        "/staff/link-bergen/pool"
    )
    assert domain.landing({"role": "national_admin"}) == "/national"
    assert domain.landing({"role": "integration"}) == "/"
    assert [domain.safe_next(t) for t in ("/staff", "//evil.example", "https://evil.example", None)] == [
        "/staff",
        "",
        "",
        "",
    ]


BYPASSES = (
    "/\\evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    "/%2F/evil.example",
    "/%5Cevil.example",
    "///evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    " /\\evil.example",
    "/\r\n/evil.example",
    "//evil.example/%2e%2e",
    "/%09/evil.example",
)


def test_known_redirect_bypasses_all_land_nowhere_and_paths_of_this_site_survive():
    assert [target for target in BYPASSES if domain.safe_next(target)] == []
    assert domain.safe_next("/staff/link-bergen/pool?status=waiting") == "/staff/link-bergen/pool?status=waiting"
    assert domain.safe_next("/national/contact-points/link-bergen") == "/national/contact-points/link-bergen"


def test_a_postal_code_is_four_digits():
    assert domain.is_postal_code("5003") and not domain.is_postal_code("50x3") and not domain.is_postal_code("500")
