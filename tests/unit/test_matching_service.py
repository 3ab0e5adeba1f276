"""matching's entrypoints with a fake of its own store; only the directory proxy is a mock."""

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest
from nameko.testing.services import worker_factory

from services.common import clock
from services.common.cache import TtlCache
from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.matching import domain
from services.matching.locks import KeyedLocks
from services.matching.service import MatchingService
from services.matching.store import ClaimLost
from tests.fakes import FakeStorageBase, an_event

STAFF = {"account_id": "acc-1", "role": "contact_point_staff", "contact_point_ids": ["link-bergen"]}
OTHER_STAFF = {"account_id": "acc-2", "role": "contact_point_staff", "contact_point_ids": ["link-oslo"]}
REGISTERED = datetime(2026, 11, 1, 9, tzinfo=UTC)


class FakeMatchingStorage(FakeStorageBase):
    """The store's port in memory, with the same versioned claims; a change that raises rolls back."""

    source = "matching"

    def __init__(self):
        super().__init__()
        self.state = {
            "waiting": {},
            "unroutable": {},
            "groups": {},
            "acquaintances": set(),
            "pool_state": {},
            "contact_points": {},
        }

    def transaction(self, change, event_id=None):
        saved = copy.deepcopy(self.state)
        try:
            return super().transaction(change, event_id)
        except Exception:
            self.state = saved
            raise

    @property
    def pool(self):
        return self.state["waiting"]

    # waiting
    def entry(self, rid, uow=None):
        return copy.deepcopy(self.pool.get(rid))

    def entries(self, rids, uow=None):
        return [copy.deepcopy(self.pool[r]) for r in rids if r in self.pool]

    def put_waiting(self, uow, entry):
        self.pool[entry["_id"]] = copy.deepcopy(entry)

    def update_profile(self, uow, rid, profile):
        self.pool[rid]["profile"] = profile

    def replace_if_version(self, uow, entry, version):
        if self.pool.get(entry["_id"], {}).get("version") != version:
            return False
        self.pool[entry["_id"]] = copy.deepcopy(entry)
        return True

    def remove_waiting(self, uow, rid):
        return self.pool.pop(rid, None) is not None

    def pool_entries(self, pool):
        return [copy.deepcopy(e) for e in self.pool.values() if pool in e["pools"]]

    def entries_of_contact_point(self, cp):
        return [copy.deepcopy(e) for e in self.pool.values() if e["contact_point_id"] == cp and not e["group_id"]]

    def due_for_widening(self, now, limit=200):
        return [copy.deepcopy(e) for e in self.pool.values() if e["next_widening_at"] and e["next_widening_at"] <= now][
            :limit
        ]

    def claim(self, uow, rid, version, group_id):
        entry = self.pool.get(rid)
        if entry is None or entry["version"] != version or entry["group_id"] is not None:
            raise ClaimLost(rid)
        entry.update(group_id=group_id, pools=[], next_widening_at=None, version=version + 1)

    def release(self, uow, rid, widening_days):
        entry = self.pool.get(rid)
        if entry:
            entry.update(
                group_id=None,
                pools=domain.pools_of(entry),
                version=entry["version"] + 1,
                next_widening_at=domain.next_widening_at(entry, widening_days),
            )
        return entry

    def record_unroutable(self, uow, rid, reason, now):
        self.state["unroutable"][rid] = reason

    @property
    def unroutable(self):
        return self.state["unroutable"]

    def forget(self, uow, rid):
        self.pool.pop(rid, None)
        self.unroutable.pop(rid, None)

    def mark_erased(self, uow, tombstone):
        self.state.setdefault("erased", set()).add(tombstone)

    def is_erased(self, tombstone, uow=None):
        return tombstone in self.state.get("erased", set())

    # groups
    def group(self, gid, uow=None):
        return copy.deepcopy(self.state["groups"].get(gid))

    def insert_group(self, uow, group):
        self.state["groups"][group["_id"]] = copy.deepcopy(group)

    def update_group(self, uow, group, changes):
        current = self.state["groups"].get(group["_id"])
        if current is None or current["version"] != group["version"]:
            return False
        current.update(copy.deepcopy(changes), version=current["version"] + 1)
        return True

    def groups_of(self, cp, states):
        return [
            copy.deepcopy(g)
            for g in self.state["groups"].values()
            if g["contact_point_id"] == cp and g["state"] in states
        ]

    # acquaintances, pool state
    def acquaintances_among(self, rids, uow=None):
        return [pair for pair in self.state["acquaintances"] if pair <= set(rids)]

    def add_acquaintances(self, uow, a, b, now):
        self.state["acquaintances"].add(frozenset((a, b)))

    def forget_acquaintances(self, uow, rid):
        self.state["acquaintances"] = {p for p in self.state["acquaintances"] if rid not in p}

    def pool_state(self, pool, uow=None):
        return copy.deepcopy(
            self.state["pool_state"].get(pool, {"_id": pool, "rejected": [], "dirty": False, "seq": 0})
        )

    def _pool_state(self, pool):
        return self.state["pool_state"].setdefault(pool, {"_id": pool, "rejected": [], "dirty": False, "seq": 0})

    def add_rejected(self, uow, pool, rids):
        self._pool_state(pool)["rejected"].append(sorted(rids))

    def mark_dirty(self, uow, pool):
        state = self._pool_state(pool)
        state.update(dirty=True, seq=state["seq"] + 1)

    def dirty_pools(self, limit=50):
        return [{"_id": k, "seq": v["seq"]} for k, v in self.state["pool_state"].items() if v["dirty"]][:limit]

    def clear_dirty(self, pool, seq):
        if self._pool_state(pool)["seq"] == seq:
            self._pool_state(pool)["dirty"] = False

    # contact points, figures
    def contact_point(self, cp, uow=None):
        return copy.deepcopy(self.state["contact_points"].get(cp))

    def save_contact_point(self, uow, data):
        self.state["contact_points"][data["contact_point_id"]] = copy.deepcopy(data)

    def digital_contact_points(self):
        return {k for k, v in self.state["contact_points"].items() if v.get("digital_groups") and v.get("active")}

    def figure_rows(self):
        for e in self.pool.values():
            number = e["profile"]["municipality_number"]
            yield (number[:2] if number else None, "in_group" if e["group_id"] else "waiting")
        for _ in self.unroutable:
            yield (None, "unroutable")

    def group_states(self):
        return [g["state"] for g in self.state["groups"].values()]


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
    store = store or FakeMatchingStorage()
    service = worker_factory(MatchingService, store=store, config={}, routes=TtlCache(30), pool_locks=KeyedLocks())
    service.directory.route.return_value = candidates
    service.directory.get_contact_point.return_value = {"contact_point_id": "link-bergen", "meeting_places": PLACES}
    return service, store


