"""directory, issue 13: digital meeting places. A video link is stored, kept through edits that
leave it out, and shown only by meeting_link, to notification and to members of a group that meets
there (as matching confirms; its proxy is the one mock)."""

import json

import pytest
from nameko.testing.services import worker_factory

from services.common.actors import SELF
from services.common.errors import Forbidden, InvalidInput, NotFound
from services.directory.service import DirectoryService
from tests.fakes import participant
from tests.fakes.directory import FakeDirectoryStorage
from tests.unit.test_directory_service import OPS, example

VIDEO_URL = "https://meet.example.no/flokk-bergen-video"
NOTIFICATION = {"role": "service", "service": "notification"}
VIDEO_ROOM = {"meeting_place_id": "video", "kind": "digital", "name": "Videorommet", "capacity": 8}


@pytest.fixture
def directory():
    return worker_factory(DirectoryService, store=FakeDirectoryStorage())


def with_video_room(**room):
    payload = example("link-bergen")
    payload["meeting_places"].append({**VIDEO_ROOM, "video_url": VIDEO_URL, **room})
    return payload


def test_a_digital_place_has_a_video_link_and_no_address_and_a_room_the_reverse(directory):
    cases = [
        ({"video_url": "http://meet.example.no/x"}, "video_url"),
        ({"video_url": "https://" + "x" * 500 + ".no"}, "video_url"),
        ({"address": {"street": "Strømgaten 6", "postal_code": "5015"}}, "address"),
        ({"kind": "physical"}, "address"),
        ({"kind": "hybrid"}, "kind"),
    ]
    for room, field in cases:
        with pytest.raises(InvalidInput) as refused:
            directory.upsert_contact_point(with_video_room(**room), OPS)
        [errors] = json.loads(str(refused.value))["meeting_places"].values()  # the video room only
        assert list(errors) == [field], room


def test_the_video_link_is_in_no_view_export_or_event(directory):
    directory.upsert_contact_point(with_video_room(), OPS)
    shown = [
        directory.get_contact_point("link-bergen"),
        directory.list_contact_points(),
        directory.hsds_export(),
        directory.hsds_export_csv(),
        directory.store.events,
        directory.open_contact_point("link-bergen"),  # the open directory (issue 15)
        directory.open_contact_points(),
        directory.hsds_export(open_only=True),
        directory.hsds_export_csv(open_only=True),
    ]
    assert VIDEO_URL not in json.dumps(shown, default=str)
    room = next(p for p in shown[0]["meeting_places"] if p["meeting_place_id"] == "video")
    assert (room["kind"], room["has_video_url"], room["address"], room["coordinates"]) == ("digital", True, None, None)
    [event] = directory.store.events
    assert {"meeting_place_id": "video", "kind": "digital", "capacity": 8, "accessibility": []} in event["data"][
        "meeting_places"
    ]
    assert event["schema_version"] == 2
    open_room = next(p for p in shown[5]["meeting_places"] if p["name"] == "Videorommet")
    assert open_room == {"name": "Videorommet", "address": None, "accessibility": []}


def test_an_edit_that_leaves_the_link_out_keeps_it_and_a_new_one_replaces_it(directory):
    directory.upsert_contact_point(with_video_room(), OPS)
    places = directory.get_contact_point("link-bergen")["meeting_places"]
    edited = [
        {key: p[key] for key in ("meeting_place_id", "kind", "name", "capacity") if key in p}
        | (
            {"address": {"street": p["address"]["street"], "postal_code": p["address"]["postal_code"]}}
            if p["address"]
            else {}
        )
        for p in places
    ]
    edited[-1]["name"] = "Video, tirsdager"
    directory.update_contact_point("link-bergen", {"meeting_places": edited}, OPS)
    assert directory.meeting_link("video", NOTIFICATION)["video_url"] == VIDEO_URL
    edited[-1]["video_url"] = "https://meet.example.no/new"
    directory.update_contact_point("link-bergen", {"meeting_places": edited}, OPS)
    assert directory.meeting_link("video", NOTIFICATION, "link-bergen")["video_url"] == "https://meet.example.no/new"


def test_notification_gets_the_link_and_nobody_without_a_group_there(directory):
    directory.upsert_contact_point(with_video_room(), OPS)
    assert directory.meeting_link("video", NOTIFICATION, "link-bergen") == {
        "meeting_place_id": "video",
        "video_url": VIDEO_URL,
    }
    staff = {"role": "contact_point_staff", "contact_point_ids": ["link-bergen"]}
    for actor in (staff, {"role": "national_admin"}, {"role": "service", "service": "gateway"}, None):
        with pytest.raises(Forbidden):
            directory.meeting_link("video", actor)
    physical = directory.get_contact_point("link-bergen")["meeting_places"][0]["meeting_place_id"]
    with pytest.raises(NotFound):
        directory.meeting_link(physical, NOTIFICATION, "link-bergen")


def member_of(place_id, state="in_group", contact_point_id="link-bergen"):
    group = {"group_id": "g1", "contact_point_id": contact_point_id, "meeting_place_id": place_id}
    return {"registration_id": "r1", "state": state, "group": group if state == "in_group" else None}


def test_a_member_of_a_group_meeting_there_gets_the_link_as_matching_confirms(directory):
    directory.upsert_contact_point(with_video_room(), OPS)
    directory.matching.person_status.return_value = member_of("video")
    assert directory.meeting_link("video", participant("r1"))["video_url"] == VIDEO_URL
    directory.matching.person_status.assert_called_with("r1", SELF)  # as itself: the actor was for meeting_link
    for status in (member_of("other-room"), member_of("video", state="waiting")):
        directory.matching.person_status.return_value = status
        with pytest.raises(Forbidden):
            directory.meeting_link("video", participant("r1"))
