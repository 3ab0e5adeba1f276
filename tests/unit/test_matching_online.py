"""The online policy (design §4.13) through matching's use cases, on the memory store with
simulated time: arrivals placed at once when they can be, re-solves in the sweep that replace
unconfirmed proposals (superseded first, in one transaction), at most once an hour per pool."""

from dataclasses import replace
from datetime import UTC, datetime
from unittest.mock import Mock

import pytest

from services.common import clock
from services.common.cache import TtlCache
from services.common.errors import Conflict
from services.matching import handlers
from services.matching.handlers.lifecycle import PROPOSAL_SUPERSEDED
from services.matching.handlers.proposals import RESOLVE_DELAY
from services.matching.memory_store import MemoryMatchingStore
from services.matching.ports import Ports, Settings
from tests.fakes import an_event
from tests.unit.test_matching_service import BERGEN, NATIONAL, PLACES, STAFF, profile

T0 = datetime(2030, 3, 1, 9, tzinfo=UTC)
POOL = "link-bergen|self|nb"


@pytest.fixture
def moment():
    with clock.use(clock.FixedClock(T0)) as fixed:
        yield fixed


def ports_at(moment, settings=None):
    directory = Mock(spec=["route", "get_contact_point"])  # another service's proxy
    directory.route.return_value = [BERGEN, NATIONAL]
    directory.get_contact_point.return_value = {"contact_point_id": "link-bergen", "meeting_places": PLACES}
    return Ports(
        store=MemoryMatchingStore(),
        directory=directory,
        routes=TtlCache(30),
        clock=moment,
        settings=settings or Settings(),
    )


def arrive(ports, rid, **changes):
    data = profile(rid, registered_at=ports.clock.now(), **changes)
    handlers.waitlist(ports, an_event("registration", "registration_created", data))


def live(ports):
    return ports.store.groups_of("link-bergen", ("proposed",))


def events(ports):
    return [(e["event_type"], e["schema_version"], e["data"]) for e in ports.store.take_outbox()]


def five_and_two_more(moment, settings=None):
    """Five arrive (a proposal at once), then two more who fit it (no group of their own)."""
    ports = ports_at(moment, settings)
    for i in range(5):
        arrive(ports, f"r{i}")
    [first] = live(ports)
    moment.advance(minutes=15)
    assert handlers.sweep(ports)["proposed"] == 0  # nothing better: the proposal stands
    moment.advance(minutes=15)
    arrive(ports, "s1")
    arrive(ports, "s2")
    events(ports)
    return ports, first


def test_an_arrival_is_placed_at_once_and_its_pool_is_marked_for_a_re_solve_a_little_later(moment):
    ports = ports_at(moment)
    for i in range(5):
        arrive(ports, f"r{i}")
    assert len(live(ports)) == 1  # the fifth arrival completed a group at once, as before
    assert ports.store.dirty_pools(now=moment.now()) == []
    assert [d["_id"] for d in ports.store.dirty_pools(now=moment.now() + RESOLVE_DELAY)] == [POOL]


def test_a_re_solve_replaces_a_proposal_that_can_grow_closing_it_as_superseded_first(moment):
    ports, first = five_and_two_more(moment)
    moment.advance(minutes=5)
    assert handlers.sweep(ports)["proposed"] == 0  # not due yet: changes close together go together
    moment.advance(minutes=10)
    assert handlers.sweep(ports)["proposed"] == 1
    [(closed, version, data), (proposed, _, new)] = events(ports)
    assert (closed, version, data["reason"], data["group_id"]) == ("group_closed", 2, "superseded", first["_id"])
    assert proposed == "group_proposed" and sorted(new["registration_ids"]) == [
        "r0",
        "r1",
        "r2",
        "r3",
        "r4",
        "s1",
        "s2",
    ]
    assert first["_id"] in new["explanation"]["summary"]
    old = ports.store.group(first["_id"])
    assert (old["state"], old["closed_reason"], old["superseded_by"]) == ("closed", "superseded", [new["group_id"]])
    assert all(ports.store.entry(rid)["group_id"] == new["group_id"] for rid in new["registration_ids"])
    assert [g["group_id"] for g in handlers.proposals_view(ports, "link-bergen", STAFF)] == [new["group_id"]]
    assert handlers.groups_view(ports, "link-bergen", STAFF) == []  # a replaced proposal was never a group
    assert [g["_id"] for g in ports.store.group_histories()] == [new["group_id"]]  # the figures' groups


def test_staff_confirming_a_superseded_proposal_get_a_conflict_with_a_stable_code(moment):
    ports, first = five_and_two_more(moment)
    moment.advance(hours=1)
    handlers.sweep(ports)
    [replacement] = live(ports)
    confirmation = {"meeting_place_id": "library", "first_meeting_at": "2030-04-01T18:00:00Z", "starter_id": "s-1"}
    for act in (
        lambda: handlers.confirm_group(ports, first["_id"], confirmation, STAFF),
        lambda: handlers.reject_group(ports, first["_id"], "no_room", STAFF),
    ):
        with pytest.raises(Conflict) as refused:
            act()
        assert type(refused.value) is Conflict  # crosses RPC as exc_type Conflict: the gateway's 409
        assert str(refused.value).startswith(PROPOSAL_SUPERSEDED) and replacement["_id"] in str(refused.value)
    assert handlers.confirm_group(ports, replacement["_id"], confirmation, STAFF)["state"] == "confirmed"


def test_a_confirmed_group_is_never_re_solved(moment):
    ports, first = five_and_two_more(moment)
    confirmation = {"meeting_place_id": "library", "first_meeting_at": "2030-04-01T18:00:00Z", "starter_id": "s-1"}
    handlers.confirm_group(ports, first["_id"], confirmation, STAFF)
    events(ports)
    moment.advance(hours=1)
    handlers.sweep(ports)
    assert events(ports) == [] and ports.store.group(first["_id"])["state"] == "confirmed"
    assert ports.store.entry("s1")["group_id"] is None


def test_a_pool_is_re_solved_with_a_change_at_most_once_an_hour(moment):
    ports, first = five_and_two_more(moment)
    moment.advance(minutes=15)
    handlers.sweep(ports)
    [grown] = live(ports)
    arrive(ports, "t1")  # one who could top the group up to eight
    events(ports)
    moment.advance(minutes=20)
    assert handlers.sweep(ports)["proposed"] == 0 and live(ports) == [grown]
    moment.advance(minutes=40)  # an hour after the last re-solve
    assert handlers.sweep(ports)["proposed"] == 1
    [topped] = live(ports)
    assert set(topped["members"]) == {*grown["members"], "t1"}
    assert [e[0] for e in events(ports)] == ["group_closed", "group_proposed"]


def test_without_the_online_policy_proposals_stand_as_they_were_made(moment):
    ports, first = five_and_two_more(moment, Settings(online=False))
    moment.advance(hours=2)
    handlers.sweep(ports)
    assert live(ports) == [first] and events(ports) == []
    assert ports.store.entry("s1")["group_id"] is None


def test_replay_settings_keep_the_deployment_budget(moment):
    settings = replace(Settings.from_config({"FLOKK_MATCHING_EXACT_BUDGET": "0.25"}), online=False)
    assert (settings.exact_budget, settings.online) == (0.25, False)
