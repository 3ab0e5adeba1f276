"""The directory on the real broker and store: revisions, events, reads and the national picture."""

import pytest
from nameko.testing.services import entrypoint_hook

from services.common.store import pending_events
from services.directory.example import example_payloads
from services.directory.service import DirectoryService
from tests.bus import Tap
from tests.waiting import wait_until


@pytest.fixture
def directory(container_factory, service_config):
    container = container_factory(DirectoryService, service_config)
    container.start()
    tap = Tap(service_config["AMQP_URI"], "directory")

    def call(method, *args):
        with entrypoint_hook(container, method) as hook:
            return hook(*args)

    yield call, tap
    tap.close()


#: The seed script's actor as @rpc hands it on once verified (entrypoint_hook calls the method itself).
OPS = {"role": "ops", "issuer": "ops"}


def example(contact_point_id):
    return next(p for p in example_payloads() if p["contact_point_id"] == contact_point_id)


def test_upserts_are_stored_with_revisions_and_announced_once_per_change(directory, mongo, db_prefix):
    call, tap = directory
    call("upsert_contact_point", example("link-bergen"), OPS)
    call("upsert_contact_point", example("link-bergen"), OPS)  # same payload: no revision, no event
    call("upsert_contact_point", example("stangehjelpa"), OPS)  # a marker: everything before it is out
    tap.wait_for("contact_point_upserted", count=2)
    assert [(e["data"]["contact_point_id"], e["data"]["revision"]) for e in tap.events("contact_point_upserted")] == [
        ("link-bergen", 1),
        ("stangehjelpa", 1),
    ]

    gone = call("deactivate_contact_point", "link-bergen", OPS)
    assert (gone["active"], gone["revision"]) == (False, 2)
    deactivated = tap.wait_for("contact_point_deactivated")[0]
    assert deactivated["data"] == {"contact_point_id": "link-bergen", "revision": 2}

    stored = mongo[f"{db_prefix}directory"].contact_points.find_one({"_id": "link-bergen"})
    assert (stored["revision"], stored["active"], stored["staff"][0]["first_name"]) == (2, False, "Kristin")
    wait_until(
        lambda: pending_events(mongo[f"{db_prefix}directory"]) == [],
        what="every published outbox entry marked by the relay",
    )


def test_reads_routing_and_coverage_from_the_store(directory):
    call, _ = directory
    for payload in example_payloads():
        call("upsert_contact_point", payload, OPS)
    horten = call("get_contact_point", "horten-selvhjelp")
    assert horten["meeting_places"][0]["name"] == "Horten bibliotek, grupperommet"
    assert horten["staff"][0]["role"] == "coordinator" and horten["email"] == "horten-selvhjelp@example.org"
    assert [c["contact_point_id"] for c in call("list_contact_points", None, "34")] == ["stangehjelpa"]
    route = call("route", "3403", {"not_in_own_municipality": False, "digital_ok": False})
    assert [c["contact_point_id"] for c in route] == ["stangehjelpa", "national-office"]
    national = call("coverage")["national"]
    assert (national["covered_municipalities"], national["population_share"]) == (13, 0.3347)
    assert call("coverage_map_svg").count("data-municipality=") == 357
    assert len(call("hsds_export")["tables"]["service"]) == len(example_payloads())
