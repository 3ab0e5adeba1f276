"""An AMQP_URI that names several broker nodes (`;`): every part of a service fails over.

The test broker is one node, so each "node" here is a TCP relay in front of it, which the test can
take away as a node would go away: the relay stops listening and drops every connection through
it. What a real cluster adds (queues that live on the lost node) is proven by the fault run's
cluster scenario (`scripts/faults.py --cluster`); what this proves is the client side, for every
connection a service makes: nameko's queue consumers (events, RPC requests, RPC replies), the
publishers (RPC requests and replies, the outbox's confirmed publishes) and the topology's."""

import socket
from urllib.parse import urlsplit

import eventlet
import pytest
from kombu import Connection
from nameko.containers import ServiceContainer

from services.common import contracts, topology
from services.common.amqp import BrokerPublisher
from services.common.delivery import handle_event
from services.common.rpc import TimedRpcProxy, rpc
from services.common.store import MongoStore, Storage
from tests.bus import Tap, publish
from tests.samples import envelope, intake
from tests.waiting import wait_until


class Relay:
    """A broker node that can go away: a TCP relay on a port of its own to the test broker."""

    def __init__(self, broker_port):
        self.listener = eventlet.listen(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.broker = ("127.0.0.1", broker_port)
        self.sockets = []
        self.connections = 0  # accepted so far
        self._server = eventlet.spawn(self._serve)

    def _serve(self):
        while True:
            client, _ = self.listener.accept()
            upstream = eventlet.connect(self.broker)
            self.connections += 1
            self.sockets += [client, upstream]
            eventlet.spawn(self._pipe, client, upstream)
            eventlet.spawn(self._pipe, upstream, client)

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except (OSError, EOFError):  # EOFError: eventlet's, for a socket closed by the other pipe
            pass
        finally:
            for end in (source, sink):
                _drop(end)

    def stop_listening(self):
        self._server.kill()
        self.listener.close()

    def go_away(self):
        """No new connection is accepted, and every open one is dropped, both ways."""
        self.stop_listening()
        for end in self.sockets:
            _drop(end)


def _drop(end):
    try:
        end.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    end.close()


def node(uri, port):
    """`uri` (the test's vhost on the test broker) with the port of another node."""
    parts = urlsplit(uri)
    return parts._replace(netloc=f"{parts.username}:{parts.password}@127.0.0.1:{port}").geturl()


def port_nobody_listens_on():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Echo:
    name = "echo"

    @rpc
    def echo(self, value):
        return value


class Relayer:
    """Takes an event, makes an RPC, and emits an event through the outbox: every connection a
    service has. Named `matching` so that it may emit `registration_unroutable`."""

    name = "matching"
    store = MongoStore(Storage)
    echo = TimedRpcProxy("echo")

    @handle_event("intake", "registration_requested")
    def handle_registration_requested(self, event):
        answer = self.echo.echo(event.data["idempotency_key"])
        relayed = {"registration_id": answer, "reason": "relayed"}
        self.store.apply(event, lambda uow: uow.emit("registration_unroutable", relayed))


@pytest.fixture
def relays(service_config):
    """`relays(n)`: n relays to the test broker, and the AMQP_URI that names them as its nodes.
    Whatever was started on them is killed before they stop listening (a consumer whose every node
    is gone would try to reconnect for ever), so this fixture starts the services too: `start`."""
    made, containers = [], []
    broker_port = urlsplit(service_config["AMQP_URI"]).port

    def make(count):
        made.extend(Relay(broker_port) for _ in range(count))
        return made[-count:], ";".join(node(service_config["AMQP_URI"], relay.port) for relay in made[-count:])

    def start(service_cls, config):
        containers.append(ServiceContainer(service_cls, config))
        containers[-1].start()

    make.start = start
    yield make
    for container in containers:
        container.kill()
    for relay in made:
        relay.stop_listening()


@pytest.fixture
def relay_stack(relays, service_config, monkeypatch):
    """`start(amqp_uri)` starts echo and the relayer on that AMQP_URI and returns `send()`, which
    sends an intake (straight to the broker) and waits until it comes out relayed."""
    monkeypatch.setitem(contracts.SUBSCRIPTIONS, "matching", [("intake", "registration_requested")])
    tap = Tap(service_config["AMQP_URI"], "matching")

    def relayed():
        return {event["data"]["registration_id"] for event in tap.events("registration_unroutable")}

    def send():
        data = intake()
        publish(service_config["AMQP_URI"], "intake.events", "registration_requested", envelope(data))
        key = data["idempotency_key"]
        return wait_until(lambda: key in relayed(), timeout=40, what=f"intake {key} relayed")

    def start(amqp_uri):
        config = {**service_config, "AMQP_URI": amqp_uri, "FLOKK_RPC_TIMEOUT": 3}
        for service in (Echo, Relayer):
            relays.start(service, config)
        return send

    yield start
    tap.close()


def test_a_service_starts_on_the_next_node_when_the_first_does_not_answer(relay_stack, service_config):
    first_down = f"{node(service_config['AMQP_URI'], port_nobody_listens_on())};{service_config['AMQP_URI']}"
    topology.main(first_down)
    assert topology.missing(first_down) == []
    send = relay_stack(first_down)
    assert send()


def test_every_connection_of_a_service_moves_to_the_next_node_when_its_node_goes_away(
    relay_stack, relays, service_config, rabbit_manager
):
    (first, second), amqp_uri = relays(2)
    send = relay_stack(amqp_uri)
    assert send()
    assert first.connections > 0 and second.connections == 0  # all on the first node so far

    first.go_away()
    for _ in range(3):
        assert send()  # taken, answered, replied to and emitted: all through the second node now
    assert second.connections >= 3  # the event consumer, the RPC consumer and a publisher at least
    reply_queues = [
        q for q in rabbit_manager.get_queues(service_config["vhost"]) if q["name"].startswith("rpc.reply-matching")
    ]
    assert reply_queues and all(q["type"] == "quorum" for q in reply_queues)  # they outlive a lost node


def test_the_outbox_publisher_moves_to_the_next_node(relays, service_config):
    """The pooled, confirmed publisher on its own: its connection is on the first node, which goes
    away between two publishes; the second publish is confirmed by the next node."""
    (first, second), amqp_uri = relays(2)
    publisher = BrokerPublisher(amqp_uri)
    with Connection(service_config["AMQP_URI"]) as connection:
        queue = connection.SimpleQueue("failover-probe")
        publisher.publish({"n": 1}, exchange="", routing_key="failover-probe")
        first.go_away()
        publisher.publish({"n": 2}, exchange="", routing_key="failover-probe")
        assert publisher.ping()
        assert [queue.get(timeout=5).payload for _ in range(2)] == [{"n": 1}, {"n": 2}]
        queue.close()
    assert second.connections > 0
