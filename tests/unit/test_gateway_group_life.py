"""The group's life after the start, from the staff's pages and the API: one group's page (members,
schedule, check-ins without their comments), starting it, the handover, a check-in sent now, a
member taken out, closing it, a comment read (audited); the confirmation's new fields; and
acquaintances. Matching is a mock answering the shapes of the agreed interface (issue 13)."""

import json

import pytest
from nameko.exceptions import RemoteError

from tests.fakes.gateway import GROUP_VIEW, Caller, body, gateway

GROUP_PAGE = "/staff/link-bergen/groups/grp-1"
API = "/api/contact-points/link-bergen/groups/grp-1"
HANDOVER = {
    "checkin_registration_ids": ["reg-2", "reg-4"],
    "weekday": "thu",
    "start_time": "18:30",
    "every": "other_week",
    "meeting_place_id": "group-room",
}


def html(response):
    return response.get_data(as_text=True)


@pytest.fixture
def world():
    service, store = gateway()
    return service, store, Caller(service, store, "contact_point_staff", contact_point_ids=["link-bergen"])


def post(staff, path, **form):
    return staff("POST", path, form=form)


def test_the_group_page_shows_members_schedule_and_check_ins_but_no_comment_and_is_audited(world):
    service, store, staff = world
    response = staff("GET", GROUP_PAGE)
    page = html(response)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert "Går på egen hånd" in page and "5 medlemmer" in page
    assert "Hver torsdag kl. 18.00, Grupperommet" in page and "8. mars 2027" in page  # schedule, next check-in
    assert 'href="/staff/link-bergen/groups/grp-1/check-ins/chk-1/comment"' in page
    assert "Vi trives" not in page and not service.matching.checkin_comment.called
    assert service.matching.group_view.call_args.args[0] == "grp-1"
    assert '<th scope="row">Kari</th>' in page and '<th scope="row">reg-3</th>' in page  # names it may read
    assert [(e["action"], e["subject_kind"], e["subject_id"], e["outcome"]) for e in store.entries] == [
        ("staff_group", "group", "grp-1", "allowed"),
        ("staff_group: first name", "registration", "reg-1", "allowed"),  # one entry per person named
        ("staff_group: first name", "registration", "reg-2", "allowed"),
    ]
    assert "/staff/link-bergen/groups/grp-1/check-ins" in page  # a self-run group: send one now
    assert f"{GROUP_PAGE}/handover" not in page and f"{GROUP_PAGE}/start" not in page


def test_a_group_whose_last_two_check_ins_went_unanswered_is_marked_unknown(world):
    service, store, staff = world
    service.matching.group_view.return_value = {**GROUP_VIEW, "status": "unknown"}
    assert "Ukjent status" in html(staff("GET", GROUP_PAGE))


def test_the_planned_handover_is_written_as_a_date_of_the_page_s_language(world):
    service, store, staff = world
    planned = {**GROUP_VIEW, "confirmation": {**GROUP_VIEW["confirmation"], "handover_planned_on": "2027-02-15"}}
    service.matching.group_view.return_value = planned
    assert "15. februar 2027" in html(staff("GET", GROUP_PAGE)) and "2027-02-15" not in html(staff("GET", GROUP_PAGE))
    assert "15 February 2027" in html(staff("GET", GROUP_PAGE + "?lang=en"))


def test_each_state_offers_its_next_step(world):
    service, store, staff = world
    service.matching.group_view.return_value = {**GROUP_VIEW, "state": "confirmed", "checkins": []}
    assert f'action="{GROUP_PAGE}/start"' in html(staff("GET", GROUP_PAGE))
    service.matching.group_view.return_value = {**GROUP_VIEW, "state": "started", "checkins": []}
    page = html(staff("GET", GROUP_PAGE))
    assert f'action="{GROUP_PAGE}/handover"' in page and 'name="checkin_registration_ids" value="reg-5"' in page
    service.matching.group_view.return_value = {**GROUP_VIEW, "state": "closed", "checkins": []}
    page = html(staff("GET", GROUP_PAGE))
    assert "/close" not in page and "/remove" not in page


