"""Retention for everyone (issue 17, item 7) on the real broker and store: registration follows
group_closed and registration_unroutable from matching's exchange, and a year later the sweep
erases the people whose group closed and the unroutable, not those of a superseded proposal."""

from datetime import timedelta

import pytest
from nameko.testing.services import entrypoint_hook, entrypoint_waiter

from services.common import clock
from services.common.actors import Actor
from services.common.envelope import iso
from services.directory.service import DirectoryService
from services.registration.service import RegistrationService
from tests.actors import GATEWAY, rpc_as
from tests.bus import Tap, publish
from tests.samples import envelope, intake

PUBLIC = Actor(role="public")


@pytest.fixture
def registration(container_factory, service_config):
    container_factory(DirectoryService, service_config).start()
    container = container_factory(RegistrationService, {**service_config, "FLOKK_LOOKUP_KEY": "integration-lookup"})
    container.start()
    return container


def from_matching(service_config, container, event_type, data, schema_version=1):
    """Publish one of matching's events and wait until registration handled it."""
    with entrypoint_waiter(container, f"handle_{event_type}"):
        publish(
            service_config["AMQP_URI"],
            "matching.events",
            event_type,
            envelope(
                data,
                event_type=event_type,
                source="matching",
                schema_version=schema_version,
                occurred_at=iso(clock.now()),
            ),
        )


def test_a_year_after_their_group_closed_or_they_were_found_unroutable_people_are_erased(
    registration, service_config, mongo, db_prefix
):
    with rpc_as(GATEWAY, service_config) as services:
        member, proposed, alone = (services.registration.register(intake(), PUBLIC)["registration_id"] for _ in "abc")
    tap = Tap(service_config["AMQP_URI"], "registration")
    for rid in (member, proposed):
        waitlisted = {"registration_id": rid, "contact_point_id": "link-bergen", "route_kind": "contact_point"}
        from_matching(
            service_config, registration, "registration_waitlisted", {**waitlisted, "reason": "serves Bergen"}
        )
    group = {"contact_point_id": "link-bergen", "meeting_place_id": "mp-1", "starter_id": "acc-1"}
    confirmed = {**group, "group_id": "grp-1", "registration_ids": [member], "handover_planned_on": None}
    from_matching(
        service_config,
        registration,
        "group_confirmed",
        {**confirmed, "first_meeting_at": iso(clock.now() + timedelta(days=7))},
        schema_version=2,
    )
    for group_id, rid, reason in (("grp-1", member, "completed"), ("grp-p", proposed, "superseded")):
        closed = {"contact_point_id": "link-bergen", "group_id": group_id, "registration_ids": [rid], "reason": reason}
        from_matching(service_config, registration, "group_closed", closed, schema_version=2)
    from_matching(service_config, registration, "registration_unroutable", {"registration_id": alone, "reason": "x"})
    stored = mongo[f"{db_prefix}registration"].registrations
    assert {rid: stored.find_one({"_id": rid})["retention_reason"] for rid in (member, proposed, alone)} == {
        member: "group_closed",
        proposed: None,
        alone: "unroutable",
    }

    with entrypoint_hook(registration, "erase_after_retention") as sweep:
        assert sweep() == 0  # not yet
        with clock.use(clock.FixedClock(clock.now() + timedelta(days=366))):
            assert sweep() == 2
            assert sweep() == 0
    erased = tap.wait_for("registration_erased", count=2)
    assert sorted(e["data"]["registration_id"] for e in erased) == sorted([member, alone])
    assert {e["data"]["reason"] for e in erased} == {"retention"}
    assert stored.find_one({"_id": proposed})["status"] == "waiting"
    tap.close()
