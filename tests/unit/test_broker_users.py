"""A broker user per service (issue 17, item 2), without a broker: the rights that follow from the
topology, the deploy/ resources generated from them, and the broker address each process composes."""

import inspect
import re
import ssl
from pathlib import Path

import pytest

from services.common import broker_users, topology
from services.common.config import BrokerUserRefused, broker_config, check_broker_user, with_credentials
from services.common.contracts import EVENTS, SERVICES, SUBSCRIPTIONS
from services.common.rpc import RpcProxy
from services.common.runner import completed

ROOT = Path(__file__).resolve().parents[2]


def may(pattern, name):
    return re.fullmatch(pattern, name) is not None


def names_of(service):
    """Every queue and exchange of the topology that belongs to `service`."""
    entities = topology.service_entities(service)
    queues = {e.name for e in entities if hasattr(e, "queue_arguments")}
    exchanges = {e.name for e in entities if not hasattr(e, "queue_arguments")} - {topology.RPC_EXCHANGE_NAME}
    exchanges = {name for name in exchanges if name.startswith(f"{service}.")}
    if any(source == service for source, _ in EVENTS):
        exchanges.add(f"{service}.events")
    return queues, exchanges


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_may_configure_and_read_only_its_own_queues_and_write_only_where_it_publishes(service):
    rights = topology.permissions()[service]
    own_queues, own_exchanges = names_of(service)
    for queue in own_queues:
        assert may(rights.configure, queue) and may(rights.read, queue)
    for exchange in own_exchanges:
        assert may(rights.write, exchange)
    for other in SERVICES:
        if other == service:
            continue
        queues, exchanges = names_of(other)
        assert not [q for q in queues if may(rights.read, q) or may(rights.configure, q)], other
        assert not [x for x in exchanges if may(rights.write, x) or may(rights.configure, x)], other
    for shared in ("amq.default", "nameko-rpc", "intake.events", "flokk.retry"):
        assert not may(rights.configure, shared)
    assert not may(rights.write, "amq.default")  # nothing through the default exchange


def test_a_service_binds_only_the_events_it_subscribes_to_and_calls_only_whom_it_needs():
    registration = topology.permissions()["registration"]
    topics = {exchange: (write, read) for exchange, write, read in registration.topics}
    assert may(topics["intake.events"][1], "registration_requested")
    assert not may(topics["intake.events"][1], "#")
    assert may(topics["matching.events"][1], "group_confirmed") and not may(
        topics["matching.events"][1], "group_checkin_due"
    )
    assert may(topics["registration.events"][0], "registration_created")
    rpc_write, rpc_read = topics["nameko-rpc"]
    assert may(rpc_write, "directory.municipality_for_postal_code") and not may(rpc_write, "gateway.referrer_contact")
    assert may(rpc_read, "registration.*") and not may(rpc_read, "#") and not may(rpc_read, "matching.*")
    assert may(rpc_read, "8c0e0b0a-1d2f-4a3b-9c8d-7e6f5a4b3c2d")  # its reply queue, by its own uuid


def test_outside_systems_bind_to_the_services_events_and_publish_only_intake():
    integration = topology.permissions()["integration"]
    assert may(integration.read, "matching.events") and not may(integration.read, "intake.events")
    assert may(integration.write, "intake.events") and not may(integration.write, "registration.events")
    assert not may(integration.read, "registration.intake.registration_requested")
    assert integration.topics == (("intake.events", "^registration_requested$", "^$"),)


def test_the_tools_read_dead_letters_and_replay_them_through_each_services_retry_exchange():
    ops = topology.permissions()["ops"]
    assert may(ops.read, "notification.dead") and may(ops.write, "notification.retry")
    assert not may(ops.read, "notification.matching.group_confirmed") and not may(ops.write, "amq.default")


def test_the_rpc_calls_listed_are_those_the_services_make():
    import importlib

    for service in SERVICES:
        module = importlib.import_module(f"services.{service}.service")
        cls = next(c for _, c in inspect.getmembers(module, inspect.isclass) if getattr(c, "name", None) == service)
        proxies = {v.target_service for v in vars(cls).values() if isinstance(v, RpcProxy)}
        assert proxies == set(topology.RPC_CALLS[service]), service


def test_every_subscription_has_its_binding_right():
    for service, subscriptions in SUBSCRIPTIONS.items():
        topics = {exchange: read for exchange, _, read in topology.permissions()[service].topics}
        for source, event_type in subscriptions:
            assert may(topics[f"{source}.events"], event_type), (service, source, event_type)


def test_the_deploy_resources_are_generated_from_the_topology():
    path = ROOT / "deploy" / "base" / "broker-users.yaml"
    assert path.read_text() == broker_users.manifests(), (
        "deploy/base/broker-users.yaml is stale: python -m services.common.broker_users manifests > it"
    )


def test_each_process_puts_its_own_user_into_the_brokers_address():
    uri = "amqp://node-a:5672/flokk;amqp://node-b:5672/flokk"
    assert with_credentials(uri, "matching", "p@ss:/word") == (
        "amqp://matching:p%40ss%3A%2Fword@node-a:5672/flokk;amqp://matching:p%40ss%3A%2Fword@node-b:5672/flokk"
    )
    assert (
        with_credentials("amqp://guest:guest@127.0.0.1:5672/", "matching", "x") == "amqp://matching:x@127.0.0.1:5672/"
    )
    assert with_credentials(uri, None, None) == uri
    config = broker_config(
        {
            "AMQP_URI": "amqps://broker:5671/",
            "AMQP_USERNAME": "gateway",
            "AMQP_PASSWORD": "x",
            "FLOKK_AMQP_CA_FILE": "/etc/flokk/tls/ca.crt",
        }
    )
    assert config["AMQP_URI"] == "amqps://gateway:x@broker:5671/"
    assert config["AMQP_SSL"] == {"ca_certs": "/etc/flokk/tls/ca.crt", "cert_reqs": ssl.CERT_REQUIRED}


def test_guest_only_in_test_and_demo_and_only_on_loopback():
    check_broker_user("amqp://guest:guest@127.0.0.1:5672/", "test")
    check_broker_user("amqp://127.0.0.1:5672/", "demo")  # no user: kombu's guest
    with pytest.raises(BrokerUserRefused, match="FLOKK_MODE test and demo only"):
        check_broker_user("amqp://127.0.0.1:5672/", None)
    with pytest.raises(BrokerUserRefused, match="loopback only"):
        check_broker_user("amqp://guest:guest@broker.example:5672/", "demo")
    check_broker_user("amqp://matching:x@broker.example:5672/", None)


def test_the_runner_completes_nameko_config_before_any_service_starts():
    config = {"AMQP_URI": "amqp://flokk-rabbitmq:5672/", "max_workers": 10}
    environ = {"AMQP_USERNAME": "notification", "AMQP_PASSWORD": "secret"}
    assert completed(config, environ) == {
        "AMQP_URI": "amqp://notification:secret@flokk-rabbitmq:5672/",
        "max_workers": 10,
    }
    with pytest.raises(BrokerUserRefused):
        completed(config, {})  # production without a user of its own