def test_starting_closing_and_taking_a_member_out(world):
    service, store, staff = world
    assert post(staff, f"{GROUP_PAGE}/start").headers["Location"] == f"{GROUP_PAGE}?done=started"
    assert service.matching.advance_group.call_args.args[:2] == ("grp-1", "started")
    page = html(staff("GET", GROUP_PAGE))  # a link to the confirming step, no one-click removal
    assert f'href="{GROUP_PAGE}/members/reg-3/remove"' in page and f'action="{GROUP_PAGE}/members/' not in page
    asked = html(staff("GET", f"{GROUP_PAGE}/members/reg-3/remove"))
    assert "Vil du ta personen med referanse reg-3 ut av gruppen?" in asked
    assert f'action="{GROUP_PAGE}/members/reg-3/remove"' in asked and f'href="{GROUP_PAGE}"' in asked
    assert not service.matching.leave_group.called  # asking does nothing
    removed = post(staff, f"{GROUP_PAGE}/members/reg-3/remove")
    assert removed.headers["Location"] == f"{GROUP_PAGE}?done=removed&ref=reg-3"
    told = html(staff("GET", GROUP_PAGE, query={"done": "removed", "ref": "reg-3"}))
    assert "Personen med referanse reg-3 er tatt ut av gruppen." in told
    group_id, registration_id, actor = service.matching.leave_group.call_args.args
    assert (group_id, registration_id, actor["role"]) == ("grp-1", "reg-3", "contact_point_staff")
    assert post(staff, f"{GROUP_PAGE}/close", reason="completed").headers["Location"].endswith("groups?done=close")
    assert service.matching.close_group.call_args.args[:2] == ("grp-1", "completed")
    assert post(staff, f"{GROUP_PAGE}/close", reason="bored").status_code == 400
    assert service.matching.close_group.call_count == 1


def test_the_handover_names_up_to_two_members_and_the_schedule(world):
    service, store, staff = world
    service.matching.group_view.return_value = {**GROUP_VIEW, "state": "started", "checkins": []}
    response = post(staff, f"{GROUP_PAGE}/handover", **HANDOVER)
    assert response.headers["Location"] == f"{GROUP_PAGE}?done=handover"
    group_id, handover, actor = service.matching.record_handover.call_args.args
    assert (group_id, actor["role"]) == ("grp-1", "contact_point_staff")
    assert handover == {
        "checkin_registration_ids": ["reg-2", "reg-4"],
        "schedule": {"weekday": "thu", "start_time": "18:30", "every": "other_week", "meeting_place_id": "group-room"},
    }
    three = post(
        staff, f"{GROUP_PAGE}/handover", **{**HANDOVER, "checkin_registration_ids": ["reg-1", "reg-2", "reg-3"]}
    )
    stranger = post(staff, f"{GROUP_PAGE}/handover", **{**HANDOVER, "checkin_registration_ids": ["reg-9"]})
    no_time = post(staff, f"{GROUP_PAGE}/handover", **{**HANDOVER, "start_time": "25:00"})
    assert three.status_code == stranger.status_code == no_time.status_code == 400
    assert "Velg høyst to av gruppens medlemmer." in html(three) and 'id="start_time-error"' in html(no_time)
    assert service.matching.record_handover.call_count == 1


def test_a_handover_matching_refuses_comes_back_on_the_page(world):
    service, store, staff = world
    service.matching.record_handover.side_effect = RemoteError(
        "InvalidInput", json.dumps({"schedule": {"meeting_place_id": ["unknown_meeting_place"]}})
    )
    response = post(staff, f"{GROUP_PAGE}/handover", **HANDOVER)
    assert response.status_code == 400 and "Møtestedet finnes ikke hos dette kontaktpunktet" in html(response)


def test_a_check_in_sent_now_or_why_it_cannot_be(world):
    service, store, staff = world
    assert post(staff, f"{GROUP_PAGE}/check-ins").headers["Location"] == f"{GROUP_PAGE}?done=checkin_sent"
    service.matching.send_checkin.side_effect = RemoteError("Conflict", "no_checkin_members")
    response = post(staff, f"{GROUP_PAGE}/check-ins")
    assert response.status_code == 409 and "Gruppen har ingen som svarer på innsjekker." in html(response)


def test_reading_a_check_in_comment_is_audited_as_such(world):
    service, store, staff = world
    response = staff("GET", f"{GROUP_PAGE}/check-ins/chk-1/comment")
    assert response.status_code == 200 and "Vi trives, men savner et større rom." in html(response)
    assert response.headers["Cache-Control"] == "no-store"
    checkin_id, actor = service.matching.checkin_comment.call_args.args
    assert checkin_id == "chk-1" and actor["purpose"] == "read check-in comment"
    [entry] = store.entries
    assert (entry["subject_kind"], entry["subject_id"], entry["purpose"]) == (
        "checkin",
        "chk-1",
        "read check-in comment",
    )


def test_staff_of_another_contact_point_get_neither_page_nor_comment(world):
    service, store, staff = world
    for path in ("/staff/link-oslo/groups/grp-9", "/staff/link-oslo/groups/grp-9/check-ins/chk-9/comment"):
        assert staff("GET", path).status_code == 403
    assert not service.matching.group_view.called and not service.matching.checkin_comment.called
    assert [e["outcome"] for e in store.entries] == ["refused", "refused"]


# --- the API ----------------------------------------------------------------------------------------


