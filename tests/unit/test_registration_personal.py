"""registration, issue 13: personal links, the person's own actions (as a participant actor, each
audited), pauses, and the list of people not to meet. In-memory fakes of registration's ports;
only the directory proxy is a mock."""

from datetime import UTC, datetime, timedelta

import pytest

from services.common import clock
from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.registration import links
from tests.fakes import an_event
from tests.fakes import participant as person
from tests.fakes.registration import LINK_KEY
from tests.samples import intake
from tests.unit.test_registration_service import (
    NOTIFICATION,
    PUBLIC,
    REFERRER,
    STAFF_BERGEN,
    STAFF_OSLO,
    a_service,
    referred,
    waitlisted,
)

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_clock():
    with clock.use(clock.FixedClock(NOW)) as fixed:
        yield fixed


def registered(service, **changes):
    """Registered through the RPC; a field given as None is left out (a person without a phone)."""
    data = {key: value for key, value in intake(**changes).items() if value is not None}
    return service.register(data, PUBLIC)["registration_id"]


def emitted(store, event_type):
    return [e["data"] for e in store.events if e["event_type"] == event_type]


def a_waiting_person(service, **changes):
    rid = registered(service, **changes)
    waitlisted(service, rid)
    return rid


def joined(service, rid, group_state=None, event_type="group_confirmed"):
    data = {"group_id": "g1", "contact_point_id": "link-bergen", "registration_ids": [rid]}
    if event_type == "group_confirmed":
        data.update(meeting_place_id="mp-1", first_meeting_at="2026-12-08T17:00:00Z", starter_id="st-1")
        service.handle_group_confirmed(an_event("matching", event_type, data))
    else:
        data.update(registration_id=rid, group_state=group_state, schedule=None, next_meeting_at=None)
        service.handle_group_member_added(an_event("matching", event_type, data, schema_version=2))


# --- personal links ---------------------------------------------------------------------------------


def test_a_link_from_the_contact_details_opens_the_persons_page():
    service, _ = a_service()
    rid = registered(service)
    token = service.contact_details(rid, NOTIFICATION)["link_token"]
    assert token.startswith(f"v1.{rid}.me.") and token.count(".") == 5
    assert "=" not in token.rsplit(".", 1)[1]  # base64url without padding
    assert service.open_link(token) == {"registration_id": rid}


def bad_links(service, fixed_clock):
    """Each way a link can fail, as (why, token)."""
    rid, other = registered(service), registered(service)
    token = service.contact_details(rid, NOTIFICATION)["link_token"]
    version, _, purpose, issued, expires, mac = token.split(".")
    now = int(NOW.timestamp())
    yield "tampered id", ".".join([version, other, purpose, issued, expires, mac])
    yield "tampered expiry", ".".join([version, rid, purpose, issued, str(int(expires) + 86400), mac])
    yield "another key", links.mint(b"another key", rid, "me", NOW)
    yield "foreign purpose", _signed([version, rid, "admin", str(now), str(now + 3600)])
    yield "not a token", "not-a-token"
    yield "not a string", {"t": token}
    yield "expired", links.mint(LINK_KEY.encode(), rid, "me", NOW - timedelta(days=91))
    revoked_id = registered(service)
    revoked = service.contact_details(revoked_id, NOTIFICATION)["link_token"]
    service.revoke_links(revoked_id, person(revoked_id))
    yield "revoked", revoked
    erased_id = registered(service)
    erased = service.contact_details(erased_id, NOTIFICATION)["link_token"]
    service.erase(erased_id, person(erased_id), "request")
    yield "erased", erased


def _signed(fields):
    return ".".join([*fields, links._mac(LINK_KEY.encode(), fields)])


def test_every_bad_link_fails_with_one_and_the_same_error(fixed_clock):
    service, _ = a_service()
    for why, token in bad_links(service, fixed_clock):
        with pytest.raises(NotFound) as refused:
            service.open_link(token)
            pytest.fail(f"a link that is {why} opened")
        assert str(refused.value) == "link", why


def test_a_link_expires_after_90_days(fixed_clock):
    service, _ = a_service()
    rid = registered(service)
    token = service.contact_details(rid, NOTIFICATION)["link_token"]
    fixed_clock.advance(days=89, hours=23)
    assert service.open_link(token) == {"registration_id": rid}
    fixed_clock.advance(hours=1)
    with pytest.raises(NotFound):
        service.open_link(token)


