"""matching's entrypoints over its in-memory store (services/matching/memory_store.py); only the
directory proxy is a mock."""

import json
from datetime import UTC, datetime, timedelta
from unittest.mock import Mock

import pytest
from nameko.testing.services import worker_factory

from services.common import clock
from services.common.cache import TtlCache
from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.matching import engine, handlers
from services.matching.locks import KeyedLocks
from services.matching.memory_store import MemoryMatchingStore
from services.matching.ports import Ports
from services.matching.service import MatchingService
from tests.fakes import an_event

STAFF = {"account_id": "acc-1", "role": "contact_point_staff", "contact_point_ids": ["link-bergen"]}
OTHER_STAFF = {"account_id": "acc-2", "role": "contact_point_staff", "contact_point_ids": ["link-oslo"]}
REGISTERED = datetime(2026, 11, 1, 9, tzinfo=UTC)
WIDENING = engine.DEFAULT_WIDENING_DAYS


def profile(rid="r1", **changes):
    data = {
        "registration_id": rid,
        "municipality_number": "4601",
        "area": None,
        "role": "self",
        "themes": ["grief"],
        "languages": ["nb", "en"],
        "availability": [{"weekday": "tue", "part_of_day": "evening"}],
        "open_to_mixed": True,
        "birth_year": None,
        "digital_ok": False,
        "not_in_own_municipality": False,
        "accessibility_needs": [],
        "cohort": None,
        "referred": False,
        "idempotency_key": f"k-{rid}",
        "registered_at": REGISTERED,
    }
    data.update(changes)
    return data


BERGEN = {
    "kind": "contact_point",
    "contact_point_id": "link-bergen",
    "municipality_number": "4601",
    "distance_km": 0.0,
    "reason": "serves Bergen",
}
ASKOY = {
    "kind": "contact_point",
    "contact_point_id": "cp-4627",
    "municipality_number": "4627",
    "distance_km": 9.5,
    "reason": "nearest in Vestland",
}
NATIONAL = {
    "kind": "national_office",
    "contact_point_id": "national-office",
    "municipality_number": None,
    "distance_km": None,
    "reason": "no local or digital contact point can take the person",
}
PLACES = [
    {"meeting_place_id": "library", "capacity": 12, "accessibility": ["step_free", "hearing_loop"]},
    {"meeting_place_id": "attic", "capacity": 12, "accessibility": []},
    {"meeting_place_id": "closet", "capacity": 4, "accessibility": ["step_free"]},
]


def service_with(candidates, store=None):
    store = store or MemoryMatchingStore()
    service = worker_factory(
        MatchingService, store=store, settings={}, routes=TtlCache(30), pool_locks=KeyedLocks(), clock=clock.CURRENT
    )
    service.directory.route.return_value = candidates
    service.directory.get_contact_point.return_value = {"contact_point_id": "link-bergen", "meeting_places": PLACES}
    return service, store


def arrive(service, rid, **changes):
    service.handle_registration_created(an_event("registration", "registration_created", profile(rid, **changes)))


def proposed(store):
    return [g for g in store.groups if g["state"] == "proposed"]


def a_group_of_five(**changes):
    service, store = service_with([BERGEN, NATIONAL])
    for i in range(5):
        arrive(service, f"r{i}", **changes)
    [group] = proposed(store)
    return service, store, group


def confirmation(**changes):
    return {
        "meeting_place_id": "library",
        "first_meeting_at": "2030-01-08T18:00:00Z",
        "starter_id": "starter-1",
        **changes,
    }


def emitted(store, event_type):
    return [e["data"] for e in store.outbox if e["event_type"] == event_type]


# --- arrivals -------------------------------------------------------------------------------------


def test_a_new_registration_waits_in_the_pool_of_its_contact_point_role_and_first_language():
    service, store = service_with([BERGEN, NATIONAL])
    arrive(service, "r1")
    assert store.entry("r1")["home_pool"] == "link-bergen|self|nb"
    assert store.emitted_types() == ["registration_waitlisted"]
    service.directory.route.assert_called_once_with("4601", {"not_in_own_municipality": False, "digital_ok": False})


