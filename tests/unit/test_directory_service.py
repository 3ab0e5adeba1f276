"""directory's entrypoints through worker_factory with an in-memory fake of its own store."""

import copy
import json
from datetime import UTC, datetime

import pytest
from nameko.testing.services import worker_factory

from services.common.clock import FixedClock
from services.common.envelope import parse
from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.directory.domain import OPEN_FIELDS
from services.directory.example import example_payloads
from services.directory.reference import UnknownMunicipality
from services.directory.service import DirectoryService
from tests.fakes.directory import FakeDirectoryStorage

#: The seed script's actor, as @rpc hands it on once verified (worker_factory calls the method itself).
OPS = {"role": "ops", "issuer": "ops"}


def example(contact_point_id):
    return copy.deepcopy(next(p for p in example_payloads() if p["contact_point_id"] == contact_point_id))


T0 = datetime(2026, 11, 28, 9, tzinfo=UTC)


@pytest.fixture
def directory():
    return worker_factory(DirectoryService, store=FakeDirectoryStorage(), clock=FixedClock(T0))


def errors_of(call, *args):
    with pytest.raises(InvalidInput) as caught:
        call(*args)
    return json.loads(str(caught.value))


def test_the_same_payload_twice_gives_one_revision_and_one_event(directory):
    first = directory.upsert_contact_point(example("link-bergen"), OPS)
    again = directory.upsert_contact_point(example("link-bergen"), OPS)
    assert first["revision"] == again["revision"] == 1
    assert directory.store.emitted_types() == ["contact_point_upserted"]
    assert directory.store.events[0]["data"]["revision"] == 1


def test_a_change_gives_the_next_revision_and_an_event_without_contact_details(directory):
    directory.upsert_contact_point(example("link-bergen"), OPS)
    changed = directory.upsert_contact_point({**example("link-bergen"), "digital_groups": False}, OPS)
    assert changed["revision"] == 2
    event = directory.store.events[-1]
    assert (event["event_type"], event["data"]["revision"], event["data"]["digital_groups"]) == (
        "contact_point_upserted",
        2,
        False,
    )
    parse(json.dumps(event), "directory", "contact_point_upserted")  # the receiver's check passes
    text = json.dumps(event)
    for private in ("@example.org", "+4700000103", "Eksempelgata", "Kristin"):
        assert private not in text
    assert event["data"]["meeting_places"] == [
        {
            "meeting_place_id": "group-room",
            "kind": "physical",
            "capacity": 10,
            "accessibility": ["step_free", "quiet_room"],
        }
    ]


def test_deactivation_emits_a_new_revision_once(directory):
    directory.upsert_contact_point(example("stangehjelpa"), OPS)
    gone = directory.deactivate_contact_point("stangehjelpa", OPS)
    directory.deactivate_contact_point("stangehjelpa", OPS)
    assert gone["active"] is False and gone["revision"] == 2
    assert directory.store.emitted_types() == ["contact_point_upserted", "contact_point_deactivated"]
    assert directory.store.events[-1]["data"] == {"contact_point_id": "stangehjelpa", "revision": 2}
    assert [c["contact_point_id"] for c in directory.route("3413")] == ["national-office"]


def test_reactivating_by_upsert_is_a_new_revision(directory):
    directory.upsert_contact_point(example("stangehjelpa"), OPS)
    directory.deactivate_contact_point("stangehjelpa", OPS)
    back = directory.upsert_contact_point(example("stangehjelpa"), OPS)
    assert (back["active"], back["revision"]) == (True, 3)


def test_get_contact_point_gives_what_notification_and_matching_use(directory):
    directory.upsert_contact_point(example("fredrikstad-rph"), OPS)
    cp = directory.get_contact_point("fredrikstad-rph")
    assert cp["email"] == "fredrikstad-rph@example.org" and cp["phone"] == "+4700000106"
    assert cp["address"] == {"street": "Eksempelgata 7", "postal_code": "1606", "city": "Fredrikstad"}
    assert cp["county_number"] == "31" and cp["example"] is True
    assert cp["opening_hours"][0] == {"weekday": "mon", "opens": "09:00", "closes": "15:00"}
    assert cp["accessibility"] == ["step_free"] and (cp["min_size"], cp["max_size"]) == (5, 8)
    library, volunteers = cp["meeting_places"]
    assert library["meeting_place_id"] == "fredrikstad-library" and library["capacity"] == 10
    assert library["accessibility"] == ["step_free", "hearing_loop"]
    assert library["contact_point_id"] == "fredrikstad-rph" and library["address"]["city"] == "Fredrikstad"
    assert volunteers["name"] == "Fredrikstad frivilligsentral"
    assert cp["staff"] == [
        {
            "staff_id": "fredrikstad-rph-coordinator-1",
            "first_name": "Anders",
            "role": "coordinator",
            "email": "fredrikstad-rph@example.org",
        }
    ]
    assert 59 < cp["coordinates"]["lat"] < 59.4 and 10.8 < cp["coordinates"]["lon"] < 11.1