def test_revoking_kills_every_link_issued_so_far_and_a_later_one_works(fixed_clock):
    service, _ = a_service()
    rid = registered(service)
    old = service.contact_details(rid, NOTIFICATION)["link_token"]
    fixed_clock.advance(seconds=0.4)  # within the same second: still revoked
    assert service.revoke_links(rid, person(rid)) == {"registration_id": rid, "revoked": True}
    with pytest.raises(NotFound):
        service.open_link(old)
    fixed_clock.advance(seconds=1)
    assert service.open_link(service.contact_details(rid, NOTIFICATION)["link_token"]) == {"registration_id": rid}


def test_a_new_link_is_asked_for_by_address_which_never_leaves_registration():
    service, store = a_service()
    rid = registered(service, email="kari@example.no", phone="+4791234567")
    twin = registered(service, email="KARI@example.no", phone=None)  # the same address, registered again
    registered(service, email="ola@example.no", phone=None)
    for typed in ("  Kari@Example.no ", "912 34 567", "0047 91234567", "+47 91 23 45 67"):
        store.events.clear()
        assert service.request_new_link(typed) == {"accepted": True}
        expected = sorted([rid, twin]) if "@" in typed else [rid]
        assert sorted(e["registration_id"] for e in emitted(store, "personal_link_requested")) == expected
        assert all(set(e) == {"registration_id"} for e in emitted(store, "personal_link_requested"))
    assert "kari" not in repr(store.attempts).lower() and "91234567" not in repr(store.attempts)


def test_a_new_link_answer_is_the_same_for_unknown_and_malformed_addresses():
    service, store = a_service()
    registered(service, email="kari@example.no")
    for typed in ("nobody@example.no", "12345678", "not an address", "", None, ["kari@example.no"]):
        assert service.request_new_link(typed) == {"accepted": True}
    assert emitted(store, "personal_link_requested") == []


def test_at_most_three_new_links_per_address_in_24_hours(fixed_clock):
    service, store = a_service()
    registered(service, email="kari@example.no", phone="+4791234567")
    for _ in range(5):
        assert service.request_new_link("kari@example.no") == {"accepted": True}
    assert len(emitted(store, "personal_link_requested")) == 3
    assert service.request_new_link("91234567") == {"accepted": True}  # the phone is another address
    assert len(emitted(store, "personal_link_requested")) == 4
    fixed_clock.advance(hours=24, seconds=1)
    service.request_new_link("kari@example.no")
    assert len(emitted(store, "personal_link_requested")) == 5


# --- the participant actor and its audit ---------------------------------------------------------


def test_a_participant_acts_on_their_own_registration_only_and_every_action_is_audited():
    service, store = a_service()
    rid, other = a_waiting_person(service), a_waiting_person(service)
    assert service.personal_view(rid, person(rid))["registration_id"] == rid
    for call in (
        lambda: service.personal_view(other, person(rid)),
        lambda: service.update_preferences(other, {"digital_ok": True}, person(rid)),
        lambda: service.pause(other, 4, person(rid)),
        lambda: service.resume(other, person(rid)),
        lambda: service.withdraw(other, person(rid), "person"),
        lambda: service.come_back(other, person(rid)),
        lambda: service.erase(other, person(rid), "request"),
        lambda: service.set_avoid_list(other, [], person(rid)),
        lambda: service.revoke_links(other, person(rid)),
        lambda: service.get_registration(other, person(rid)),
    ):
        with pytest.raises(Forbidden):
            call()
    assert {(e["registration_id"], e["outcome"]) for e in store.audit_log} == {(rid, "ok"), (other, "forbidden")}
    assert len(store.audit_log) == 11
    assert all(set(entry) == {"at", "registration_id", "action", "outcome"} for entry in store.audit_log)
    with pytest.raises(InvalidInput):
        service.pause(rid, 1, person(rid))
    assert store.audit_log[-1] == {"at": NOW, "registration_id": rid, "action": "pause", "outcome": "invalid_input"}


def test_staff_of_the_persons_contact_point_may_act_for_them_unaudited():
    service, store = a_service()
    rid = a_waiting_person(service)
    assert service.pause(rid, 2, STAFF_BERGEN)["status"] == "paused"
    with pytest.raises(Forbidden):
        service.resume(rid, STAFF_OSLO)
    with pytest.raises(Forbidden):
        service.personal_view(rid, REFERRER)
    assert store.audit_log == []


