"""A broker user per service (issue 17, item 2) on the real broker: the users and rights of
services/common/topology.py, made as scripts/infra.sh makes them (`broker_users.apply`), on this
test's own vhost. One service's user cannot consume another's queue, publish on another's
exchange, or publish through the default exchange; all five services run as their own users and a
registration goes through them, its poison twin to registration's dead letters."""

import json

import pytest
from amqp.exceptions import AccessRefused  # type: ignore[import-untyped]
from kombu import Connection, Exchange
from nameko.testing.utils import find_free_port

from services.common import broker_users, topology
from services.common.actors import SELF
from services.common.config import with_credentials
from services.common.runner import completed
from services.directory.example import example_payloads
from services.directory.service import DirectoryService
from services.gateway.service import GatewayService
from services.matching.service import MatchingService
from services.notification.service import NotificationService
from services.registration.service import RegistrationService
from tests.actors import OPS, rpc_as
from tests.bus import Tap, dead_letters
from tests.integration.test_notification_delivery import start_process
from tests.samples import envelope, intake

SERVICES = (DirectoryService, RegistrationService, MatchingService, NotificationService, GatewayService)


@pytest.fixture
def users(request, rabbit_config, service_config):
    """`uri(name)`: this vhost's AMQP_URI as Flokk's broker user `name`; the users go at the end."""
    api = broker_users.ManagementApi(request.config.getoption("RABBIT_API_URI"))
    vhost, prefix = rabbit_config["vhost"], f"{rabbit_config['vhost']}-"
    credentials = broker_users.apply(api, vhost, {}, prefix)

    def uri(name):
        return with_credentials(rabbit_config["AMQP_URI"], prefix + name, credentials[prefix + name])

    yield uri
    for user in credentials:
        api.call("DELETE", f"/api/users/{broker_users.quoted(user)}")


def refused(uri, act):
    """The broker's answer to `act(channel)` for that user: None, or the AccessRefused text."""
    with Connection(uri) as connection:
        channel = connection.channel()
        try:
            act(channel)
            return None
        except AccessRefused as exc:
            return str(exc)


def publish(channel, exchange, routing_key, body=b"{}"):
    channel.basic_publish(channel.prepare_message(body), exchange=exchange, routing_key=routing_key)
    channel.basic_qos(0, 1, False)  # a round trip: the broker has judged the publish by its answer


def test_a_service_cannot_consume_anothers_queue_publish_on_anothers_exchange_or_through_the_default(users):
    registration = users("registration")
    matchings_queue = topology.queue_name("matching", "registration", "registration_created")
    assert "ACCESS_REFUSED" in refused(registration, lambda ch: ch.basic_get(matchings_queue))
    assert "ACCESS_REFUSED" in refused(registration, lambda ch: ch.basic_get("notification.dead"))
    assert "ACCESS_REFUSED" in refused(registration, lambda ch: publish(ch, "matching.events", "group_confirmed"))
    assert "ACCESS_REFUSED" in refused(registration, lambda ch: publish(ch, "notification.retry", ""))
    own_queue = topology.queue_name("registration", "intake", "registration_requested")
    assert "amq.default" in refused(registration, lambda ch: publish(ch, "", own_queue))  # not even to its own
    assert "ACCESS_REFUSED" in refused(registration, lambda ch: ch.queue_bind(own_queue, "nameko-rpc", "#"))
    assert "ACCESS_REFUSED" in refused(registration, lambda ch: ch.exchange_delete("nameko-rpc"))
    # ... while what is its own works
    assert refused(registration, lambda ch: ch.basic_get(own_queue)) is None
    assert refused(registration, lambda ch: publish(ch, "registration.events", "registration_created")) is None
    assert "ACCESS_REFUSED" in refused(registration, lambda ch: publish(ch, "registration.events", "group_confirmed"))


def test_outside_systems_publish_only_intakes_and_never_read_others_intakes(users):
    integration = users("integration")
    assert refused(integration, lambda ch: publish(ch, "intake.events", "registration_requested")) is None
    assert "ACCESS_REFUSED" in refused(
        integration, lambda ch: publish(ch, "registration.events", "registration_erased")
    )

    def own_queue_bound_to(exchange, key):
        def act(channel):
            channel.queue_declare("integration.crm", durable=True, auto_delete=False)
            channel.queue_bind("integration.crm", exchange, key)

        return act

    assert refused(integration, own_queue_bound_to("matching.events", "#")) is None
    assert "ACCESS_REFUSED" in refused(integration, own_queue_bound_to("intake.events", "#"))


def test_the_five_services_run_as_their_own_users_and_a_registration_goes_through(
    users, service_config, container_factory, tmp_path
):
    smtp_port = find_free_port()
    smtp = start_process("smtp_sink.py", smtp_port, "--maildir", tmp_path / "mail")
    base = {**service_config, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_port}
    base["WEB_SERVER_ADDRESS"] = f"127.0.0.1:{find_free_port()}"
    tap = Tap(service_config["AMQP_URI"], "registration", "matching", "notification")
    try:
        for cls in SERVICES:  # as flokk-run starts them: config completed with the service's own user
            own = completed({**base, "AMQP_URI": users(cls.name)}, {"FLOKK_MODE": "test"})
            assert own["AMQP_URI"].startswith(f"amqp://{service_config['vhost']}-{cls.name}:")
            container_factory(cls, own).start()
        with rpc_as(OPS, {"AMQP_URI": users("ops")}) as tools:
            bergen = next(cp for cp in example_payloads() if cp["contact_point_id"] == "link-bergen")
            tools.directory.upsert_contact_point(bergen, SELF)
        intake_system = users("integration")
        with Connection(intake_system) as connection:
            producer = connection.Producer()
            intake_exchange = Exchange("intake.events", type="topic", durable=True, passive=True)
            for body in (envelope(intake(postal_code="5003")), {"not": "an envelope"}):
                producer.publish(
                    json.dumps(body),
                    exchange=intake_exchange,
                    routing_key="registration_requested",
                    content_type="application/json",
                    content_encoding="utf-8",
                    delivery_mode=2,
                )
        sent = tap.wait_for("notification_sent", timeout=30)[0]["data"]
        assert sent["template"] == "receipt"
        [(headers, _)] = dead_letters(service_config["AMQP_URI"], "registration")  # through registration.dead
        assert "x-flokk-reason" in headers
    finally:
        tap.close()
        smtp.terminate()
