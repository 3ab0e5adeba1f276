"""A contact point's meeting places, physical and digital, from the staff's pages; and course
cohorts: a course leader's page, and a participant's own registration with the cohort's code.
The directory and registration are mocks answering the shapes of the agreed interface (issue 13)."""

import copy
import json

import pytest
from nameko.exceptions import RemoteError

from services.gateway.context import ANON_CSRF_COOKIE
from tests.fakes.gateway import BERGEN, Caller, gateway, request
from tests.unit.test_gateway_web import FORM

PLACES = "/staff/link-bergen/directory/meeting-places"
VIDEO_ROOM = {
    "meeting_place_id": "videorommet",
    "name": "Videorommet",
    "kind": "digital",
    "capacity": 8,
    "has_video_url": True,
}
ROOM = {
    "meeting_place_id": "group-room",
    "name": "Grupperommet",
    "kind": "physical",
    "capacity": 10,
    "address": {"street": "Kong Oscars gate 15", "postal_code": "5017", "city": "Bergen"},
    "accessibility": ["step_free"],
}


def html(response):
    return response.get_data(as_text=True)


@pytest.fixture
def world():
    service, store = gateway()
    service.directory.get_contact_point.return_value = {**copy.deepcopy(BERGEN), "meeting_places": [ROOM, VIDEO_ROOM]}
    return service, store, Caller(service, store, "contact_point_staff", contact_point_ids=["link-bergen"])


def sent_places(service):
    contact_point_id, change, actor = service.directory.update_contact_point.call_args.args
    assert contact_point_id == "link-bergen" and set(change) == {"meeting_places"}
    return change["meeting_places"]


def test_the_meeting_places_page_shows_each_place_and_never_a_video_link(world):
    service, store, staff = world
    page = html(staff("GET", PLACES))
    assert "Grupperommet (fysisk)" in page and "Videorommet (digitalt)" in page
    assert 'value="Kong Oscars gate 15"' in page and "La feltet stå tomt for å beholde den" in page
    assert "https://" not in page.replace('action="https', "")


def test_a_new_physical_place_gets_an_id_from_its_name_and_the_list_goes_whole(world):
    service, store, staff = world
    form = {
        "name": "Store sal på Nygård",
        "kind": "physical",
        "capacity": "20",
        "street": "Nygårdsgaten 5",
        "postal_code": "5015",
        "accessibility": ["step_free", "hearing_loop"],
    }
    response = staff("POST", PLACES, form=form)
    assert response.headers["Location"] == f"{PLACES}?saved=1"
    places = sent_places(service)
    assert [p["meeting_place_id"] for p in places] == ["group-room", "videorommet", "store-sal-pa-nygard"]
    assert places[1] == {"meeting_place_id": "videorommet", "name": "Videorommet", "kind": "digital", "capacity": 8}
    assert places[2] == {
        "meeting_place_id": "store-sal-pa-nygard",
        "name": "Store sal på Nygård",
        "kind": "physical",
        "capacity": 20,
        "address": {"street": "Nygårdsgaten 5", "postal_code": "5015"},
        "accessibility": ["step_free", "hearing_loop"],
    }


def test_a_digital_place_needs_an_https_link_when_new_and_keeps_its_own_when_changed_without_one(world):
    service, store, staff = world
    new = staff("POST", PLACES, form={"name": "Nettgruppa", "kind": "digital", "capacity": "8"})
    assert new.status_code == 400 and 'id="video_url-new-error"' in html(new)
    plain = staff(
        "POST", PLACES, form={"name": "Nettgruppa", "kind": "digital", "capacity": "8", "video_url": "http://x.example"}
    )
    assert plain.status_code == 400 and not service.directory.update_contact_point.called
    staff(
        "POST",
        PLACES,
        form={"name": "Nettgruppa", "kind": "digital", "capacity": "8", "video_url": "https://video.example.no/n"},
    )
    assert sent_places(service)[-1]["video_url"] == "https://video.example.no/n"
    staff(
        "POST",
        PLACES,
        form={"meeting_place_id": "videorommet", "name": "Videorommet 2", "kind": "digital", "capacity": "6"},
    )
    kept = sent_places(service)[1]
    assert kept == {"meeting_place_id": "videorommet", "name": "Videorommet 2", "kind": "digital", "capacity": 6}