def test_the_personal_view_shows_status_preferences_and_counts_but_no_other_person():
    service, _ = a_service()
    rid = a_waiting_person(service, name="Kari Nordmann", phone=None, digital_ok=True)
    service.set_avoid_list(rid, ["ola@example.no", "98765432"], person(rid))
    view = service.personal_view(rid, person(rid))
    assert view == {
        "registration_id": rid,
        "status": "waiting",
        "contact_point_id": "link-bergen",
        "waiting_since": "2026-11-28T09:00:00Z",
        "paused_until": None,
        "group_id": None,
        "preferences": {
            "themes": ["grief"],
            "languages": ["nb"],
            "availability": [{"weekday": "tue", "part_of_day": "evening"}],
            "digital_ok": True,
            "accessibility_needs": [],
            "not_in_own_municipality": False,
            "open_to_mixed": True,
            "message_language": "nb",
            "preferred_channel": "email",
        },
        "has_email": True,
        "has_phone": False,
        "avoid_count": 2,
        "first_name": "Kari",
    }


# --- preferences ----------------------------------------------------------------------------------


def test_a_change_of_what_matching_uses_emits_the_profile_and_one_of_how_to_reach_emits_nothing():
    service, store = a_service()
    rid = a_waiting_person(service)
    store.events.clear()
    answer = service.update_preferences(rid, {"message_language": "en", "preferred_channel": "sms"}, person(rid))
    assert answer == {
        "registration_id": rid,
        "changed": ["message_language", "preferred_channel"],
        "applies_to_future_matching_only": False,
    }
    assert store.events == []
    answer = service.update_preferences(
        rid, {"themes": ["grief", "loneliness"], "digital_ok": True, "message_language": "en"}, person(rid)
    )
    assert answer["changed"] == ["digital_ok", "themes"]
    [profile] = emitted(store, "registration_updated")
    assert profile["themes"] == ["grief", "loneliness"] and profile["digital_ok"] is True
    assert service.get_registration(rid, STAFF_BERGEN)["message_language"] == "en"
    assert service.update_preferences(rid, {"digital_ok": True}, person(rid))["changed"] == []
    assert len(emitted(store, "registration_updated")) == 1


def test_bad_preferences_get_field_errors_and_sms_needs_a_phone():
    service, store = a_service()
    rid = a_waiting_person(service, phone=None)
    cases = [
        ({"themes": []}, "themes"),
        ({"availability": [{"weekday": "someday", "part_of_day": "evening"}]}, "availability"),
        ({"digital_ok": "yes"}, "digital_ok"),
        ({"name": "Someone Else"}, "name"),  # not a preference
        ({"preferred_channel": "sms"}, "preferred_channel"),
    ]
    for changes, field in cases:
        with pytest.raises(InvalidInput) as refused:
            service.update_preferences(rid, changes, person(rid))
        assert list(refused.value.errors) == [field]
    with pytest.raises(InvalidInput) as refused:
        service.update_preferences(rid, {"preferred_channel": "sms"}, person(rid))
    assert refused.value.errors == {"preferred_channel": ["SMS was chosen, but no mobile number is on file."]}
    with pytest.raises(InvalidInput):
        service.update_preferences(rid, ["themes"], person(rid))
    assert emitted(store, "registration_updated") == []


def test_a_change_in_a_group_applies_to_future_matching_only_and_a_withdrawn_person_comes_back_first():
    service, _ = a_service()
    rid = a_waiting_person(service)
    joined(service, rid)
    answer = service.update_preferences(rid, {"open_to_mixed": False}, person(rid))
    assert answer["applies_to_future_matching_only"] is True
    service.withdraw(rid, person(rid), "person")
    with pytest.raises(Conflict, match="withdrawn"):
        service.update_preferences(rid, {"open_to_mixed": True}, person(rid))


# --- pause and resume ---------------------------------------------------------------------------


def test_a_pause_lasts_whole_weeks_to_midnight_in_oslo_and_is_on_the_bus():
    service, store = a_service()
    rid = a_waiting_person(service)
    for weeks in (1, 27, "4", 4.0, True, None):
        with pytest.raises(InvalidInput) as refused:
            service.pause(rid, weeks, person(rid))
        assert list(refused.value.errors) == ["weeks"]
    answer = service.pause(rid, 2, person(rid))
    assert answer == {"registration_id": rid, "status": "paused", "paused_until": "2026-12-11T23:00:00Z"}
    assert emitted(store, "registration_paused") == [{"registration_id": rid, "paused_until": "2026-12-11T23:00:00Z"}]


