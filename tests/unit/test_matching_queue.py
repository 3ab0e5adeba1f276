"""The national office's queue in matching: who only it can take, found by the reference in its
e-mail, assigned to a contact point (registration_assigned, then registration_waitlisted), and the
contacts registration reports."""

import pytest

from services.common.errors import Forbidden, InvalidInput, NotFound
from services.matching import domain, figures
from tests.fakes import an_event
from tests.unit.test_matching_service import BERGEN, NATIONAL, STAFF, arrive, emitted, service_with

ADMIN = {"account_id": "acc-9", "role": "national_admin", "contact_point_ids": []}


def known(store, contact_point_id="link-bergen", **changes):
    data = {
        "contact_point_id": contact_point_id,
        "revision": 1,
        "kind": "link_centre",
        "county_number": "46",
        "municipalities": ["4601"],
        "digital_groups": False,
        "active": True,
        "min_size": 5,
        "max_size": 8,
        **changes,
    }
    store.transaction(lambda uow: store.save_contact_point(uow, data))


def queued(**changes):
    service, store = service_with([NATIONAL])
    arrive(service, "3f2a9c10-aaaa", **changes)
    arrive(service, "7b1e0d22-bbbb", municipality_number=None, area="svalbard")
    known(store)
    known(store, "cp-askoy", municipalities=["4627"])
    return service, store


def test_the_queue_lists_who_waits_for_the_national_office_and_why_longest_first():
    service, store = queued(not_in_own_municipality=True)
    [first, second] = service.national_queue(None, ADMIN)
    assert first["reference"] == "3f2a9c10" and first["reason_code"] == "avoids_own_municipality"
    assert first["reason"] == NATIONAL["reason"] and first["county_number"] == "46" and first["waited_days"] == 27
    assert second["reason_code"] == "outside_municipalities" and second["area"] == "svalbard"
    assert "themes" not in first and "name" not in first


def test_the_national_office_finds_a_person_by_the_reference_in_its_e_mail():
    service, store = queued()
    assert [p["registration_id"] for p in service.national_queue("7B1E0D22", ADMIN)] == ["7b1e0d22-bbbb"]
    assert service.national_queue("00000000", ADMIN) == []
    with pytest.raises(InvalidInput) as refused:
        service.national_queue("<script>", ADMIN)
    assert list(refused.value.errors) == ["reference"]
    with pytest.raises(Forbidden):
        service.national_queue(None, STAFF)


def test_an_assigned_person_waits_in_the_contact_points_pool_and_hears_why():
    service, store = queued()
    store.take_outbox()
    answer = service.assign_from_queue("3f2a9c10-aaaa", "link-bergen", ADMIN)
    assert answer == {"registration_id": "3f2a9c10-aaaa", "contact_point_id": "link-bergen", "status": "waiting"}
    assert store.emitted_types() == ["registration_assigned", "registration_waitlisted"]
    assert emitted(store, "registration_waitlisted")[0]["reason"] == "tildelt av nasjonalt kontor"
    [waiting] = service.pool("link-bergen", STAFF)
    assert waiting["registration_id"] == "3f2a9c10-aaaa" and waiting["waiting_since"] == "2026-11-01T09:00:00Z"
    assert [p["registration_id"] for p in service.national_queue(None, ADMIN)] == ["7b1e0d22-bbbb"]
    record = store.figure_person(figures.record_key("3f2a9c10-aaaa"))
    assert record["contact_point_id"] == "link-bergen"
    with pytest.raises(NotFound):
        service.assign_from_queue("3f2a9c10-aaaa", "link-bergen", ADMIN)  # no longer queued


def test_an_assignment_where_the_person_asked_not_to_be_placed_is_a_field_error():
    service, store = queued(not_in_own_municipality=True)
    with pytest.raises(InvalidInput) as refused:
        service.assign_from_queue("3f2a9c10-aaaa", "link-bergen", ADMIN)
    assert refused.value.errors["contact_point_id"] == ["home_municipality"]
    service.assign_from_queue("3f2a9c10-aaaa", "cp-askoy", ADMIN)  # a neighbour is fine
    assert store.entry("3f2a9c10-aaaa")["contact_point_id"] == "cp-askoy"


@pytest.mark.parametrize(
    "contact_point_id, changes",
    [("cp-nowhere", None), ("cp-closed", {"active": False}), ("national-office", {"kind": "national_office"})],
)
def test_only_an_open_contact_point_can_take_an_assigned_person(contact_point_id, changes):
    service, store = queued()
    if changes is not None:
        known(store, contact_point_id, **changes)
    with pytest.raises(InvalidInput) as refused:
        service.assign_from_queue("3f2a9c10-aaaa", contact_point_id, ADMIN)
    assert list(refused.value.errors) == ["contact_point_id"]
    with pytest.raises(Forbidden):
        service.assign_from_queue("3f2a9c10-aaaa", "link-bergen", STAFF)


def test_the_queue_shows_the_last_contact_registration_reports():
    service, store = queued()
    contacted = {"registration_id": "3f2a9c10-aaaa", "purpose": "offer_digital_group"}
    event = an_event("registration", "registration_contacted", contacted)
    service.handle_registration_contacted(event)
    service.handle_registration_contacted(event)  # redelivered: applied once
    [first, _] = service.national_queue(None, ADMIN)
    assert first["last_contact"]["purpose"] == "offer_digital_group"


def test_a_queued_person_whom_a_contact_point_can_now_take_leaves_the_queue():
    service, store = queued()
    service.directory.route.return_value = [BERGEN, NATIONAL]
    profile_update = {**store.unroutable_entry("3f2a9c10-aaaa")["profile"], "digital_ok": True}
    service.handle_registration_updated(an_event("registration", "registration_updated", profile_update))
    assert [p["reference"] for p in service.national_queue(None, ADMIN)] == ["7b1e0d22"]
    assert store.entry("3f2a9c10-aaaa")["contact_point_id"] == "link-bergen"


def test_why_nobody_could_take_a_person():
    assert domain.unroutable_reason_code({"municipality_number": None}) == "outside_municipalities"
    assert domain.unroutable_reason_code({"municipality_number": "4601", "not_in_own_municipality": True}) == (
        "avoids_own_municipality"
    )
    assert domain.unroutable_reason_code({"municipality_number": "5601"}) == "no_contact_point_nearby"