def test_the_handover_api_validates_the_schedule_and_passes_it_on(world):
    service, store, staff = world
    schedule = {"weekday": "thu", "start_time": "18:00", "every": "week", "meeting_place_id": "group-room"}
    response = staff("POST", f"{API}/handover", json_body={"checkin_registration_ids": ["reg-1"], "schedule": schedule})
    assert response.status_code == 200 and body(response) == {"group_id": "grp-1", "state": "self_run"}
    assert service.matching.record_handover.call_args.args[:2] == (
        "grp-1",
        {"checkin_registration_ids": ["reg-1"], "schedule": schedule},
    )
    bad = staff(
        "POST",
        f"{API}/handover",
        json_body={"checkin_registration_ids": ["a", "b", "c"], "schedule": {**schedule, "weekday": "someday"}},
    )
    assert bad.status_code == 400 and set(body(bad)["error"]["fields"]) == {"checkin_registration_ids", "schedule"}


def test_a_check_in_through_the_api_is_202_or_409(world):
    service, store, staff = world
    response = staff("POST", f"{API}/check-ins")
    assert response.status_code == 202 and body(response) == {"checkin_id": "chk-2", "due_at": "2026-11-28T09:00:00Z"}
    service.matching.send_checkin.side_effect = RemoteError("Conflict", "not_self_run")
    response = staff("POST", f"{API}/check-ins")
    assert response.status_code == 409 and body(response)["error"]["code"] == "conflict"


def test_the_group_api_is_audited_and_the_openapi_document_has_the_new_routes(world):
    service, store, staff = world
    assert body(staff("GET", API))["checkins"][0]["answer"]["has_comment"] is True
    assert store.entries[-1]["subject_id"] == "grp-1"
    paths = body(staff("GET", "/openapi.json"))["paths"]
    assert "202" in paths["/api/contact-points/{contact_point_id}/groups/{group_id}/check-ins"]["post"]["responses"]
    handover = paths["/api/contact-points/{contact_point_id}/groups/{group_id}/handover"]["post"]
    assert handover["x-roles"] == ["national_admin", "contact_point_staff"]


# --- the confirmation's new fields ---------------------------------------------------------------------


def test_a_confirmation_may_plan_the_handover_and_give_a_reason_to_override_a_rule(world):
    service, store, staff = world
    form = {"meeting_place_id": "group-room", "first_meeting_at": "2026-12-01T18:00", "starter_id": "st-1"}
    post(staff, "/staff/link-bergen/groups/grp-1/confirm", **form, handover_planned_on="2027-02-15")
    assert service.matching.confirm_group.call_args.args[1]["handover_planned_on"] == "2027-02-15"
    bad_date = post(staff, "/staff/link-bergen/groups/grp-1/confirm", **form, handover_planned_on="15.02.2027")
    assert bad_date.status_code == 400 and 'id="handover_planned_on-grp-1-error"' in html(bad_date)

    service.matching.confirm_group.side_effect = RemoteError(
        "InvalidInput", json.dumps({"meeting_place_id": ["place_kind_mismatch"]})
    )
    too_long = post(staff, "/staff/link-bergen/groups/grp-1/confirm", **form, override_reason="x" * 301)
    assert too_long.status_code == 400 and "høyst 300 tegn" in html(too_long)
    refused = post(staff, "/staff/link-bergen/groups/grp-1/confirm", **form)
    assert refused.status_code == 400 and "En digital gruppe møtes på et digitalt møtested" in html(refused)
    assert 'name="override_reason"' in html(refused)  # offered once matching has refused
    service.matching.confirm_group.side_effect = None
    post(staff, "/staff/link-bergen/groups/grp-1/confirm", **form, override_reason="Rommet har skjerm.")
    assert service.matching.confirm_group.call_args.args[1]["override_reason"] == "Rommet har skjerm."

    api = staff(
        "POST",
        "/api/contact-points/link-bergen/groups/grp-1/confirm",
        json_body={
            "meeting_place_id": "group-room",
            "first_meeting_at": "2026-12-01T18:00:00+01:00",
            "starter_id": "st-1",
            "handover_planned_on": "2027-02-15",
        },
    )
    assert (
        api.status_code == 200
        and service.matching.confirm_group.call_args.args[1]["handover_planned_on"] == "2027-02-15"
    )


# --- acquaintances ---------------------------------------------------------------------------------------


def test_staff_record_two_people_who_know_each_other_from_the_pool_and_the_groups(world):
    service, store, staff = world
    page = html(staff("GET", "/staff/link-bergen/acquaintances"))
    assert '<option value="reg-1">reg-1</option>' in page and "reg-5 (Gruppe grp-1)" in page
    assert store.entries[-1]["purpose"] == "record acquaintances"
    done = post(staff, "/staff/link-bergen/acquaintances", registration_id_a="reg-1", registration_id_b="reg-5")
    assert done.headers["Location"] == "/staff/link-bergen/acquaintances?done=acquaintances"
    assert service.matching.record_acquaintances.call_args.args[:2] == ("reg-1", "reg-5")
    same = post(staff, "/staff/link-bergen/acquaintances", registration_id_a="reg-1", registration_id_b="reg-1")
    assert same.status_code == 400 and "Velg to forskjellige personer." in html(same)
    assert service.matching.record_acquaintances.call_count == 1