def test_a_pause_over_the_change_to_summer_time_still_ends_at_midnight_in_oslo(fixed_clock):
    service, _ = a_service()
    rid = a_waiting_person(service)
    fixed_clock.moment = datetime(2027, 3, 20, 12, tzinfo=UTC)
    assert service.pause(rid, 2, person(rid))["paused_until"] == "2027-04-02T22:00:00Z"  # 00:00 CEST


def test_a_person_in_a_group_cannot_pause_and_a_withdrawn_one_comes_back_first():
    service, store = a_service()
    rid = a_waiting_person(service)
    joined(service, rid)
    with pytest.raises(Conflict) as refused:
        service.pause(rid, 4, person(rid))
    assert str(refused.value) == "in_group"
    other = a_waiting_person(service)
    service.withdraw(other, person(other), "person")
    with pytest.raises(Conflict, match="withdrawn"):
        service.pause(other, 4, person(other))
    assert emitted(store, "registration_paused") == []


def test_a_paused_person_is_waiting_to_a_referrer_and_stays_paused_when_matching_reports_a_pool():
    service, _ = a_service()
    rid = registered(service, **referred())
    service.pause(rid, 3, person(rid))
    waitlisted(service, rid)
    assert service.personal_view(rid, person(rid))["status"] == "paused"
    assert service.referral_status(rid, REFERRER)["status"] == "waiting"


def test_resuming_cancels_the_pause_once_and_the_timer_ends_due_ones(fixed_clock):
    service, store = a_service()
    rid, later = a_waiting_person(service), a_waiting_person(service)
    assert service.resume(rid, person(rid)) == {"registration_id": rid, "status": "waiting", "changed": False}
    service.pause(rid, 2, person(rid))
    service.pause(later, 3, person(later))
    assert service.resume(rid, person(rid)) == {"registration_id": rid, "status": "waiting", "changed": True}
    assert emitted(store, "registration_resumed") == [{"registration_id": rid, "reason": "pause_cancelled"}]
    assert service.personal_view(rid, person(rid))["paused_until"] is None
    store.events.clear()
    fixed_clock.moment = datetime(2026, 12, 18, 22, 59, tzinfo=UTC)
    assert service.end_due_pauses() == 0
    fixed_clock.advance(minutes=1)  # 00:00 in Oslo, three weeks on
    assert service.end_due_pauses() == 1
    assert service.end_due_pauses() == 0
    assert emitted(store, "registration_resumed") == [{"registration_id": later, "reason": "pause_ended"}]
    assert service.personal_view(later, person(later))["status"] == "waiting"


def test_a_pause_before_matching_placed_the_person_ends_in_registered():
    service, _ = a_service()
    rid = registered(service)
    service.pause(rid, 2, person(rid))
    service.resume(rid, person(rid))
    assert service.personal_view(rid, person(rid))["status"] == "registered"


def test_a_confirmation_that_crossed_a_pause_on_the_bus_wins():
    service, _ = a_service()
    rid = a_waiting_person(service)
    service.pause(rid, 2, person(rid))
    joined(service, rid)
    view = service.personal_view(rid, person(rid))
    assert (view["status"], view["paused_until"], view["group_id"]) == ("in_group", None, "g1")


def test_a_member_added_to_a_mere_proposal_is_not_yet_in_a_group():
    service, _ = a_service()
    rid = a_waiting_person(service)
    joined(service, rid, group_state="proposed", event_type="group_member_added")
    assert service.personal_view(rid, person(rid))["status"] == "waiting"
    joined(service, rid, group_state="self_run", event_type="group_member_added")
    assert service.personal_view(rid, person(rid))["status"] == "in_group"


# --- withdraw, come back, erase -------------------------------------------------------------------


