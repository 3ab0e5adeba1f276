"""The gateway's pure rules: what the forms mean, how their errors are shown, where people land."""

from datetime import UTC, datetime

from werkzeug.datastructures import MultiDict

from services.common import clock
from services.common.contact_point_input import DEFAULT_SENDER_NAME
from services.gateway import domain, wording

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
    assert errors["birth_year"] == ["err_birth_year"] and errors["consent"] == ["consent_required"]


def test_someone_younger_than_18_this_year_is_pointed_to_help_for_the_young_not_told_the_year_is_wrong():
    form = MultiDict({"name": "Kari", "postal_code": "5003", "role": "self", "themes": "grief", "birth_year": "2010"})
    with clock.use(clock.FixedClock(NOW)):  # the contract checks the age against the clock too
        assert domain.intake_from_form(form, "nb", NOW, "web-1")[1]["birth_year"] == ["under_18"]
        adult = MultiDict({**form, "birth_year": "2008"})  # 18 in 2026
        assert "birth_year" not in domain.intake_from_form(adult, "nb", NOW, "web-1")[1]
    new_year = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)  # already 2027 in Oslo: 2009 is 18 there
    with clock.use(clock.FixedClock(new_year)):
        late = MultiDict({**form, "birth_year": "2009"})
        assert "birth_year" not in domain.intake_from_form(late, "nb", new_year, "k")[1]


def test_a_referral_without_an_organisation_names_the_organisation_field_of_the_form():
    form = MultiDict({"name": "Kari", "postal_code": "5003", "role": "self", "themes": "grief", "language": "nb"})
    _, errors = domain.intake_from_form(form, "nb", NOW, "ref-1", {"referrer_id": "r", "organisation": ""})
    assert errors["organisation"] == ["err_organisation"] and "referral" not in errors


def test_a_referral_needs_no_consent_box_the_referrer_attests_it():
    form = MultiDict({"name": "Kari", "postal_code": "5003", "role": "self", "themes": "grief", "language": "nb"})
    payload, errors = domain.intake_from_form(form, "nb", NOW, "ref-1", {"referrer_id": "r", "organisation": "GP"})
    assert "consent" not in errors and payload["consent"]["channel"] == "referrer"
    assert payload["referral"] == {"referrer_id": "r", "organisation": "GP"}


def test_errors_follow_the_form_and_use_the_pages_own_words_where_it_has_them():
    known = {"err_phone", "consent_required"}
    flat = domain.flat_errors({"consent": ["consent_required"], "phone": ["Not a number."], "zzz": {"0": ["x"]}}, known)
    assert list(flat) == ["phone", "consent", "zzz"]
    assert flat == {"phone": "err_phone", "consent": "consent_required", "zzz": "err_unknown"}


def test_a_services_error_code_gets_its_own_words_a_generic_one_the_fields_and_an_unknown_one_is_reported():
    known = {"err_meeting_place_id", "err_first_meeting_at", "code_capacity_too_small", "code_required"}
    errors = {
        "meeting_place_id": ["capacity_too_small"],
        "first_meeting_at": ["required"],
        "starter_id": ["starter_on_holiday"],
        "reason": ["Must be one of: a, b."],
    }
    assert domain.flat_errors(errors, known) == {
        "meeting_place_id": "code_capacity_too_small",
        "first_meeting_at": "err_first_meeting_at",  # says what to do, where "required" says only that
        "starter_id": "err_unknown",
        "reason": "err_unknown",
    }
    assert domain.unworded(errors, known) == {"starter_id": "starter_on_holiday", "reason": "uncoded"}


def test_the_waiting_list_is_split_as_matching_pools_it_by_role_and_first_language():
    pool = [
        {"registration_id": "a", "role": "self", "language": "nb"},
        {"registration_id": "b", "role": "relative", "language": "nb"},
        {"registration_id": "c", "role": "self", "language": "nb"},
    ]
    assert [(s["role"], s["language"], [p["registration_id"] for p in s["people"]]) for s in domain.subpools(pool)] == [
        ("self", "nb", ["a", "c"]),
        ("relative", "nb", ["b"]),
    ]


def test_a_reference_matches_the_start_of_an_id_whatever_the_case():
    assert domain.matches_reference("0AC39F4D-1111", " 0ac3 9f4d ") and not domain.matches_reference("0ac3", "")


def test_a_first_meeting_typed_without_an_offset_is_norwegian_time():
    form = MultiDict({"meeting_place_id": "mp-1", "starter_id": "", "first_meeting_at": "2026-07-01T18:00"})
    confirmation, errors = domain.confirmation_from_form(form)
    assert confirmation["first_meeting_at"] == "2026-07-01T18:00:00+02:00"  # summer time
    assert errors == {"starter_id": "err_starter_id"}
    assert domain.confirmation_from_form(MultiDict({"first_meeting_at": "soon"}))[1]["first_meeting_at"]