def test_the_skeletons_minimal_payload_still_works(directory):
    cp = directory.upsert_contact_point(
        {
            "contact_point_id": "link-bergen",
            "kind": "link_centre",
            "name": "LINK Bergen og omegn",
            "municipality_number": "4601",
            "municipalities": ["4601"],
        },
        OPS,
    )
    assert cp["organisation"] == "LINK Bergen og omegn" and cp["email"] is None and cp["address"] is None
    assert cp["meeting_places"] == [] and cp["staff"] == [] and cp["languages"] == ["nb"]
    assert directory.get_contact_point("link-bergen")["coordinates"]["lat"] == pytest.approx(60.36, abs=0.2)


def test_unknown_contact_point_is_not_found(directory):
    with pytest.raises(NotFound):
        directory.get_contact_point("nowhere")
    with pytest.raises(NotFound):
        directory.deactivate_contact_point("nowhere", OPS)
    with pytest.raises(NotFound):
        directory.update_contact_point("nowhere", {"name": "X"}, OPS)


def test_every_bad_field_is_named(directory):
    payload = {
        **example("link-oslo"),
        "kind": "club",
        "municipalities": ["0301", "9999", "03"],
        "email": "not-an-address",
        "phone": "22 22 22 22",
        "min_size": 3,
        "address": {"street": "Eksempelgata 1", "postal_code": "0000"},
        "opening_hours": [{"weekday": "mon", "opens": "15:00", "closes": "09:00"}],
        "accessibility": ["lift"],
        "colour": "green",
    }
    payload["meeting_places"][0]["capacity"] = 0
    payload["staff"][0]["first_name"] = "Sigrid Nordmann"
    errors = errors_of(directory.upsert_contact_point, payload, OPS)
    assert errors["kind"] == ["not_one_of"]  # stable codes, which the gateway words (never a value)
    assert errors["municipalities"] == {"1": ["unknown_municipality"], "2": ["not_four_digits"]}
    assert errors["email"] == ["invalid"]
    assert errors["phone"] == ["not_norwegian_phone"]
    assert "min_size" in errors and errors["colour"] == ["unknown_field"]
    assert errors["address"] == {"postal_code": ["unknown_postal_code"]}
    assert errors["opening_hours"] == {"0": {"closes": ["closes_before_opens"]}}
    assert errors["accessibility"] == {"0": ["not_one_of"]}
    assert errors["meeting_places"] == {"0": {"capacity": ["range"]}}
    assert errors["staff"] == {"0": {"first_name": ["first_name_only"]}}
    assert directory.store.docs == {} and directory.store.events == []


def test_missing_fields_and_sizes_out_of_order_are_named(directory):
    errors = errors_of(directory.upsert_contact_point, {"contact_point_id": "X!", "min_size": 8, "max_size": 6}, OPS)
    assert errors["contact_point_id"] == ["invalid_id"]
    for field in ("kind", "name", "municipality_number", "municipalities"):
        assert errors[field] == ["required"]
    errors = errors_of(directory.upsert_contact_point, {**example("stangehjelpa"), "min_size": 8, "max_size": 6}, OPS)
    assert errors == {"max_size": ["max_below_min"]}
    assert errors_of(directory.upsert_contact_point, "link-oslo", OPS) == {"_schema": ["invalid"]}