def test_the_person_withdraws_comes_back_and_erases_themselves():
    service, store = a_service()
    rid = a_waiting_person(service)
    assert service.withdraw(rid, person(rid), "staff")["changed"]  # the person's own wish, whatever it says
    assert emitted(store, "registration_withdrawn") == [{"registration_id": rid, "reason": "person"}]
    assert service.come_back(rid, person(rid)) == {"registration_id": rid, "changed": True}
    assert emitted(store, "registration_resumed") == [{"registration_id": rid, "reason": "came_back"}]
    assert service.erase(rid, person(rid), "request") == {"registration_id": rid, "erased": True}
    assert rid not in repr(store.audit_log)  # an erased person's audit keeps no id
    assert [e["action"] for e in store.audit_log] == ["withdraw", "come_back", "erase"]


def test_a_withdrawal_ends_a_pause():
    service, _ = a_service()
    rid = a_waiting_person(service)
    service.pause(rid, 2, person(rid))
    service.withdraw(rid, person(rid), "person")
    assert service.personal_view(rid, person(rid))["paused_until"] is None


# --- people not to meet ---------------------------------------------------------------------------


def test_the_avoid_list_keeps_digests_only_and_flags_each_registration_of_a_listed_person():
    service, store = a_service()
    me = a_waiting_person(service, email="me@example.no", phone=None)
    ola = a_waiting_person(service, email="ola@example.no", phone="+4798765432")
    ola_again = a_waiting_person(service, email="other@example.no", phone="+4798765432")
    assert service.set_avoid_list(me, ["Ola@Example.no", "987 65 432", "ola@example.no"], person(me)) == {"count": 2}
    stored = store.registrations[me]
    assert "ola" not in repr(stored["avoid_digests"]) and "98765432" not in repr(stored)
    flagged = emitted(store, "registration_pair_flagged")
    assert sorted(tuple(e["registration_ids"]) for e in flagged if e["reason"] == "avoid") == sorted(
        tuple(sorted((me, other))) for other in (ola, ola_again)
    )
    duplicates = {"registration_ids": sorted((ola, ola_again)), "reason": "possible_duplicate"}  # one phone
    assert [e for e in flagged if e["reason"] != "avoid"] == [duplicates]
    store.events.clear()
    later = registered(service, email="nobody@example.no", phone="+4798765432")  # Ola registers once more
    assert [e for e in emitted(store, "registration_pair_flagged") if e["reason"] == "avoid"] == [
        {"registration_ids": sorted((me, later)), "reason": "avoid"}
    ]
    assert service.personal_view(me, person(me))["avoid_count"] == 2


def test_removing_an_entry_clears_its_pairs_unless_the_other_lists_this_person_too():
    service, store = a_service()
    me = a_waiting_person(service, email="me@example.no", phone=None)
    ola = a_waiting_person(service, email="ola@example.no", phone=None)
    kari = a_waiting_person(service, email="kari@example.no", phone=None)
    service.set_avoid_list(me, ["ola@example.no", "kari@example.no"], person(me))
    service.set_avoid_list(kari, ["me@example.no"], person(kari))  # already a pair: nothing new
    assert len(emitted(store, "registration_pair_flagged")) == 2
    store.events.clear()
    assert service.set_avoid_list(me, [], person(me)) == {"count": 0}
    assert emitted(store, "registration_pair_cleared") == [{"registration_ids": sorted((me, ola)), "reason": "avoid"}]


def test_listing_oneself_or_nobody_known_flags_nothing_and_bad_entries_are_named_by_position():
    service, store = a_service()
    me = a_waiting_person(service, email="me@example.no")
    assert service.set_avoid_list(me, ["me@example.no", "stranger@example.no"], person(me)) == {"count": 2}
    assert emitted(store, "registration_pair_flagged") == []
    with pytest.raises(InvalidInput) as refused:
        service.set_avoid_list(me, ["ok@example.no", "ola", "12345678"], person(me))
    assert refused.value.errors == {
        "contacts": {
            "1": ["not_contact"],
            "2": ["not_contact"],
        }
    }
    with pytest.raises(InvalidInput) as refused:
        service.set_avoid_list(me, [f"p{i}@example.no" for i in range(21)], person(me))
    assert list(refused.value.errors) == ["contacts"]


def test_an_erased_person_leaves_no_flag_behind_on_others():
    service, store = a_service()
    me = a_waiting_person(service, email="me@example.no")
    ola = a_waiting_person(service, email="ola@example.no")
    service.set_avoid_list(me, ["ola@example.no"], person(me))
    service.erase(ola, person(ola), "request")
    assert ola not in repr(store.registrations)