def arrive(service, rid, **changes):
    service.handle_registration_created(an_event("registration", "registration_created", profile(rid, **changes)))


def proposed(store):
    return [g for g in store.state["groups"].values() if g["state"] == "proposed"]


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
    return [e["data"] for e in store.events if e["event_type"] == event_type]


# --- arrivals -------------------------------------------------------------------------------------


def test_a_new_registration_waits_in_the_pool_of_its_contact_point_role_and_first_language():
    service, store = service_with([BERGEN, NATIONAL])
    arrive(service, "r1")
    assert store.pool["r1"]["home_pool"] == "link-bergen|self|nb"
    assert store.emitted_types() == ["registration_waitlisted"]
    service.directory.route.assert_called_once_with("4601", {"not_in_own_municipality": False, "digital_ok": False})


def test_people_from_the_same_municipality_with_the_same_wishes_share_one_directory_answer():
    service, store = service_with([BERGEN, NATIONAL])
    arrive(service, "r1")
    arrive(service, "r2")
    arrive(service, "r3", digital_ok=True)
    assert service.directory.route.call_count == 2  # r2 reused r1's answer; r3 wishes otherwise
    assert store.pool["r2"]["contact_point_id"] == "link-bergen"


def test_a_cached_route_to_a_contact_point_known_closed_is_asked_again():
    service, store = service_with([BERGEN, NATIONAL])
    arrive(service, "r1")
    # The closing was handled by another replica: this one's cache still holds Bergen.
    store.state["contact_points"]["link-bergen"] = {"_id": "link-bergen", "revision": 3, "active": False}
    service.directory.route.return_value = [ASKOY, NATIONAL]
    arrive(service, "r2")
    assert store.pool["r2"]["contact_point_id"] == "cp-4627"
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
    assert "r1" in store.unroutable and not store.pool
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
    assert all(store.pool[f"r{i}"]["group_id"] == group["_id"] for i in range(5))


def test_withdrawal_takes_a_waiting_person_out_of_the_pool():
    service, store = service_with([BERGEN, NATIONAL])
    arrive(service, "r1")
    service.handle_registration_withdrawn(
        an_event("registration", "registration_withdrawn", {"registration_id": "r1", "reason": "person"})
    )
    assert store.pool == {}


