"""Events waiting in a queue when a service starts, whose handlers make an RPC at once: the reply
must find its reply queue (a service restarted under load did hang here before)."""

import time

import eventlet
from kombu import Connection, Exchange, Queue
from nameko.messaging import QueueConsumer
from nameko.rpc import ReplyListener, RpcProxy, rpc

from services.common import contracts, topology
from services.common.amqp import FailoverQueueConsumer
from services.common.delivery import handle_event
from services.common.rpc import TimedRpcProxy
from services.common.store import MongoStore, Storage
from tests.bus import dead_letters, publish
from tests.samples import envelope
from tests.waiting import wait_until


class EchoService:
    name = "echo"

    @rpc
    def echo(self, value):
        return value


class CallerService:
    name = "caller"
    store = MongoStore(Storage)
    echo = RpcProxy("echo")

    @handle_event("matching", "registration_unroutable")
    def handle_registration_unroutable(self, event):
        value = self.echo.echo(event.data["registration_id"])
        self.store.apply(event, lambda uow: uow.db.effects.insert_one({"value": value}, session=uow.session))


def queue_eight_events_and_start_echo(container_factory, service_config, service):
    """The echo service running, and eight events waiting in `service`'s queue before it starts."""
    container_factory(EchoService, service_config).start()
    with Connection(service_config["AMQP_URI"]) as connection:
        topology.declare(connection.default_channel, topology.service_entities(service))
    for n in range(8):
        publish(
            service_config["AMQP_URI"],
            "matching.events",
            "registration_unroutable",
            envelope(
                {"registration_id": f"r{n}", "reason": "none"}, event_type="registration_unroutable", source="matching"
            ),
        )


def test_events_queued_before_start_are_handled_with_their_rpc_replies(
    container_factory, service_config, monkeypatch, mongo, db_prefix
):
    monkeypatch.setitem(contracts.SUBSCRIPTIONS, "caller", [("matching", "registration_unroutable")])
    queue_eight_events_and_start_echo(container_factory, service_config, "caller")
    container_factory(CallerService, service_config).start()
    effects = mongo[f"{db_prefix}caller"].effects
    wait_until(lambda: effects.count_documents({}) == 8, timeout=30, what="all eight handled")
    assert sorted(d["value"] for d in effects.find()) == [f"r{n}" for n in range(8)]


class TimedCallerService(CallerService):
    name = "timedcaller"
    echo = TimedRpcProxy("echo")


def test_event_consumers_wait_for_a_slow_reply_queue(container_factory, service_config, monkeypatch, mongo, db_prefix):
    """The race above made certain: the RPC queue consumer (the one that declares the RPC reply
    queue, `FailoverQueueConsumer` in services.common.rpc) takes two seconds to set up its
    consumers. Events waiting in the queue must not be taken before it is ready, or their handlers'
    replies are dropped, unroutable (before the RPC deadline that was a hang; with it, a 20 s
    timeout and a retry, too late for this test)."""
    monkeypatch.setitem(contracts.SUBSCRIPTIONS, "timedcaller", [("matching", "registration_unroutable")])
    queue_eight_events_and_start_echo(container_factory, service_config, "timedcaller")
    original = QueueConsumer.get_consumers

    def slow_for_the_rpc_one(consumer, consumer_cls, channel):
        if type(consumer) is FailoverQueueConsumer:  # not the event consumer (a subclass)
            eventlet.sleep(2)
        return original(consumer, consumer_cls, channel)

    monkeypatch.setattr(QueueConsumer, "get_consumers", slow_for_the_rpc_one)
    started = time.monotonic()
    container_factory(TimedCallerService, {**service_config, "FLOKK_RPC_TIMEOUT": 20}).start()
    effects = mongo[f"{db_prefix}timedcaller"].effects
    wait_until(lambda: effects.count_documents({}) == 8, timeout=10, what="all eight handled, none timed out")
    assert time.monotonic() - started >= 2  # the slow start did happen
    assert sorted(d["value"] for d in effects.find()) == [f"r{n}" for n in range(8)]


class GhostCallerService:
    name = "ghostcaller"
    ghost = TimedRpcProxy("ghost")

    @handle_event("matching", "registration_unroutable")
    def handle_registration_unroutable(self, event):
        self.ghost.anything(event.data["registration_id"])


def test_an_rpc_reply_that_never_comes_is_a_retried_failure_not_a_hang(container_factory, service_config, monkeypatch):
    """A request nobody answers (a queue that takes it and never replies): the handler gets an
    RpcTimeout, is retried, and the event ends in the dead-letter queue with that reason."""
    monkeypatch.setitem(contracts.SUBSCRIPTIONS, "ghostcaller", [("matching", "registration_unroutable")])
    with Connection(service_config["AMQP_URI"]) as connection:
        silent = Queue(
            "ghost-listens-never-answers",
            exchange=Exchange("nameko-rpc", type="topic", durable=True),
            routing_key="ghost.*",
            channel=connection.default_channel,
        )
        silent.declare()
    container = container_factory(GhostCallerService, {**service_config, "FLOKK_RPC_TIMEOUT": 0.5})
    container.start()
    publish(
        service_config["AMQP_URI"],
        "matching.events",
        "registration_unroutable",
        envelope({"registration_id": "r1", "reason": "none"}, event_type="registration_unroutable", source="matching"),
    )
    headers, _ = wait_until(
        lambda: dead_letters(service_config["AMQP_URI"], "ghostcaller"), timeout=30, what="the dead letter"
    )[0]
    assert "after 3 attempt(s): RpcTimeout: no reply from ghost.anything within 0.5s" in headers["x-flokk-reason"]
    [listener] = [e for e in container.extensions if isinstance(e, ReplyListener)]
    assert listener._reply_events == {}  # the three calls that timed out left nothing waiting
