"""The person's own page, opened by their personal link without an account: the exchange of the
link for the flokk_me session, the one 404 of every bad link, the page in plain words, and each
action going to its service with the person as actor. The other services are mocks answering the
shapes of the agreed interface (issue 13)."""

import copy
import json
import logging
import re
from datetime import UTC, datetime
from http.cookies import SimpleCookie

import pytest
from nameko.exceptions import RemoteError

from services.common import clock
from services.common.actors import Actor, Signer, Verifier, sign_arguments
from services.common.settings import Settings
from services.gateway import auth
from services.gateway.context import ANON_CSRF_COOKIE
from services.gateway.personal import PERSONAL_COOKIE
from services.gateway.service import secure_cookies
from services.gateway.settings import SETTINGS
from services.gateway.web import AccessLog
from tests.fakes.gateway import PERSON_STATUS, PERSONAL_VIEW, Caller, gateway, request
from tests.samples import GATEWAY_PRODUCTION

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


class ParticipantActor:
    """Equal to the actor the gateway passes for reg-1: an `Actor` its proxies sign (like every
    person's), with this request's id."""

    CLAIMS = {"role": "participant", "registration_id": "reg-1", "purpose": "personal_page"}

    def __eq__(self, other):
        if not isinstance(other, Actor):
            return False
        request_id = other.get("request_id")
        return dict(other) == {**self.CLAIMS, "request_id": request_id} and len(str(request_id or "")) == 32

    def __repr__(self):
        return f"ParticipantActor({self.CLAIMS}, request_id=<32 hex>)"


ACTOR = ParticipantActor()
TOKEN = "v1.reg-1.me.1795000000.1802776000.c2lnbmF0dXJl"
CHANGE = {  # the change form as the person sends it back, their wishes as they were
    "themes": "grief",
    "languages": "nb",
    "availability": "tue-evening",
    "open_to_mixed": "yes",
    "message_language": "nb",
    "preferred_channel": "email",
}


def html(response):
    return response.get_data(as_text=True)


def main_of(response):
    """The page's content without the per-visitor CSRF token, to compare two answers."""
    page = html(response)
    return re.sub(r'name="csrf_token" value="[^"]*"', "", page[page.index("<main") : page.index("</main>")])


def set_cookie(response, name):
    jar = SimpleCookie()
    for header in response.headers.getlist("Set-Cookie"):
        jar.load(header)
    return jar[name]


@pytest.fixture
def fixed():
    with clock.use(clock.FixedClock(T0)) as moment:
        yield moment


@pytest.fixture
def world(fixed):
    service, store = gateway()
    return service, store, Caller(service, store, "participant")


def answer(service, name, method, value):
    getattr(getattr(service, name), method).return_value = copy.deepcopy(value)


# --- the link and the session ---------------------------------------------------------------------


def test_a_link_is_exchanged_for_a_strict_httponly_cookie_and_the_browser_is_sent_on_to_me(fixed):
    service, store = gateway()
    response = request(service, "GET", "/me", query={"t": TOKEN})
    assert (response.status_code, response.headers["Location"]) == (303, "/me")
    assert response.headers["Referrer-Policy"] == "no-referrer" and response.headers["Cache-Control"] == "no-store"
    service.registration.open_link.assert_called_once_with(TOKEN)
    cookie = set_cookie(response, PERSONAL_COOKIE)
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/me"
    assert cookie["max-age"] == str(8 * 3600) and not cookie["secure"]  # test mode: plain HTTP
    [(digest, session)] = store.personal_sessions.items()
    assert digest == auth.digest(cookie.value) and session["registration_id"] == "reg-1"
    assert TOKEN not in json.dumps(store.personal_sessions, default=str)  # the link itself is kept nowhere