def test_a_rejection_needs_one_of_the_contracts_reasons():
    assert domain.reason_from_form(MultiDict({"reason": "no_room"}), domain.REJECT_REASONS) == ("no_room", {})
    assert domain.reason_from_form(MultiDict({"reason": "bored"}), domain.REJECT_REASONS)[1] == {
        "reason": "choose_reason"
    }
    assert domain.reason_from_form(MultiDict({"reason": "no_room"}), domain.CLOSE_REASONS)[1] == {
        "reason": "choose_reason"
    }


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
    assert changes == {
        "name": "LINK",
        "sender_name": DEFAULT_SENDER_NAME,
        "languages": ["nb", "en"],
    }  # blank: the default
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


# --- issue 13: the personal page, the group's life, cohorts, meeting places ----------------------------


def test_a_personal_session_lives_30_quiet_minutes_and_8_hours_at_most():
    from datetime import timedelta

    start = NOW
    assert domain.personal_session_alive(start, start + timedelta(minutes=10), start + timedelta(minutes=39))
    assert not domain.personal_session_alive(start, start + timedelta(minutes=10), start + timedelta(minutes=40))
    late = start + timedelta(hours=7, minutes=59)
    assert domain.personal_session_alive(start, late, late) and not domain.personal_session_alive(
        start, late, start + timedelta(hours=8)
    )


def test_a_time_is_shown_in_norwegian_time_summer_and_winter():
    assert wording.moment("2027-01-09T23:00:00Z").isoformat() == "2027-01-10T00:00:00+01:00"
    assert wording.moment("2027-06-09T22:00:00+00:00").isoformat() == "2027-06-10T00:00:00+02:00"
    assert wording.moment("soon") is None and wording.moment(None) is None


def test_a_cohort_code_is_read_as_crockford_base32_reads_it():
    assert domain.cohort_code(" 7kq2-m9xh-3d ") == "7KQ2M9XH3D"
    assert domain.cohort_code("OIL0000000") == "0110000000"  # O is 0; I and L are 1
    assert domain.cohort_code("7KQ2M9XH3U") is None and domain.cohort_code("7KQ2M9XH3") is None


def test_only_what_differs_is_a_change_and_order_does_not_make_a_difference():
    current = {"themes": ["grief", "loneliness"], "languages": ["nb"], "open_to_mixed": True, "message_language": "nb"}
    current["availability"] = [{"weekday": "tue", "part_of_day": "evening"}]
    form = MultiDict(
        [
            ("themes", "loneliness"),
            ("themes", "grief"),
            ("languages", "nb"),
            ("availability", "tue-evening"),
            ("open_to_mixed", "no"),
            ("message_language", "nb"),
            ("accessibility_needs", "step_free"),
        ]
    )
    changes, errors = domain.preference_changes(form, current, has_email=True, has_phone=False)
    assert errors == {} and changes == {
        "open_to_mixed": False,
        "digital_ok": False,
        "not_in_own_municipality": False,
        "accessibility_needs": ["step_free"],
    }
    _, errors = domain.preference_changes(MultiDict({"preferred_channel": "sms"}), current, True, False)
    assert errors["preferred_channel"] == "err_channel_sms" and errors["themes"] == "err_themes"


def test_people_to_avoid_are_addresses_or_norwegian_mobiles_at_most_20():
    contacts, errors = domain.avoid_list(MultiDict({"contacts": "Kari@Example.no; 0047 912 34 567\n\nkari@example.no"}))
    assert (contacts, errors) == (["kari@example.no", "+4791234567"], {})
    assert domain.avoid_list(MultiDict({"contacts": "+46 70 123 45 67"}))[1] == {"contacts": "err_avoid_entry"}


def test_a_handover_has_at_most_two_of_the_members_and_a_whole_schedule():
    form = MultiDict(
        [
            ("checkin_registration_ids", "a"),
            ("weekday", "thu"),
            ("start_time", "18:00"),
            ("every", "week"),
            ("meeting_place_id", "room"),
        ]
    )
    handover, errors = domain.handover_from_form(form, ["a", "b"])
    assert errors == {} and handover["checkin_registration_ids"] == ["a"] and handover["schedule"]["every"] == "week"
    _, errors = domain.handover_from_form(MultiDict({"every": "daily"}), ["a"])
    assert set(errors) == {"weekday", "start_time", "every", "meeting_place_id"}


def test_a_new_places_id_comes_from_its_name_and_never_clashes():
    assert domain.place_id("Grupperommet på Nygård", []) == "grupperommet-pa-nygard"
    assert domain.place_id("Æ Ø Å", ["ae-o-a"]) == "ae-o-a-2" and domain.place_id("!", []) == "sted"


def test_a_place_that_becomes_digital_drops_its_address_and_needs_a_link():
    room = {"meeting_place_id": "rom", "name": "Rom", "kind": "physical", "capacity": 8, "address": {"street": "G 1"}}
    place, errors = domain.meeting_place_from_form(
        MultiDict({"meeting_place_id": "rom", "name": "Rom", "kind": "digital", "capacity": "8"}), [room]
    )
    assert "address" not in place and errors == {"video_url": "err_video_url"}
