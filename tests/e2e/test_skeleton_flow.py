"""The skeleton flow, end to end: the five services as separate `nameko run` processes, a plain
AMQP client as the intake system, a real SMTP server in a process of its own (the `stack` fixture,
tests/e2e/conftest.py)."""

import email
import email.policy

from services.common.actors import SELF
from tests.actors import OPS, rpc_as
from tests.bus import publish
from tests.samples import envelope, intake
from tests.waiting import wait_until


def test_one_registration_through_all_four_services(stack):
    config, run_dir, tap, _ = stack
    with rpc_as(OPS, config, timeout=30, wall_clock=True) as cluster:
        cluster.directory.upsert_contact_point(
            {
                "contact_point_id": "link-bergen",
                "kind": "link_centre",
                "name": "LINK Bergen og omegn",
                "municipality_number": "4601",
                "municipalities": ["4601"],
            },
            SELF,
        )
        assert {
            cluster.registration.health()["status"],
            cluster.matching.health()["status"],
            cluster.notification.health()["status"],
            cluster.directory.health()["status"],
        } == {"ok"}

    data = intake(name="Kari Nordmann", email="kari.e2e@example.no", phone="+4798765432", postal_code="5003")
    publish(config["AMQP_URI"], "intake.events", "registration_requested", envelope(data))

    mail_dir = run_dir / "mail"
    path = wait_until(lambda: sorted(mail_dir.glob("*.eml")), timeout=30, what="the receipt at the SMTP server")[0]
    mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert mail["To"] == data["email"]
    body = mail.get_body(preferencelist=("plain",)).get_content()  # plain text + HTML since issue 6
    assert "Kari" in body and "Flokk – selvhjelpsgrupper tar kontakt" in body  # its sender name: the default
    assert "LINK Bergen og omegn" not in body and mail["From"].addresses[0].display_name == "Flokk – selvhjelpsgrupper"
    assert "sorg" not in body.lower() and "grief" not in body.lower()

    sent = tap.wait_for("notification_sent", timeout=15)[0]["data"]
    created = tap.events("registration_created")[0]["data"]
    waitlisted = tap.events("registration_waitlisted")[0]["data"]
    assert sent["registration_id"] == created["registration_id"] == waitlisted["registration_id"]
    assert waitlisted["contact_point_id"] == "link-bergen"
    assert mail["Message-ID"] == f"<{sent['notification_id']}@flokk.no>"

    exchanges = {exchange for exchange, _, _, _ in tap.seen}
    assert {"registration.events", "matching.events", "notification.events", "directory.events"} <= exchanges
    raw = b"".join(body if isinstance(body, bytes) else body.encode() for _, _, body, _ in tap.seen)
    for secret in ("Kari", "Nordmann", data["email"], data["phone"], data["phone"][3:]):
        assert secret.encode() not in raw, f"{secret} travelled on the bus"


def test_the_gateway_reports_broker_and_store(stack):
    import json
    import urllib.request

    _, _, _, env = stack
    with urllib.request.urlopen(f"http://127.0.0.1:{env['GATEWAY_PORT']}/healthz", timeout=10) as response:
        report = json.loads(response.read())
    assert response.status == 200
    assert report == {"service": "gateway", "status": "ok", "store": "ok", "broker": "ok"}