def test_the_cookie_is_secure_outside_test_and_demo_unless_told_otherwise(fixed):
    service, store = gateway(config={"FLOKK_COOKIE_SECURE": "1"})
    assert set_cookie(request(service, "GET", "/me", query={"t": TOKEN}), PERSONAL_COOKIE)["secure"]
    production = GATEWAY_PRODUCTION
    assert secure_cookies(Settings.load("gateway", SETTINGS, {}, production))
    assert not secure_cookies(Settings.load("gateway", SETTINGS, {}, {**production, "FLOKK_COOKIE_SECURE": "0"}))
    assert not secure_cookies(Settings.load("gateway", SETTINGS, {}, {"FLOKK_MODE": "demo"}))


def test_every_bad_link_gets_one_and_the_same_404_page_with_the_form_for_a_new_one(fixed):
    service, store = gateway()
    service.registration.open_link.side_effect = RemoteError("NotFound", "link")
    bad_token = request(service, "GET", "/me", query={"t": "v1.tampered"})
    no_cookie = request(service, "GET", "/me")
    unknown_cookie = request(service, "GET", "/me", headers={"Cookie": f"{PERSONAL_COOKIE}=made-up"})
    person = Caller(service, store, "participant")
    service.registration.personal_view.side_effect = RemoteError("NotFound", "reg-1")  # erased since
    erased = person("GET", "/me")
    service.registration.pause.side_effect = RemoteError("NotFound", "reg-1")
    an_action = person("POST", "/me/pause", form={"weeks": "4", "csrf_token": person.csrf})
    answers = [bad_token, no_cookie, unknown_cookie, erased, an_action]
    assert {r.status_code for r in answers} == {404} and len({main_of(r) for r in answers}) == 1
    assert "Lenken virker ikke lenger" in html(bad_token) and 'action="/me/new-link"' in html(bad_token)
    assert all(r.headers["Referrer-Policy"] == "no-referrer" for r in answers)
    assert PERSONAL_COOKIE not in bad_token.headers.get("Set-Cookie", "")
    assert service.registration.pause.call_args.args == ("reg-1", 4, ACTOR)


def test_a_session_ends_after_30_quiet_minutes_and_after_8_hours_whatever_happens(fixed):
    service, store = gateway()
    person = Caller(service, store, "participant")
    person("GET", "/me")  # the session starts now (the caller opens it as a link would)
    cookie = {"Cookie": f"{PERSONAL_COOKIE}={person.session_id}"}
    fixed.advance(minutes=29)
    assert request(service, "GET", "/me", headers=cookie).status_code == 200  # and counts as activity
    fixed.advance(minutes=29)
    assert request(service, "GET", "/me", headers=cookie).status_code == 200
    fixed.advance(minutes=31)
    assert request(service, "GET", "/me", headers=cookie).status_code == 404

    store.personal_sessions.clear()
    person("GET", "/me")
    for _ in range(23):  # every 20 minutes for 7 h 40 min
        fixed.advance(minutes=20)
        assert request(service, "GET", "/me", headers=cookie).status_code == 200
    fixed.advance(minutes=20)
    assert request(service, "GET", "/me", headers=cookie).status_code == 404