def test_create_refuses_an_existing_id_and_update_lays_changes_over(directory):
    directory.create_contact_point(example("horten-selvhjelp"), OPS)
    with pytest.raises(Conflict):
        directory.create_contact_point(example("horten-selvhjelp"), OPS)
    updated = directory.update_contact_point("horten-selvhjelp", {"municipalities": ["3901", "3903"]}, OPS)
    assert updated["municipalities"] == ["3901", "3903"] and updated["revision"] == 2
    assert updated["meeting_places"][0]["name"] == "Horten bibliotek, grupperommet"
    assert (
        directory.update_contact_point("horten-selvhjelp", {"municipalities": ["3901", "3903"]}, OPS)["revision"] == 2
    )
    assert errors_of(directory.update_contact_point, "horten-selvhjelp", {"contact_point_id": "other"}, OPS) == {
        "contact_point_id": ["cannot_change"]
    }
    assert errors_of(directory.update_contact_point, "horten-selvhjelp", {"max_size": 99}, OPS) == {
        "max_size": ["range"]
    }


def test_an_actor_may_change_only_what_its_role_allows(directory):
    staff = {"account_id": "acc-1", "role": "contact_point_staff", "contact_point_ids": ["horten-selvhjelp"]}
    admin = {"account_id": "acc-2", "role": "national_admin"}
    with pytest.raises(Forbidden):
        directory.create_contact_point(example("horten-selvhjelp"), staff)
    directory.create_contact_point(example("horten-selvhjelp"), admin)
    directory.update_contact_point("horten-selvhjelp", {"digital_groups": True}, admin)
    with pytest.raises(Forbidden):
        directory.upsert_contact_point(example("link-oslo"), staff)
    for outsider in ({"role": "integration"}, {"role": "service", "service": "matching"}, None):
        with pytest.raises(Forbidden):
            directory.deactivate_contact_point("horten-selvhjelp", outsider)
        with pytest.raises(Forbidden):
            directory.upsert_contact_point(example("horten-selvhjelp"), outsider)
    with pytest.raises(Forbidden):
        directory.deactivate_contact_point("horten-selvhjelp", staff)  # `active` is the national office's


def test_a_sender_name_that_names_a_theme_is_refused_as_the_message_test_would_refuse_it(directory):
    staff = {"account_id": "acc-1", "role": "contact_point_staff", "contact_point_ids": ["horten-selvhjelp"]}
    directory.create_contact_point(example("horten-selvhjelp"), OPS)
    for themed in ("Kreftforeningen Vest", "Nok. Horten, senter mot seksuelle overgrep", "Sorggruppene i Horten"):
        errors = errors_of(directory.update_contact_point, "horten-selvhjelp", {"sender_name": themed}, staff)
        assert errors == {"sender_name": ["themed_sender_name"]}, themed
    assert errors_of(directory.upsert_contact_point, {**example("link-bergen"), "sender_name": "Kreft Vest"}, OPS) == {
        "sender_name": ["themed_sender_name"]
    }
    changed = directory.update_contact_point("horten-selvhjelp", {"sender_name": "Selvhjelp Horten"}, staff)
    assert changed["sender_name"] == "Selvhjelp Horten"


def test_staff_change_only_the_fields_that_are_theirs_and_get_an_error_for_each_other(directory):
    staff = {"account_id": "acc-1", "role": "contact_point_staff", "contact_point_ids": ["horten-selvhjelp"]}
    directory.create_contact_point(example("horten-selvhjelp"), OPS)
    mine = {"name": "Horten selvhjelp", "phone": "+4733000000", "languages": ["nb", "en"], "staff": []}
    assert directory.update_contact_point("horten-selvhjelp", mine, staff)["phone"] == "+4733000000"
    widened = {
        "municipalities": ["3901", "0301"],
        "kind": "link_centre",
        "municipality_number": "0301",
        "active": False,
        "digital_groups": True,
        "min_size": 4,
        "name": "Still allowed",
    }
    errors = errors_of(directory.update_contact_point, "horten-selvhjelp", widened, staff)
    assert errors == {field: ["national_only"] for field in widened if field != "name"}
    current = directory.get_contact_point("horten-selvhjelp")
    assert current["municipalities"] == ["3901"] and current["name"] == "Horten selvhjelp"  # nothing changed
    same_routing = {**example("horten-selvhjelp"), "phone": "+4733111111"}  # a whole payload, routing as it is
    assert directory.upsert_contact_point(same_routing, staff)["phone"] == "+4733111111"
    errors = errors_of(directory.upsert_contact_point, {**same_routing, "max_size": 6, "coordinates": None}, staff)
    assert errors == {"max_size": ["national_only"]}