def test_a_place_is_removed_and_the_directorys_errors_come_back_on_the_page(world):
    service, store, staff = world
    assert staff("POST", f"{PLACES}/videorommet/remove").headers["Location"] == f"{PLACES}?saved=removed"
    assert [p["meeting_place_id"] for p in sent_places(service)] == ["group-room"]
    service.directory.update_contact_point.side_effect = RemoteError(
        "InvalidInput",
        json.dumps({"meeting_places": {"0": {"address": ["address_missing"]}}}),
    )
    response = staff(
        "POST",
        PLACES,
        form={
            "meeting_place_id": "group-room",
            "name": "Grupperommet",
            "kind": "physical",
            "capacity": "10",
            "street": "Kong Oscars gate 15",
            "postal_code": "5017",
        },
    )
    assert response.status_code == 400 and "Skriv adressen til møtestedet." in html(response)


def test_another_contact_points_places_are_not_yours_to_change(world):
    service, store, staff = world
    assert staff("POST", "/staff/link-oslo/directory/meeting-places", form={"name": "x"}).status_code == 403
    assert not service.directory.update_contact_point.called


# --- course cohorts --------------------------------------------------------------------------------------


def test_a_course_leader_sees_counts_only_and_creates_a_cohort(world):
    service, store, _ = world
    leader = Caller(service, store, "referrer", referrer_id="ref-1")
    page = html(leader("GET", "/referrer/cohorts"))
    assert "7KQ2M9XH3D" in page and "3 av 8" in page and "/register?cohort=7KQ2M9XH3D" in page
    assert service.registration.cohorts.call_args.args[0]["referrer_id"] == "ref-1"
    form = {
        "contact_point_id": "link-bergen",
        "expected_size": "10",
        "weekday": "wed",
        "part_of_day": "evening",
        "start_time": "19:00",
        "keep_together": "yes",
    }
    assert leader("POST", "/referrer/cohorts", form=form).headers["Location"] == "/referrer/cohorts?done=created"
    payload, actor = service.registration.create_cohort.call_args.args
    assert payload == {
        "contact_point_id": "link-bergen",
        "expected_size": 10,
        "slot": {"weekday": "wed", "part_of_day": "evening", "start_time": "19:00"},
        "keep_together": True,
    }
    assert actor["role"] == "referrer"
    bad = leader("POST", "/referrer/cohorts", form={**form, "expected_size": "13", "start_time": "7pm"})
    assert bad.status_code == 400 and 'id="expected_size-error"' in html(bad) and 'id="start_time-error"' in html(bad)
    assert service.registration.create_cohort.call_count == 1


def test_a_participant_registers_with_the_cohorts_code_and_their_own_consent(world):
    service, store, _ = world
    page = request_form(service, "7kq2-m9xh-3d")  # as people type it
    assert page.status_code == 200 and 'name="cohort" value="7KQ2M9XH3D"' in html(page)
    assert service.registration.cohort_by_code.call_args.args == ("7KQ2M9XH3D",)
    response = post_form(service, {**FORM, "cohort": "7KQ2M9XH3D"})
    assert response.status_code == 201
    payload, actor = service.registration.register.call_args.args
    assert actor["role"] == "public"  # a cohort's participant registers through the public form
    assert (
        payload["cohort"] == {"cohort_id": "coh-1", "keep_together": True} and payload["consent"]["channel"] == "self"
    )


def test_an_unknown_expired_or_closed_code_is_said_plainly(world):
    service, store, _ = world
    assert "Vi finner ikke denne kurskoden" in html(request_form(service, "not a code"))
    assert not service.registration.cohort_by_code.called  # it could not be one
    service.registration.cohort_by_code.side_effect = RemoteError("NotFound", "cohort")
    unknown = request_form(service, "7KQ2M9XH3D")
    assert unknown.status_code == 404 and "Vi finner ikke denne kurskoden" in html(unknown)
    service.registration.cohort_by_code.side_effect = None
    service.registration.cohort_by_code.return_value = {
        "cohort_id": "coh-1",
        "contact_point_id": "link-bergen",
        "keep_together": True,
        "open": False,
    }
    closed = post_form(service, {**FORM, "cohort": "7KQ2M9XH3D"})
    assert closed.status_code == 400 and "Påmeldingen til dette kurset er stengt" in html(closed)
    assert not service.registration.register.called


def request_form(service, code):
    return request(service, "GET", "/register", query={"cohort": code})


def post_form(service, form):
    return request(
        service, "POST", "/register", form={**form, "csrf_token": "t"}, headers={"Cookie": f"{ANON_CSRF_COOKIE}=t"}
    )