def test_a_link_followed_from_another_site_reloads_itself_once_from_this_one(fixed):
    """A browser keeps a SameSite=Strict cookie back on the redirect after a link from webmail."""
    service, store = gateway()
    response = request(service, "GET", "/me", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 200 and '<meta http-equiv="refresh" content="0; url=/me">' in html(response)
    assert request(service, "GET", "/me", headers={"Sec-Fetch-Site": "same-origin"}).status_code == 404


def test_the_access_log_never_writes_a_query_string(caplog):
    line = '127.0.0.1 - - [02/Dec/2026 09:00:00] "GET /me?t=v1.reg-1.me.1.2.mac HTTP/1.1" 303 0 0.004'
    with caplog.at_level(logging.INFO, logger="nameko.web.server"):
        AccessLog("nameko.web.server").info(line)
    [record] = caplog.records
    assert "v1.reg-1" not in record.getMessage() and '"GET /me?… HTTP/1.1" 303' in record.getMessage()


def test_a_personal_cookie_is_no_account_and_a_staff_session_no_personal_page(world):
    service, store, person = world
    assert person("GET", "/staff/link-bergen/pool").status_code == 302  # to the sign-in page
    staff = Caller(service, store, "contact_point_staff", contact_point_ids=["link-bergen"])
    assert staff("GET", "/me").status_code == 404 and not service.registration.personal_view.called


# --- the page -------------------------------------------------------------------------------------


def test_a_waiting_person_sees_where_since_when_and_what_was_widened(world):
    service, store, person = world
    page = html(person("GET", "/me"))
    assert "Hei, Kari" in page
    assert "Du venter på en gruppe hos LINK Bergen og omegn, og har ventet siden 1. november 2026." in page
    assert "Nabokontaktpunkt (etter 30 dager)" in page
    for action in ("/me/pause", "/me/withdraw", "/me/change", "/me/avoid", "/me/erase", "/me/links/revoke"):
        assert f'"{action}"' in page
    assert "/me/come-back" not in page and "/me/resume" not in page and "/me/leave-group" not in page
    assert service.registration.personal_view.call_args.args == ("reg-1", ACTOR)
    assert service.matching.person_status.call_args.args == ("reg-1", ACTOR)
    same_request = {service.registration.personal_view.call_args.args[-1]["request_id"]}
    assert same_request == {service.matching.person_status.call_args.args[-1]["request_id"]}
    assert "<script" not in page


def test_the_participant_actor_is_signed_by_the_gateway_and_verified_as_the_person_alone(world):
    service, store, person = world
    person("POST", "/me/pause", form={"weeks": "4", "csrf_token": person.csrf})
    actor = service.registration.pause.call_args.args[-1]
    signer = Signer.from_settings("gateway", None, development=True)
    args, _ = sign_arguments(signer, "registration.pause", ["reg-1", 4, actor], {})
    assert args[:2] == ["reg-1", 4]  # only the actor becomes a token
    assert Verifier.from_settings(None, development=True).verify(args[2], "registration.pause") == {
        "role": "participant",
        "account_id": None,
        "registration_id": "reg-1",
        "service": None,
        "contact_point_ids": [],
        "referrer_id": None,
        "purpose": "personal_page",
        "request_id": actor["request_id"],
        "issuer": "gateway",
    }


def test_a_paused_person_sees_until_when_and_may_end_the_pause(world):
    service, store, person = world
    answer(
        service,
        "registration",
        "personal_view",
        {**PERSONAL_VIEW, "status": "paused", "paused_until": "2027-01-09T23:00:00Z"},
    )
    page = html(person("GET", "/me"))
    assert "Påmeldingen din har pause til 10. januar 2027." in page  # 00:00 in Oslo: the day it ends
    assert '"/me/resume"' in page and '"/me/pause"' not in page


def test_a_member_sees_the_groups_schedule_next_meeting_and_video_link_and_may_leave_not_pause(world):
    service, store, person = world
    group = {
        "group_id": "grp-1",
        "state": "self_run",
        "contact_point_id": "link-bergen",
        "meeting_place_id": "video-room",
        "first_meeting_at": "2026-12-08T17:00:00Z",
        "schedule": {"weekday": "thu", "start_time": "18:00", "every": "other_week", "meeting_place_id": "video-room"},
        "next_meeting_at": "2026-12-10T17:00:00Z",
    }
    answer(service, "registration", "personal_view", {**PERSONAL_VIEW, "status": "in_group", "group_id": "grp-1"})
    answer(service, "matching", "person_status", {**PERSON_STATUS, "state": "in_group", "group": group})
    bergen = service.directory.get_contact_point.return_value
    bergen["meeting_places"].append(
        {"meeting_place_id": "video-room", "name": "Videorommet", "kind": "digital", "capacity": 8}
    )
    page = html(person("GET", "/me"))
    assert "Du er med i en gruppe hos LINK Bergen og omegn." in page
    assert "Annenhver torsdag kl. 18.00" in page and "torsdag 10. desember 2026 kl. 18.00" in page
    assert 'href="https://video.example.no/rom-7"' in page
    assert service.directory.meeting_link.call_args.args == ("video-room", ACTOR)
    assert "Gruppen går på egen hånd." in page
    assert '"/me/leave-group"' in page and 'name="group_id" value="grp-1"' in page
    assert '"/me/pause"' not in page and "Du kan ikke ta pause mens du er med i en gruppe" in page


def test_a_check_in_member_is_led_to_the_open_check_in(world):
    service, store, person = world
    group = {"group_id": "grp-1", "state": "self_run", "contact_point_id": "link-bergen", "schedule": None}
    group["open_checkin"] = {"checkin_id": "chk-7", "number": 2, "due_at": "2027-03-08T17:00:00Z", "answered_at": None}
    answer(service, "registration", "personal_view", {**PERSONAL_VIEW, "status": "in_group"})
    answer(service, "matching", "person_status", {**PERSON_STATUS, "state": "in_group", "group": group})
    assert 'href="/me/check-ins/chk-7"' in html(person("GET", "/me"))


def test_a_withdrawn_person_may_come_back_and_the_page_survives_matching_and_directory_being_away(world):
    service, store, person = world
    answer(service, "registration", "personal_view", {**PERSONAL_VIEW, "status": "withdrawn"})
    service.matching.person_status.side_effect = RemoteError("KeyError", "x")
    service.directory.get_contact_point.side_effect = RemoteError("NotFound", "link-bergen")
    response = person("GET", "/me")
    assert response.status_code == 200 and "Du har trukket påmeldingen din." in html(response)
    assert '"/me/come-back"' in html(response) and '"/me/withdraw"' not in html(response)
    assert '"/me/change"' not in html(response)  # registration changes nothing for the withdrawn
    service.registration.update_preferences.side_effect = RemoteError("Conflict", "withdrawn")
    changed = post(person, "/me/change", **{**CHANGE, "themes": "loneliness"})
    assert changed.headers["Location"] == "/me?done=come_back_first"


def test_the_page_speaks_the_language_of_the_persons_messages_unless_they_chose_another(world):
    service, store, person = world
    preferences = {**PERSONAL_VIEW["preferences"], "message_language": "en"}
    answer(service, "registration", "personal_view", {**PERSONAL_VIEW, "preferences": preferences})
    assert "You are waiting for a group at LINK Bergen og omegn" in html(person("GET", "/me"))
    assert "Du ventar på ei gruppe" in html(person("GET", "/me", query={"lang": "nn"}))


# --- the actions ------------------------------------------------------------------------------------


def post(person, path, **form):
    return person("POST", path, form={**form, "csrf_token": person.csrf})


@pytest.mark.parametrize(
    "path,form,rpc,args,done",
    [
        ("/me/pause", {"weeks": "6"}, ("registration", "pause"), ("reg-1", 6, ACTOR), "paused"),
        ("/me/resume", {}, ("registration", "resume"), ("reg-1", ACTOR), "resumed"),
        ("/me/withdraw", {}, ("registration", "withdraw"), ("reg-1", ACTOR, "person"), "withdrawn"),
        ("/me/come-back", {}, ("registration", "come_back"), ("reg-1", ACTOR), "came_back"),
        (
            "/me/leave-group",
            {"group_id": "grp-1"},
            ("matching", "leave_group"),
            ("grp-1", "reg-1", ACTOR),
            "left_group",
        ),
        ("/me/links/revoke", {}, ("registration", "revoke_links"), ("reg-1", ACTOR), "links_revoked"),
    ],
)
def test_each_action_goes_to_its_service_for_the_persons_own_registration(world, path, form, rpc, args, done):
    service, store, person = world
    response = post(person, path, **form)
    assert (response.status_code, response.headers["Location"]) == (303, f"/me?done={done}")
    assert getattr(getattr(service, rpc[0]), rpc[1]).call_args.args == args
    assert html(person("GET", "/me", query={"done": done})).count('role="status"') == 1


def test_every_action_needs_the_sessions_csrf_token(world):
    service, store, person = world
    assert person("POST", "/me/withdraw", form={}, csrf=False).status_code == 403
    assert person("POST", "/me/withdraw", form={"csrf_token": "guess"}, csrf=False).status_code == 403
    assert not service.registration.withdraw.called


def test_a_pause_is_2_to_26_weeks_and_refused_in_a_group_with_the_way_out(world):
    service, store, person = world
    response = post(person, "/me/pause", weeks="27")
    assert (
        response.status_code == 400 and 'id="weeks-error"' in html(response) and not service.registration.pause.called
    )
    service.registration.pause.side_effect = RemoteError("Conflict", "in_group")
    response = post(person, "/me/pause", weeks="4")
    assert response.headers["Location"] == "/me?done=pause_in_group"
    assert "Du kan gå ut av gruppen i stedet." in html(person("GET", "/me", query={"done": "pause_in_group"}))
    service.registration.pause.side_effect = RemoteError("Conflict", "withdrawn")
    assert post(person, "/me/pause", weeks="4").headers["Location"] == "/me?done=come_back_first"


def test_erasing_takes_a_second_step_then_ends_every_session_of_the_person(world):
    service, store, person = world
    assert "Ja, slett alt om meg" in html(person("GET", "/me/erase"))
    unconfirmed = post(person, "/me/erase")
    assert unconfirmed.status_code == 400 and 'id="confirm-error"' in html(unconfirmed)
    assert not service.registration.erase.called
    other_device = Caller(service, store, "participant")
    other_device("GET", "/me")
    erased = post(person, "/me/erase", confirm="yes")
    assert erased.status_code == 200 and "Alt om deg er slettet" in html(erased)
    assert service.registration.erase.call_args.args == ("reg-1", ACTOR, "request")
    assert not store.personal_sessions and set_cookie(erased, PERSONAL_COOKIE).value == ""


def test_closing_the_page_ends_its_session(world):
    service, store, person = world
    response = post(person, "/me/sign-out")
    assert response.status_code == 200 and not store.personal_sessions
    assert (
        request(service, "GET", "/me", headers={"Cookie": f"{PERSONAL_COOKIE}={person.session_id}"}).status_code == 404
    )


def test_a_change_sends_only_what_changed_and_says_when_it_counts_for_later_only(world):
    service, store, person = world
    page = html(person("GET", "/me/change"))
    assert (
        'id="themes-grief" name="themes" value="grief" checked' in page
        and 'value="tue-evening" id="slot-tue-evening" checked' in page
    )
    form = {**CHANGE, "themes": ["grief", "loneliness"]}
    response = post(person, "/me/change", **form)
    assert response.headers["Location"] == "/me?done=changed"
    registration_id, changes, actor = service.registration.update_preferences.call_args.args
    assert (registration_id, changes, actor) == ("reg-1", {"themes": ["grief", "loneliness"]}, ACTOR)
    answer(
        service,
        "registration",
        "update_preferences",
        {"registration_id": "reg-1", "changed": ["themes"], "applies_to_future_matching_only": True},
    )
    assert post(person, "/me/change", **form).headers["Location"] == "/me?done=changed_future"
    service.registration.update_preferences.reset_mock()
    assert post(person, "/me/change", **CHANGE).headers["Location"] == "/me?done=unchanged"
    assert not service.registration.update_preferences.called


def test_sms_without_a_phone_and_an_empty_choice_are_field_errors_before_any_rpc(world):
    service, store, person = world
    form = {**CHANGE, "themes": [], "preferred_channel": "sms"}
    response = post(person, "/me/change", **form)
    page = html(response)
    assert response.status_code == 400 and not service.registration.update_preferences.called
    assert 'href="#themes"' in page and 'href="#preferred_channel"' in page
    assert "Vi har ikke mobilnummeret ditt." in page


def test_the_services_field_errors_land_on_the_change_form(world):
    service, store, person = world
    service.registration.update_preferences.side_effect = RemoteError(
        "InvalidInput", json.dumps({"preferred_channel": ["SMS was chosen, but no mobile number was given."]})
    )
    answer(service, "registration", "personal_view", {**PERSONAL_VIEW, "has_phone": True})
    form = {**CHANGE, "preferred_channel": "sms"}
    response = post(person, "/me/change", **form)
    assert response.status_code == 400 and 'id="preferred_channel-error"' in html(response)


def test_people_i_must_not_meet_are_sent_as_one_list_and_only_counted_back(world):
    service, store, person = world
    answer(service, "registration", "personal_view", {**PERSONAL_VIEW, "avoid_count": 2})
    assert "Listen din har 2 personer." in html(person("GET", "/me/avoid"))
    response = post(person, "/me/avoid", contacts="Ola@Example.no\n912 34 567, ola@example.no")
    assert response.headers["Location"] == "/me/avoid?done=saved"
    assert service.registration.set_avoid_list.call_args.args == ("reg-1", ["ola@example.no", "+4791234567"], ACTOR)
    too_many = post(person, "/me/avoid", contacts="\n".join(f"p{n}@example.no" for n in range(21)))
    not_one = post(person, "/me/avoid", contacts="Ola from work")
    assert too_many.status_code == not_one.status_code == 400 and service.registration.set_avoid_list.call_count == 1
    assert "høyst 20" in html(too_many) and "Skriv én e-postadresse" in html(not_one)


def test_a_check_in_answer_goes_to_matching_with_its_comment_and_a_closed_one_says_so(world):
    service, store, person = world
    assert "Møtes gruppen fortsatt?" in html(person("GET", "/me/check-ins/chk-1"))
    form = {
        "still_meeting": "yes",
        "usual_attendance": "6",
        "wants_new_members": "no",
        "needs_help": "no",
        "comment": " Vi trives. ",
    }
    assert post(person, "/me/check-ins/chk-1", **form).headers["Location"] == "/me?done=checkin_answered"
    answer_sent = {
        "still_meeting": True,
        "usual_attendance": 6,
        "wants_new_members": False,
        "needs_help": False,
        "comment": "Vi trives.",
    }
    assert service.matching.answer_checkin.call_args.args == ("chk-1", answer_sent, ACTOR)
    bad = post(person, "/me/check-ins/chk-1", **{**form, "usual_attendance": "21", "needs_help": ""})
    assert bad.status_code == 400 and 'id="usual_attendance-error"' in html(bad) and 'href="#needs_help"' in html(bad)
    service.matching.answer_checkin.side_effect = RemoteError("Conflict", "checkin_closed")
    closed = post(person, "/me/check-ins/chk-1", **form)
    assert closed.status_code == 409 and "Denne innsjekken er lukket." in html(closed)


# --- a new link -------------------------------------------------------------------------------------


def test_a_new_link_is_asked_for_by_address_and_the_answer_never_tells_whether_it_is_known(fixed):
    service, store = gateway()
    anonymous = Caller(service, store)

    def ask(contact):
        return anonymous("POST", "/me/new-link", form={"contact": contact, "csrf_token": anonymous.csrf})

    known, unknown = ask("kari@example.no"), ask("nobody@example.no")
    assert known.status_code == unknown.status_code == 200 and main_of(known) == main_of(unknown)
    assert "Hvis vi finner påmeldingen din" in html(known)
    assert [c.args for c in service.registration.request_new_link.call_args_list] == [
        ("kari@example.no",),
        ("nobody@example.no",),
    ]
    for typo in ("  ", "kari@example", "12 34"):  # registration would accept and ignore these
        answered = ask(typo)
        assert answered.status_code == 200 and 'id="contact-error"' in html(answered)
    assert service.registration.request_new_link.call_count == 2
    assert known.headers["Referrer-Policy"] == "no-referrer"


def test_the_new_link_form_works_from_the_bad_link_page_whatever_cookie_the_browser_has(world):
    service, store, person = world
    service.registration.personal_view.side_effect = RemoteError("NotFound", "reg-1")
    page = person("GET", "/me")
    token = re.search(r'action="/me/new-link".*?name="csrf_token" value="([^"]+)"', html(page), re.S).group(1)
    assert token == person.cookies[ANON_CSRF_COOKIE]  # the double-submit token, not the session's
    response = person("POST", "/me/new-link", form={"contact": "kari@example.no", "csrf_token": token}, csrf=False)
    assert response.status_code == 200 and service.registration.request_new_link.called
