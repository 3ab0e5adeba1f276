"""The online policy (design §4.13) on the real broker and store: a proposal that a re-solve can
grow is closed as superseded (group_closed version 2) before the proposal that replaces it goes
out, staff confirming the replaced one get a Conflict with the stable code proposal_superseded,
and the replacement is what staff see and can confirm."""

import uuid
from datetime import timedelta

import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import entrypoint_hook

from services.common import clock
from tests.actors import GATEWAY, rpc_as
from tests.bus import publish
from tests.integration.test_matching_flow import STAFF, created, matching  # noqa: F401 (the fixture)

CONFIRMATION = {"meeting_place_id": "library", "first_meeting_at": "2030-01-08T18:00:00Z", "starter_id": "starter-1"}


def test_a_re_solve_supersedes_a_proposal_that_can_grow_and_its_confirm_is_refused(matching, mongo, db_prefix):  # noqa: F811
    start, config, tap = matching
    [container] = start()
    first_five = [f"reg-{uuid.uuid4().hex[:8]}" for _ in range(5)]
    two_more = [f"reg-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for rid in first_five:
        publish(config["AMQP_URI"], "registration.events", "registration_created", created(rid))
    [proposed] = tap.wait_for("group_proposed")
    first = proposed["data"]["group_id"]
    for rid in two_more:
        publish(config["AMQP_URI"], "registration.events", "registration_created", created(rid))
    tap.wait_for("registration_waitlisted", count=7)
    db = mongo[f"{db_prefix}matching"]
    [state] = list(db.pool_state.find({"dirty": True}))
    assert state["due_at"] > clock.now() - timedelta(minutes=1)  # a little later, not at once
    db.pool_state.update_one({"_id": state["_id"]}, {"$set": {"due_at": clock.now() - timedelta(seconds=1)}})

    with entrypoint_hook(container, "sweep") as sweep:
        sweep()  # (or the service's own sweep timer, if it came first: the same re-solve)

    [_, replacement] = tap.wait_for("group_proposed", count=2)
    [closed] = tap.wait_for("group_closed")
    assert (closed["schema_version"], closed["data"]["reason"], closed["data"]["group_id"]) == (2, "superseded", first)
    order = [(key, body["data"]["group_id"]) for _, key, _, body in tap.seen if key.startswith("group_")]
    assert order.index(("group_closed", first)) < order.index(("group_proposed", replacement["data"]["group_id"]))
    assert sorted(replacement["data"]["registration_ids"]) == sorted(first_five + two_more)

    with rpc_as(GATEWAY, config, timeout=30) as cluster:  # staff's actor, signed as the gateway signs it
        assert [g["group_id"] for g in cluster.matching.proposals("link-bergen", STAFF)] == [
            replacement["data"]["group_id"]
        ]
        with pytest.raises(RemoteError) as refused:
            cluster.matching.confirm_group(first, CONFIRMATION, STAFF)
        assert refused.value.exc_type == "Conflict"
        assert "proposal_superseded" in str(refused.value) and replacement["data"]["group_id"] in str(refused.value)
        confirmed = cluster.matching.confirm_group(replacement["data"]["group_id"], CONFIRMATION, STAFF)
        assert confirmed["state"] == "confirmed"
    old = db.groups.find_one({"_id": first})
    assert (old["state"], old["closed_reason"]) == ("closed", "superseded")
