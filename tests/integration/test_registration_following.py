"""What following matching's events costs registration on the real store (issue 19): a group's event
reads the group's people once and writes each distinct change once, in the event's transaction; a
person's first routing is one conditional write, with the read only when the guess was wrong."""

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
ADMIN = Actor(role="national_admin", account_id="acc-0")


class Commands(Statements):
    """Every command on the `registrations` collection, in a transaction or not; and (as Statements)
    those sent inside a transaction."""

    def __init__(self):
        super().__init__()
        self.on_registrations = []

    def started(self, event):
        super().started(event)
        if event.command.get(event.command_name) == "registrations":
            self.on_registrations.append(event.command_name)


@pytest.fixture
def registration(container_factory, service_config, monkeypatch):
    statements = Commands()
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


def test_a_first_routing_is_one_write_a_redelivery_none_and_a_withdrawn_person_stays_withdrawn(
    registration, service_config, mongo, db_prefix
):
    container, commands = registration
    with rpc_as(GATEWAY, service_config) as services:
        first, gone = (services.registration.register(intake(), PUBLIC)["registration_id"] for _ in "ab")
        services.registration.withdraw(gone, ADMIN, "person")
    stored = mongo[f"{db_prefix}registration"].registrations

    def waitlisted(rid):
        data = {"registration_id": rid, "contact_point_id": "link-bergen", "route_kind": "contact_point"}
        commands.on_registrations.clear()
        from_matching(service_config, container, "registration_waitlisted", {**data, "reason": "serves Bergen"})
        return list(commands.on_registrations)

    assert waitlisted(first) == ["update"]  # just registered, as guessed: no read
    assert (stored.find_one({"_id": first})["status"], stored.find_one({"_id": first})["contact_point_id"]) == (
        "waiting",
        "link-bergen",
    )
    assert waitlisted(gone) == ["update", "find", "update"]  # the guess missed: read, then the rule's write
    assert stored.find_one({"_id": gone})["status"] == "withdrawn"