def test_people_from_the_same_municipality_with_the_same_wishes_share_one_directory_answer():
    service, store = service_with([BERGEN, NATIONAL])
    arrive(service, "r1")
    arrive(service, "r2")
    arrive(service, "r3", digital_ok=True)
    assert service.directory.route.call_count == 2  # r2 reused r1's answer; r3 wishes otherwise
    assert store.entry("r2")["contact_point_id"] == "link-bergen"


def test_a_cached_route_to_a_contact_point_known_closed_is_asked_again():
    service, store = service_with([BERGEN, NATIONAL])
    arrive(service, "r1")
    # The closing was handled by another replica: this one's cache still holds Bergen.
    closed = {"contact_point_id": "link-bergen", "revision": 3, "active": False}
    store.transaction(lambda uow: store.save_contact_point(uow, closed))
    service.directory.route.return_value = [ASKOY, NATIONAL]
    arrive(service, "r2")
    assert store.entry("r2")["contact_point_id"] == "cp-4627"
    arrive(service, "r3")
    assert service.directory.route.call_count == 2  # the fresh answer replaced the stale one


def test_a_contact_point_event_empties_the_route_cache():
    service, store = service_with([BERGEN, NATIONAL])
    arrive(service, "r1")
    service.handle_contact_point_upserted(
        an_event(
            "directory",
            "contact_point_upserted",
            {
                "contact_point_id": "cp-new",
                "kind": "link_centre",
                "name": "LINK",
                "county_number": "46",
                "municipalities": ["4601"],
                "digital_groups": False,
                "languages": ["nb"],
                "min_size": 5,
                "max_size": 8,
                "active": True,
                "revision": 1,
            },
        )
    )
    arrive(service, "r2")
    assert service.directory.route.call_count == 2


def test_only_the_national_office_means_unroutable():
    service, store = service_with([NATIONAL])
    arrive(service, "r1")
    assert "r1" in store.unroutable and not list(store.waiting)
    assert store.emitted_types() == ["registration_unroutable"]


def test_the_same_event_twice_is_applied_once():
    service, store = service_with([BERGEN, NATIONAL])
    event = an_event("registration", "registration_created", profile())
    service.handle_registration_created(event)
    service.handle_registration_created(event)
    assert store.emitted_types() == ["registration_waitlisted"]


def test_the_fifth_compatible_arrival_makes_a_proposal_with_an_explanation():
    service, store, group = a_group_of_five()
    [event] = emitted(store, "group_proposed")
    assert sorted(event["registration_ids"]) == ["r0", "r1", "r2", "r3", "r4"]
    assert event["explanation"]["theme"] == "grief" and "Tuesday evening" in event["explanation"]["summary"]
    assert all(store.entry(f"r{i}")["group_id"] == group["_id"] for i in range(5))


def test_withdrawal_takes_a_waiting_person_out_of_the_pool():
    service, store = service_with([BERGEN, NATIONAL])
    arrive(service, "r1")
    service.handle_registration_withdrawn(
        an_event("registration", "registration_withdrawn", {"registration_id": "r1", "reason": "person"})
    )
    assert list(store.waiting) == []


def test_an_erasure_handled_before_the_creation_keeps_the_person_out_of_every_pool():
    """Separate queues: registration_erased can overtake registration_created."""
    service, store = service_with([BERGEN, NATIONAL])
    service.handle_registration_erased(
        an_event("registration", "registration_erased", {"registration_id": "r1", "reason": "request"})
    )
    arrive(service, "r1")
    assert list(store.waiting) == [] and store.emitted_types() == []
    assert len(list(store.erased)) == 1 and "r1" not in str(list(store.erased))  # only a digest is kept


