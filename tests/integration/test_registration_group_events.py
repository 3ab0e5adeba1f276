"""A group's event in registration on the real store (issue 19): one read of the group's people and
one write per distinct change, not a read and a write per person, in the event's transaction."""

from datetime import timedelta

import pymongo
import pytest

from services.common import clock
from services.common.actors import Actor
from services.common.envelope import iso
from services.directory.service import DirectoryService
from services.registration.service import RegistrationService
from tests.actors import GATEWAY, rpc_as
from tests.integration.test_registration_retention import from_matching
from tests.integration.test_store_records import Statements
from tests.samples import intake

PUBLIC = Actor(role="public")


@pytest.fixture
def registration(container_factory, service_config, monkeypatch):
    statements = Statements()
    monkeypatch.setattr(
        "services.common.store.MongoClient",
        lambda *args, **kwargs: pymongo.MongoClient(*args, event_listeners=[statements], **kwargs),
    )
    container_factory(DirectoryService, service_config).start()
    container = container_factory(RegistrationService, {**service_config, "FLOKK_LOOKUP_KEY": "integration-lookup"})
    container.start()
    return container, statements


def test_a_group_of_five_confirmed_costs_one_read_one_write_the_record_and_the_commit(
    registration, service_config, mongo, db_prefix
):
    container, statements = registration
    with rpc_as(GATEWAY, service_config) as services:
        members = [services.registration.register(intake(), PUBLIC)["registration_id"] for _ in range(5)]
    statements.seen.clear()

    confirmed = {
        "contact_point_id": "link-bergen",
        "meeting_place_id": "mp-1",
        "starter_id": "acc-1",
        "group_id": "grp-5",
        "registration_ids": members,
        "handover_planned_on": None,
        "first_meeting_at": iso(clock.now() + timedelta(days=7)),
    }
    from_matching(service_config, container, "group_confirmed", confirmed, schema_version=2)

    stored = mongo[f"{db_prefix}registration"].registrations.find({"_id": {"$in": members}})
    assert {(r["status"], r["group_id"], r["contact_point_id"]) for r in stored} == {
        ("in_group", "grp-5", "link-bergen")
    }
    assert [name for name, _ in statements.seen] == ["find", "update", "insert", "commitTransaction"]
    assert [target for _, target in statements.seen[:3]] == ["registrations", "registrations", "applied_events"]
