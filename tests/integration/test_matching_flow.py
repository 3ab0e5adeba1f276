"""matching on the real broker and store: registrations arrive as events, a proposal with its
explanation is formed, staff confirm it by RPC and `group_confirmed` goes out once; and two
matching replicas on the same store and broker never put one person in two groups.

The directory here is a stand-in on the real broker that answers `route` and `get_contact_point`
with meeting places (the shape the directory is gaining), so the test does not depend on that work.
"""

import uuid
from datetime import UTC

import eventlet
import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import entrypoint_hook

from services.common.actors import Actor
from services.common.rpc import rpc
from services.matching.service import MatchingService
from tests.actors import GATEWAY, rpc_as
from tests.bus import Tap, publish
from tests.samples import envelope
from tests.waiting import wait_until

STAFF = Actor(account_id="acc-1", role="contact_point_staff", contact_point_ids=["link-bergen"])
BERGEN = {
    "kind": "contact_point",
    "contact_point_id": "link-bergen",
    "municipality_number": "4601",
    "distance_km": 0.0,
    "reason": "serves Bergen",
}
NATIONAL = {
    "kind": "national_office",
    "contact_point_id": "national-office",
    "municipality_number": None,
    "distance_km": None,
    "reason": "no local or digital contact point can take the person",
}


class StandInDirectory:
    name = "directory"

    @rpc
    def route(self, municipality_number, preferences=None):
        return [BERGEN, NATIONAL]

    @rpc
    def get_contact_point(self, contact_point_id):
        return {
            "contact_point_id": contact_point_id,
            "meeting_places": [
                {"meeting_place_id": "library", "capacity": 12, "accessibility": ["step_free", "hearing_loop"]}
            ],
        }


def created(registration_id, **changes):
    data = {
        "registration_id": registration_id,
        "idempotency_key": f"k-{registration_id}",
        "municipality_number": "4601",
        "area": None,
        "role": "self",
        "themes": ["grief"],
        "languages": ["nb"],
        "availability": [{"weekday": "tue", "part_of_day": "evening"}],
        "open_to_mixed": False,
        "birth_year": None,
        "digital_ok": False,
        "not_in_own_municipality": False,
        "accessibility_needs": [],
        "cohort": None,
        "referred": False,
        "registered_at": "2026-11-01T09:00:00Z",
    }
    data.update(changes)
    return envelope(data, event_type="registration_created", source="registration")


@pytest.fixture
def matching(container_factory, service_config):
    def start(replicas=1):
        container_factory(StandInDirectory, service_config).start()
        containers = [container_factory(MatchingService, service_config) for _ in range(replicas)]
        for container in containers:
            container.start()
        return containers

    tap = Tap(service_config["AMQP_URI"], "matching")
    yield start, service_config, tap
    tap.close()


def test_registrations_become_a_proposal_that_staff_confirm_once(matching, mongo, db_prefix):
    start, config, tap = matching
    start()
    ids = [f"reg-{uuid.uuid4().hex[:8]}" for _ in range(5)]
    for rid in ids:
        publish(config["AMQP_URI"], "registration.events", "registration_created", created(rid))
    proposal = tap.wait_for("group_proposed")[0]["data"]
    assert sorted(proposal["registration_ids"]) == sorted(ids)
    explanation = proposal["explanation"]
    assert explanation["theme"] == "grief" and explanation["slot"] == {"weekday": "tue", "part_of_day": "evening"}
    assert "Tuesday evening" in explanation["summary"] and "Nothing was relaxed" in explanation["summary"]

    confirmation = {
        "meeting_place_id": "library",
        "first_meeting_at": "2030-01-08T18:00:00Z",
        "starter_id": "starter-1",
    }
    with rpc_as(GATEWAY, config, timeout=30) as cluster:
        [listed] = cluster.matching.proposals("link-bergen", STAFF)
        assert listed["group_id"] == proposal["group_id"]
        assert cluster.matching.confirm_group(proposal["group_id"], confirmation, STAFF)["state"] == "confirmed"
        with pytest.raises(RemoteError) as again:
            cluster.matching.confirm_group(proposal["group_id"], confirmation, STAFF)
        assert again.value.exc_type == "Conflict"
    marker = f"reg-{uuid.uuid4().hex[:8]}"
    publish(config["AMQP_URI"], "registration.events", "registration_created", created(marker))
    tap.wait_for("registration_waitlisted", count=6)  # everything before the marker is out
    confirmed = tap.events("group_confirmed")
    assert len(confirmed) == 1 and confirmed[0]["data"]["meeting_place_id"] == "library"
    group = mongo[f"{db_prefix}matching"].groups.find_one({"_id": proposal["group_id"]})
    assert group["state"] == "confirmed"