def test_an_update_keeps_the_place_in_the_queue():
    service, store = service_with([BERGEN, NATIONAL])
    arrive(service, "r1")
    later = profile("r1", themes=["anxiety"], registered_at=REGISTERED + timedelta(days=5))
    service.handle_registration_updated(an_event("registration", "registration_updated", later))
    assert store.entry("r1")["queue_since"] == REGISTERED and store.entry("r1")["profile"]["themes"] == ["anxiety"]
    assert store.emitted_types() == ["registration_waitlisted"]


# --- the lifecycle --------------------------------------------------------------------------------


def test_confirming_emits_group_confirmed_once():
    service, store, group = a_group_of_five()
    result = service.confirm_group(group["_id"], confirmation(), STAFF)
    assert result["state"] == "confirmed"
    with pytest.raises(Conflict):
        service.confirm_group(group["_id"], confirmation(), STAFF)
    [event] = emitted(store, "group_confirmed")
    assert event["meeting_place_id"] == "library" and event["first_meeting_at"] == "2030-01-08T18:00:00Z"
    service.directory.get_contact_point.assert_called_with("link-bergen")


def test_the_meeting_place_must_suit_every_members_accessibility_needs():
    service, store = service_with([BERGEN, NATIONAL])
    for i in range(5):
        arrive(service, f"r{i}", accessibility_needs=["step_free"] if i == 2 else [])
    [group] = proposed(store)
    with pytest.raises(InvalidInput) as error:
        service.confirm_group(group["_id"], confirmation(meeting_place_id="attic"), STAFF)
    assert json.loads(str(error.value)) == {"meeting_place_id": ["place_lacks_access"]}  # step_free
    with pytest.raises(InvalidInput) as error:
        service.confirm_group(group["_id"], confirmation(meeting_place_id="closet"), STAFF)
    assert json.loads(str(error.value)) == {"meeting_place_id": ["capacity_too_small"]}  # holds 4
    with pytest.raises(InvalidInput) as error:
        service.confirm_group(group["_id"], confirmation(meeting_place_id="nowhere"), STAFF)
    assert json.loads(str(error.value)) == {"meeting_place_id": ["unknown_meeting_place"]}
    assert emitted(store, "group_confirmed") == []
    assert service.confirm_group(group["_id"], confirmation(), STAFF)["state"] == "confirmed"


def test_a_bad_confirmation_names_each_field():
    service, store, group = a_group_of_five()
    with pytest.raises(InvalidInput) as error:
        service.confirm_group(group["_id"], {"meeting_place_id": "", "first_meeting_at": "2001-01-01T10:00:00"}, STAFF)
    assert set(json.loads(str(error.value))) == {"meeting_place_id", "first_meeting_at", "starter_id"}
    with pytest.raises(InvalidInput) as error:
        service.confirm_group(group["_id"], confirmation(first_meeting_at="2001-01-01T10:00:00Z"), STAFF)
    assert json.loads(str(error.value)) == {"first_meeting_at": ["date_in_past"]}


def test_only_staff_of_the_contact_point_may_act_on_its_groups():
    service, store, group = a_group_of_five()
    for call in (
        lambda: service.confirm_group(group["_id"], confirmation(), OTHER_STAFF),
        lambda: service.reject_group(group["_id"], "no_room", {"role": "referrer"}),
        lambda: service.proposals("link-bergen", OTHER_STAFF),
        lambda: service.pool("link-bergen", None),
    ):
        with pytest.raises(Forbidden):
            call()
    with pytest.raises(NotFound):
        service.confirm_group("g-nope", confirmation(), STAFF)


def test_rejecting_puts_members_back_at_their_place_and_never_proposes_the_same_set_again():
    service, store, group = a_group_of_five()
    service.reject_group(group["_id"], "not_compatible", STAFF)
    assert emitted(store, "group_rejected")[0]["reason"] == "not_compatible"
    assert all(
        store.entry(f"r{i}")["group_id"] is None and store.entry(f"r{i}")["queue_since"] == REGISTERED for i in range(5)
    )
    service.sweep()
    assert proposed(store) == []
    arrive(service, "r5")
    [again] = proposed(store)
    assert "r5" in again["members"] and again["_id"] != group["_id"]
    with pytest.raises(InvalidInput):
        service.reject_group(again["_id"], "boring", STAFF)


