"""Erasure end to end (docs/design.md §5, GDPR art. 17): the services as separate processes; after one
erasure, no database of any service holds a document keyed by or mentioning the registration id,
the person's e-mail, phone, name or free text (scanned as stored, every collection), and no
log line holds them, not even from refused intakes."""

import pytest
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from nameko.exceptions import RemoteError

from services.common.actors import SELF, Actor
from tests.actors import GATEWAY, OPS, rpc_as
from tests.bus import publish
from tests.samples import envelope, intake
from tests.waiting import wait_until

ADMIN = Actor(role="national_admin", account_id="acc-admin", purpose="erasure on request")
PUBLIC = Actor(role="public")
#: The accountability logs (design §5): who read whose contact details, and the gateway's audit
#: log. They keep the registration id, never a name or a contact detail, and are exempt from
#: erasure; their own TTL index removes them after two years.
ACCOUNTABILITY = {("registration", "contact_reads"), ("gateway", "audit")}


def traces_in_store(mongo, db_prefix, secrets):
    """(database, collection, secret) for every stored document whose raw bytes hold a secret."""
    raw = CodecOptions(document_class=RawBSONDocument)
    found = []
    for db_name in mongo.list_database_names():
        if not db_name.startswith(db_prefix):
            continue
        db = mongo[db_name]
        for collection in db.list_collection_names():
            for doc in db.get_collection(collection, codec_options=raw).find():
                found += [(db_name, collection, s) for s in secrets if s.encode() in doc.raw]
    return found


def traces_in_logs(log_dir, secrets):
    return [
        (path.name, s)
        for path in sorted(log_dir.glob("*.log"))
        for s in secrets
        if s in path.read_text(errors="replace")
    ]


def test_after_erasure_no_service_keeps_a_trace_of_the_person(stack, mongo, db_prefix):
    config, run_dir, tap, _ = stack
    data = intake(
        name="Erle Sletting",
        email="erle.sletting@example.no",
        phone="+4798700001",
        postal_code="5003",
        free_text="ingen skal vite",
    )
    with rpc_as(OPS, config, timeout=30, wall_clock=True) as ops:
        ops.directory.upsert_contact_point(
            {
                "contact_point_id": "link-bergen",
                "kind": "link_centre",
                "name": "LINK Bergen og omegn",
                "municipality_number": "4601",
                "municipalities": ["4601"],
            },
            SELF,
        )
    with rpc_as(GATEWAY, config, timeout=30, wall_clock=True) as cluster:
        # Refusals log too: an intake with an unknown postal code and an RPC with a bad field, same person.
        refused = intake(email=data["email"], phone=data["phone"], postal_code="0000")
        publish(config["AMQP_URI"], "intake.events", "registration_requested", envelope(refused))
        tap.wait_for("registration_rejected")
        with pytest.raises(RemoteError):
            cluster.registration.register(intake(email=data["email"], phone=data["phone"], themes=["x"]), PUBLIC)
        publish(config["AMQP_URI"], "intake.events", "registration_requested", envelope(data))
        sent = tap.wait_for("notification_sent", timeout=30)[0]["data"]
        rid = sent["registration_id"]

        personal = [data["email"], data["phone"], data["phone"][3:], data["name"], data["free_text"]]
        everything = [rid, *personal]
        before = traces_in_store(mongo, db_prefix, everything)
        assert {db for db, _, secret in before if secret == rid} >= {
            f"{db_prefix}registration",
            f"{db_prefix}matching",
            f"{db_prefix}notification",
        }  # the scan sees
        assert not [hit for hit in before if hit[2] in personal], "contact details stored in plain text"

        assert cluster.registration.erase(rid, ADMIN, "request") == {"registration_id": rid, "erased": True}

    assert tap.wait_for("registration_erased")[0]["data"] == {"registration_id": rid, "reason": "request"}
    left = []

    def nothing_left():
        found = traces_in_store(mongo, db_prefix, everything)
        left[:] = [hit for hit in found if (hit[0].removeprefix(db_prefix), hit[1]) not in ACCOUNTABILITY]
        return not left

    try:
        wait_until(nothing_left, timeout=20, what="every service to delete what it holds for the erased registration")
    except AssertionError:
        raise AssertionError(f"traces left after erasure: {left}") from None
    kept = traces_in_store(mongo, db_prefix, everything)
    assert {hit[2] for hit in kept} == {rid}  # notification's reads of the contact details, by id only
    assert traces_in_logs(run_dir / "logs", personal) == []
    assert len(list((run_dir / "logs").glob("*.log"))) >= 5