def test_list_by_municipality_county_and_kind(directory):
    for payload in example_payloads():
        directory.upsert_contact_point(payload, OPS)

    def ids(**query):
        return [cp["contact_point_id"] for cp in directory.list_contact_points(**query)]

    assert ids(municipality_number="4627") == ["link-bergen"]  # Askøy, served from Bergen
    assert ids(county_number="46") == ["link-bergen"]
    assert ids(county_number="03") == ["link-oslo", "national-office"]
    assert ids(kind="district_office") == [
        "distriktskontor-nord",
        "distriktskontor-nordland",
        "distriktskontor-sor",
        "distriktskontor-vest",
    ]
    assert ids(county_number="56") == []
    assert len(ids()) == len(example_payloads())
    assert errors_of(directory.list_contact_points, "9999", "99", "club") == {
        "municipality_number": ["unknown_municipality"],
        "kind": ["not_one_of"],
    }
    assert errors_of(directory.list_contact_points, None, "99") == {"county_number": ["unknown_county"]}


def test_route_checks_its_arguments(directory):
    with pytest.raises(UnknownMunicipality):
        directory.route("9999")
    assert errors_of(directory.route, "0301", {"digital_ok": "yes"}) == {"digital_ok": ["invalid"]}


def test_coverage_map_and_export_come_from_the_stored_contact_points(directory):
    directory.upsert_contact_point(example("link-trondheim"), OPS)
    assert directory.coverage()["national"]["covered_municipalities"] == 1
    assert 'data-municipality="5001" class="covered"' in directory.coverage_map_svg()
    assert [s["alternate_name"] for s in directory.hsds_export()["tables"]["service"]] == ["LINK Trondheim"]
    assert directory.hsds_export_csv()["services.csv"].count("\n") == 2  # header and one row


# --- the open directory ------------------------------------------------------------------------------


def test_the_open_view_of_a_contact_point_is_its_allow_list_and_says_taking_part_is_free(directory):
    directory.upsert_contact_point(example("link-bergen"), OPS)
    shown = directory.open_contact_point("link-bergen")
    assert list(shown) == list(OPEN_FIELDS)
    assert shown["free_of_charge"] is True and shown["updated_at"] == "2026-11-28T09:00:00Z"
    assert shown["address"]["city"] and shown["phone"] and shown["email"] and shown["opening_hours"]
    assert all(set(place) == {"name", "address", "accessibility"} for place in shown["meeting_places"])
    text = json.dumps(shown, ensure_ascii=False)
    for hidden in ("Kristin", "staff", '"example"', "min_size", "capacity", "revision"):
        assert hidden not in text
    assert directory.get_contact_point("link-bergen")["staff"]  # the signed-in keep what they saw


def test_the_open_directory_lists_only_active_contact_points(directory):
    directory.upsert_contact_point(example("link-bergen"), OPS)
    directory.upsert_contact_point(example("stangehjelpa"), OPS)
    directory.deactivate_contact_point("stangehjelpa", OPS)
    assert [cp["contact_point_id"] for cp in directory.open_contact_points()] == ["link-bergen"]
    assert [cp["name"] for cp in directory.open_contact_points(county_number="46")] == ["LINK Bergen og omegn"]
    with pytest.raises(NotFound):
        directory.open_contact_point("stangehjelpa")


def test_every_change_is_stamped_with_when_it_was_made(directory):
    clock = directory.clock
    directory.upsert_contact_point(example("link-bergen"), OPS)
    clock.advance(days=2)
    directory.upsert_contact_point(example("link-bergen"), OPS)  # no change: no new stamp
    assert directory.get_contact_point("link-bergen")["updated_at"] == "2026-11-28T09:00:00Z"
    directory.update_contact_point("link-bergen", {"digital_groups": False}, OPS)
    assert directory.open_contact_point("link-bergen")["updated_at"] == "2026-11-30T09:00:00Z"


def test_a_parent_must_be_a_known_contact_point_other_than_itself(directory):
    office = example("distriktskontor-vest")
    assert errors_of(directory.upsert_contact_point, office, OPS) == {
        "parent_contact_point_id": ["unknown_contact_point"]
    }
    directory.upsert_contact_point(example("national-office"), OPS)
    assert directory.upsert_contact_point(office, OPS)["parent_contact_point_id"] == "national-office"
    own = {**office, "parent_contact_point_id": "distriktskontor-vest"}
    assert errors_of(directory.upsert_contact_point, own, OPS) == {"parent_contact_point_id": ["own_parent"]}