def test_an_erasure_handled_before_the_creation_keeps_the_person_out_of_every_pool():
    """Separate queues: registration_erased can overtake registration_created."""
    service, store = service_with([BERGEN, NATIONAL])
    service.handle_registration_erased(
        an_event("registration", "registration_erased", {"registration_id": "r1", "reason": "request"})
    )
    arrive(service, "r1")
    assert store.pool == {} and store.emitted_types() == []
    assert "r1" not in str(store.state.get("erased"))  # only a digest is kept


def test_an_update_keeps_the_place_in_the_queue():
    service, store = service_with([BERGEN, NATIONAL])
    arrive(service, "r1")
    later = profile("r1", themes=["anxiety"], registered_at=REGISTERED + timedelta(days=5))
    service.handle_registration_updated(an_event("registration", "registration_updated", later))
    assert store.pool["r1"]["queue_since"] == REGISTERED and store.pool["r1"]["profile"]["themes"] == ["anxiety"]
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
    assert "step_free" in json.loads(str(error.value))["meeting_place_id"][0]
    with pytest.raises(InvalidInput) as error:
        service.confirm_group(group["_id"], confirmation(meeting_place_id="closet"), STAFF)
    assert "Holds 4" in str(error.value)
    with pytest.raises(InvalidInput) as error:
        service.confirm_group(group["_id"], confirmation(meeting_place_id="nowhere"), STAFF)
    assert "not a meeting place" in str(error.value)
    assert emitted(store, "group_confirmed") == []
    assert service.confirm_group(group["_id"], confirmation(), STAFF)["state"] == "confirmed"


def test_a_bad_confirmation_names_each_field():
    service, store, group = a_group_of_five()
    with pytest.raises(InvalidInput) as error:
        service.confirm_group(group["_id"], {"meeting_place_id": "", "first_meeting_at": "2001-01-01T10:00:00"}, STAFF)
    assert set(json.loads(str(error.value))) == {"meeting_place_id", "first_meeting_at", "starter_id"}
    with pytest.raises(InvalidInput) as error:
        service.confirm_group(group["_id"], confirmation(first_meeting_at="2001-01-01T10:00:00Z"), STAFF)
    assert json.loads(str(error.value)) == {"first_meeting_at": ["Must be in the future."]}


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
        store.pool[f"r{i}"]["group_id"] is None and store.pool[f"r{i}"]["queue_since"] == REGISTERED for i in range(5)
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
    assert store.pool["r9"]["group_id"] is None
    result = service.leave_group(group["_id"], "r0", STAFF)
    assert emitted(store, "group_member_left")[0]["registration_id"] == "r0"
    assert emitted(store, "group_member_added")[0]["registration_id"] == "r9"
    assert store.pool["r9"]["group_id"] == group["_id"] and "r0" not in store.pool
    assert "r9" in store.state["groups"][group["_id"]]["members"] and result["group_id"] == group["_id"]


def test_a_proposal_that_loses_a_member_and_cannot_be_refilled_is_dissolved():
    service, store, group = a_group_of_five()
    service.handle_registration_withdrawn(
        an_event("registration", "registration_withdrawn", {"registration_id": "r3", "reason": "person"})
    )
    assert emitted(store, "group_member_left")[0]["reason"] == "withdrawn"
    assert emitted(store, "group_closed")[0]["reason"] == "dissolved"
    assert all(store.pool[r]["group_id"] is None for r in ("r0", "r1", "r2", "r4"))


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
    entry = store.pool["r1"]
    assert [w["step"] for w in entry["widening"]] == ["mixed_themes", "neighbouring"]
    assert "cp-4627|self|nb" in entry["pools"] and first["widened"] == 1
    assert service.sweep()["widened"] == 0 and store.pool["r1"]["widening"] == entry["widening"]


def test_a_closed_contact_point_reroutes_its_pool_keeping_the_queue():
    service, store = service_with([BERGEN, NATIONAL])
    arrive(service, "r1")
    service.directory.route.return_value = [BERGEN, ASKOY, NATIONAL]
    service.handle_contact_point_deactivated(
        an_event("directory", "contact_point_deactivated", {"contact_point_id": "link-bergen", "revision": 3})
    )
    assert store.pool["r1"]["contact_point_id"] == "cp-4627" and store.pool["r1"]["queue_since"] == REGISTERED
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
    cp = store.state["contact_points"]["cp"]
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
    assert figures["national"]["in_group"] == 5 and figures["counties"]["46"]["waiting"] == 1
    assert figures["national"]["groups"] == {"proposed": 1}