def test_states_run_proposed_confirmed_started_self_run_closed_and_no_other_way():
    service, store, group = a_group_of_five()
    with pytest.raises(Conflict):
        service.advance_group(group["_id"], "started", STAFF)
    service.confirm_group(group["_id"], confirmation(), STAFF)
    assert service.advance_group(group["_id"], "started", STAFF)["state"] == "started"
    assert service.advance_group(group["_id"], "self_run", STAFF)["state"] == "self_run"
    assert service.close_group(group["_id"], "completed", STAFF)["state"] == "closed"
    assert emitted(store, "group_closed")[0]["reason"] == "completed"
    with pytest.raises(Conflict):
        service.close_group(group["_id"], "completed", STAFF)


def test_a_confirmed_group_below_its_minimum_is_refilled_from_the_pool():
    service, store, group = a_group_of_five()
    service.confirm_group(group["_id"], confirmation(), STAFF)
    arrive(service, "r9")  # waits: four people are not a group
    assert store.entry("r9")["group_id"] is None
    result = service.leave_group(group["_id"], "r0", STAFF)
    assert emitted(store, "group_member_left")[0]["registration_id"] == "r0"
    assert emitted(store, "group_member_added")[0]["registration_id"] == "r9"
    assert store.entry("r9")["group_id"] == group["_id"] and store.entry("r0") is None
    assert "r9" in store.group(group["_id"])["members"] and result["group_id"] == group["_id"]


def test_a_proposal_that_loses_a_member_and_cannot_be_refilled_is_dissolved():
    service, store, group = a_group_of_five()
    service.handle_registration_withdrawn(
        an_event("registration", "registration_withdrawn", {"registration_id": "r3", "reason": "person"})
    )
    assert emitted(store, "group_member_left")[0]["reason"] == "withdrawn"
    assert emitted(store, "group_closed")[0]["reason"] == "dissolved"
    assert all(store.entry(r)["group_id"] is None for r in ("r0", "r1", "r2", "r4"))


def test_acquaintances_are_recorded_and_kept_apart():
    service, store = service_with([BERGEN, NATIONAL])
    for i in range(4):
        arrive(service, f"r{i}")
    assert service.record_acquaintances("r0", "r1", STAFF)["recorded"] is True
    with pytest.raises(InvalidInput):
        service.record_acquaintances("r0", "r0", STAFF)
    with pytest.raises(NotFound):
        service.record_acquaintances("r0", "nobody", STAFF)
    with pytest.raises(Forbidden):
        service.record_acquaintances("r0", "r1", OTHER_STAFF)
    arrive(service, "r4")
    arrive(service, "r5")
    [group] = proposed(store)
    assert not {"r0", "r1"} <= set(group["members"])


def test_the_sweep_widens_a_long_wait_to_the_neighbouring_contact_point_once():
    service, store = service_with([BERGEN, ASKOY, NATIONAL])
    arrive(service, "r1", registered_at=clock.now() - timedelta(days=30))
    first = service.sweep()
    entry = store.entry("r1")
    assert [w["step"] for w in entry["widening"]] == ["mixed_themes", "neighbouring"]
    assert "cp-4627|self|nb" in entry["pools"] and first["widened"] == 1
    assert service.sweep()["widened"] == 0 and store.entry("r1")["widening"] == entry["widening"]


def test_a_closed_contact_point_reroutes_its_pool_keeping_the_queue():
    service, store = service_with([BERGEN, NATIONAL])
    arrive(service, "r1")
    service.directory.route.return_value = [BERGEN, ASKOY, NATIONAL]
    service.handle_contact_point_deactivated(
        an_event("directory", "contact_point_deactivated", {"contact_point_id": "link-bergen", "revision": 3})
    )
    assert store.entry("r1")["contact_point_id"] == "cp-4627" and store.entry("r1")["queue_since"] == REGISTERED
    assert "re-routed" in emitted(store, "registration_waitlisted")[-1]["reason"]