def test_two_replicas_on_one_store_and_broker_never_place_one_person_twice(matching, mongo, db_prefix):
    start, config, tap = matching
    first, second = start(replicas=2)
    slots = [{"weekday": "tue", "part_of_day": "evening"}, {"weekday": "wed", "part_of_day": "evening"}]
    ids = [f"reg-{i:03d}" for i in range(48)]
    for i, rid in enumerate(ids):
        publish(
            config["AMQP_URI"],
            "registration.events",
            "registration_created",
            created(rid, availability=slots[: 1 + i % 2], open_to_mixed=True),
        )
    tap.wait_for("registration_waitlisted", count=len(ids), timeout=60)
    db = mongo[f"{db_prefix}matching"]
    wait_until(lambda: db.waiting.count_documents({"group_id": None}) < 5, timeout=60, what="the pool to be grouped")

    def sweep(container):  # both replicas sweep the same pools at once
        with entrypoint_hook(container, "sweep") as hook:
            return hook()

    db.pool_state.update_many({}, {"$set": {"dirty": True}})
    threads = [eventlet.spawn(sweep, container) for container in (first, second)]
    for thread in threads:
        thread.wait()

    groups = list(db.groups.find({"state": "proposed"}))
    placed = [rid for group in groups for rid in group["members"]]
    assert len(placed) == len(set(placed)), "someone is in two groups"
    assert len(placed) >= 40
    for group in groups:
        assert db.waiting.count_documents({"_id": {"$in": group["members"]}, "group_id": group["_id"]}) == len(
            group["members"]
        )
    # every proposal was announced; one a re-solve replaced (design §4.13) was closed as superseded
    live = {group["_id"] for group in groups}
    proposed = tap.events("group_proposed")
    superseded = {e["data"]["group_id"] for e in tap.events("group_closed") if e["data"]["reason"] == "superseded"}
    assert {e["data"]["group_id"] for e in proposed} == live | superseded
    announced = [rid for e in proposed if e["data"]["group_id"] in live for rid in e["data"]["registration_ids"]]
    assert sorted(announced) == sorted(placed)


def test_two_replicas_sweeping_the_same_pool_at_once_claim_each_person_once(matching, mongo, db_prefix):
    """Both replicas compute the same groups from the same pool; the versioned claims let one win."""
    from datetime import datetime

    from services.common import clock
    from services.matching import domain, engine

    start, config, tap = matching
    first, second = start(replicas=2)
    db = mongo[f"{db_prefix}matching"]
    now = clock.now()
    for i in range(40):
        data = created(f"reg-{i:03d}")["data"]
        profile = {**data, "registered_at": datetime(2026, 11, 1, 9, i, tzinfo=UTC)}
        db.waiting.insert_one(
            domain.waiting_entry(profile, BERGEN, [BERGEN, NATIONAL], now, engine.DEFAULT_WIDENING_DAYS)
        )
    db.pool_state.insert_one({"_id": "link-bergen|self|nb", "dirty": True, "seq": 1, "rejected": []})

    def sweep(container):
        with entrypoint_hook(container, "sweep") as hook:
            return hook()

    results = [thread.wait() for thread in [eventlet.spawn(sweep, c) for c in (first, second)]]
    assert sum(result["proposed"] for result in results) == 5  # 40 people: five groups of eight
    groups = list(db.groups.find())
    placed = [rid for group in groups for rid in group["members"]]
    assert len(groups) == 5 and len(placed) == len(set(placed)) == 40
    tap.wait_for("group_proposed", count=5)
    assert len(tap.events("group_proposed")) == 5