def test_a_stale_contact_point_revision_is_ignored():
    service, store = service_with([])
    base = {
        "contact_point_id": "cp",
        "kind": "link_centre",
        "name": "LINK",
        "county_number": "46",
        "municipalities": ["4601"],
        "digital_groups": False,
        "languages": ["nb"],
        "min_size": 5,
        "max_size": 8,
        "active": True,
    }
    service.handle_contact_point_upserted(an_event("directory", "contact_point_upserted", {**base, "revision": 2}))
    service.handle_contact_point_upserted(
        an_event("directory", "contact_point_upserted", {**base, "revision": 1, "active": False})
    )
    cp = store.contact_point("cp")
    assert cp["revision"] == 2 and cp["active"] is True


def test_views_for_the_gateway_carry_ids_and_no_names():
    service, store, group = a_group_of_five()
    arrive(service, "r9")
    [waiting] = service.pool("link-bergen", STAFF)
    assert waiting["registration_id"] == "r9" and "name" not in waiting
    [proposal] = service.proposals("link-bergen", STAFF)
    assert proposal["group_id"] == group["_id"] and proposal["explanation"]["summary"]
    assert service.groups("link-bergen", STAFF) == []
    figures = service.figures()
    assert figures["period"] == "2026" and set(figures["counties"]) == {"46"}
    assert figures["national"]["waiting"] == 5 and figures["counties"]["46"]["waiting"] == 5  # six, rounded
    assert figures["national"]["in_group"] is None  # a proposal places nobody yet
    assert figures["national"]["groups_proposed"] is None  # one group: fewer than five, not shown


def test_figures_show_no_count_of_fewer_than_five_and_round_the_rest_to_five():
    service, store = service_with([BERGEN, NATIONAL])
    for number, count in (("4601", 12), ("0301", 6), ("5001", 2)):
        for i in range(count):
            arrive(service, f"{number}-{i}", municipality_number=number, themes=["anxiety"])
    shown = service.figures("2026-11")
    assert {county: row["registered"] for county, row in shown["counties"].items()} == {"46": 10, "03": 5, "50": None}
    assert shown["national"]["registered"] == 20 and shown["national"]["share_theme_anxiety"] == 100.0
    assert shown["outside_counties"]["registered"] is None
    with pytest.raises(InvalidInput) as refused:
        service.figures("2026-13")
    assert list(refused.value.errors) == ["period"]


# --- the use cases on their ports alone ------------------------------------------------------------------


def test_the_use_cases_run_on_ports_alone_with_no_broker_no_store_and_simulated_time():
    """What the replay does: the production path over the memory store, time from the clock port."""
    directory = Mock(spec=["route", "get_contact_point"])
    directory.route.return_value = [BERGEN, ASKOY, NATIONAL]
    moment = clock.FixedClock(datetime(2030, 3, 1, 9, tzinfo=UTC))
    ports = Ports(store=MemoryMatchingStore(), directory=directory, routes=TtlCache(30), clock=moment)
    arrivals = [profile(f"r{i}", registered_at=moment.now()) for i in range(5)]
    arrivals.append(profile("r5", registered_at=moment.now(), availability=[{"weekday": "mon", "part_of_day": "day"}]))
    for data in arrivals:
        handlers.waitlist(ports, an_event("registration", "registration_created", data))
    [group] = ports.store.groups_of("link-bergen", ("proposed",))
    assert group["proposed_at"] == moment.now() and "r5" not in group["members"]
    assert directory.route.call_count == 1  # the route cache port
    moment.advance(days=30)
    assert handlers.sweep(ports)["widened"] == 1
    assert [w["at"] for w in ports.store.entry("r5")["widening"]] == [moment.now(), moment.now()]
    assert handlers.national_figures(ports)["national"]["waiting"] == 5  # six wait, one of them widened
