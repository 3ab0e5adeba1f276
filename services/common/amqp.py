"""The broker: every node AMQP_URI names, and confirmed, persistent publishing.

AMQP_URI names one RabbitMQ node, or several separated by `;` (a cluster reached without one
load-balanced name). kombu takes such a list as failover alternates: a connection that cannot be
made, or that breaks, moves on to the next node, round after round. nameko hands AMQP_URI to kombu
as it is, so its consumers, its publishers (RPC requests and replies) and its RPC proxies fail over
too. What a cluster needs beyond that (docs/operations.md, "A RabbitMQ cluster"): `until_taken`
publishes again, after a pause, what the broker refuses while a quorum queue elects a new leader;
`FailoverQueueConsumer` survives an ack on a connection that just broke, and keeps the nodes'
passwords out of the line logged on each connection attempt.

Each publish waits for the broker's confirm, so a message we then delete from the outbox (or whose
original we then ack) is known to be on the broker.
"""

import logging
import time
from urllib.parse import unquote, urlsplit

from amqp.exceptions import AMQPError, MessageNacked  # type: ignore[import-untyped]
from kombu import Connection
from kombu.exceptions import OperationalError
from kombu.pools import connections, producers
from nameko.messaging import QueueConsumer

log = logging.getLogger(__name__)

PERSISTENT = 2
RETRY_POLICY = {"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 2}
#: What a publish or an ack raises when the broker is gone or the channel died with it.
BROKER_GONE = (OSError, OperationalError, AMQPError)
NODE_SEPARATOR = ";"
SCHEMES = {"amqp": 5672, "amqps": 5671}
#: How long a publish the broker refuses (nacks) is tried again: a quorum queue whose leader was
#: on a node just lost refuses messages until its other members have elected one (about a second).
NACK_PATIENCE_SECONDS = 15.0


class BrokerUriError(ValueError):
    """AMQP_URI cannot be used. The message names the node by its place and says why; it never
    repeats the value, which holds a password."""


def broker_nodes(amqp_uri):
    """The URL of each node AMQP_URI names, in order; a BrokerUriError for the first that is wrong."""
    nodes = amqp_uri.split(NODE_SEPARATOR)
    vhosts = set()
    for place, node in enumerate(nodes, 1):
        where = f"AMQP_URI: node {place} of {len(nodes)}" if len(nodes) > 1 else "AMQP_URI"
        if not node.strip():
            raise BrokerUriError(f"{where} is empty: separate nodes with one ';' and end with none")
        if node != node.strip():
            raise BrokerUriError(f"{where} has spaces around it: separate nodes with ';' alone")
        parts = urlsplit(node)
        if parts.scheme not in SCHEMES:
            raise BrokerUriError(f"{where} must start with amqp:// or amqps://")
        try:
            parts.port  # noqa: B018 (urlsplit checks the port only when it is read)
        except ValueError:
            raise BrokerUriError(f"{where} has a port that is not a number from 0 to 65535") from None
        if not parts.hostname:
            raise BrokerUriError(f"{where} names no host")
        vhosts.add(unquote(parts.path[1:]) or "/")
    if len(vhosts) > 1:
        raise BrokerUriError("AMQP_URI: the nodes name different vhosts; the nodes of one cluster share theirs")
    return nodes


def node_addresses(amqp_uri):
    """`host:port` of every node, for a log line (no user, no password)."""
    addresses = []
    for node in amqp_uri.split(NODE_SEPARATOR):
        parts = urlsplit(node.strip())
        addresses.append(f"{parts.hostname}:{parts.port or SCHEMES.get(parts.scheme, 5672)}")
    return addresses


def connect(amqp_uri, ssl=None, **options):
    """A connection to the first node of AMQP_URI that answers (over TLS when `ssl` is given). Every
    node is tried in turn, twice round with kombu's 2 s pause between the rounds (one node: two
    tries, as kombu's own first connect makes). A node that cannot be reached raises what the
    socket raised (an OSError)."""
    nodes = broker_nodes(amqp_uri)
    connection = Connection(amqp_uri, ssl=ssl or False, **options)
    try:
        connection.ensure_connection(max_retries=2 * len(nodes) - 1, reraise_as_library_errors=False)
    except BaseException:
        connection.release()
        raise
    return connection


def refused_by_the_broker(exc):
    """The broker nacked the message (kombu raises that as an OperationalError from MessageNacked)."""
    return isinstance(exc, MessageNacked) or isinstance(getattr(exc, "__cause__", None), MessageNacked)


def until_taken(publish, patience=NACK_PATIENCE_SECONDS):
    """`publish()`, again after a pause each time the broker nacks it, for up to `patience`
    seconds; then, or on any other failure, it raises. kombu's own retry takes a nack for a lost
    connection and publishes again at once, on the next node: a quorum queue between leaders
    refuses all four tries within a fraction of a second (seen in the cluster fault run)."""
    give_up, pause = time.monotonic() + patience, 0.2
    while True:
        try:
            return publish()
        except Exception as exc:
            if not refused_by_the_broker(exc) or time.monotonic() + pause > give_up:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 2.0)


class FailoverQueueConsumer(QueueConsumer):
    """nameko's queue consumer, which reconnects through kombu node after node, with two changes:
    - nameko's log line for a failed attempt prints AMQP_URI with the password of every node but
      the first; this one names the nodes' addresses only;
    - an ack (or requeue) on a connection that broke a moment ago, before the consumer noticed,
      is dropped with a warning: the broker hands the message out again, which the handlers'
      ledgers make harmless. nameko catches only the AMQP-level error there, so the socket's
      ConnectionResetError escaped the worker and killed the whole service (notification, in the
      cluster fault run, when its node was SIGKILLed)."""

    def ack_message(self, message):
        self._unless_broker_gone(super().ack_message, message)

    def requeue_message(self, message):
        self._unless_broker_gone(super().requeue_message, message)

    @staticmethod
    def _unless_broker_gone(settle, message):
        try:
            settle(message)
        except BROKER_GONE as exc:
            log.warning("ack lost with the broker connection: redelivered later", extra={"error": type(exc).__name__})

    def on_connection_error(self, exc, interval):
        log.warning(
            "broker node unreachable, trying the next",
            extra={
                "error": type(exc).__name__,
                "reason": f"nodes {', '.join(node_addresses(self.amqp_uri))}; next try in {interval:g} s",
            },
        )


def connection(amqp_uri, ssl=None, **options):
    """A kombu connection to the broker (not yet connected), over TLS when `ssl` (config.amqp_tls)
    is given."""
    return Connection(amqp_uri, ssl=ssl or False, **options)


class BrokerPublisher:
    def __init__(self, amqp_uri, ssl=None):
        self.nodes = broker_nodes(amqp_uri)  # a wrong AMQP_URI stops the service's start, with why
        self.amqp_uri, self.ssl = amqp_uri, ssl
        self._pool_key = None

    def _connection(self):
        """The key of kombu's connection pool for this broker, made once (kombu's pools compare
        connections by their URI, so one made per publish found the same pool, after parsing it)."""
        if self._pool_key is None:
            self._pool_key = connection(self.amqp_uri, self.ssl, transport_options={"confirm_publish": True})
        return self._pool_key

    def publish(
        self,
        body,
        *,
        exchange,
        routing_key,
        headers=None,
        content_type="application/json",
        content_encoding="utf-8",
        declare=(),
    ):
        """Publish `body` (a JSON-ready object, or bytes sent as they are) and wait for the confirm.
        A connection that breaks moves to the next node and publishes again (RETRY_POLICY); a
        message the broker refuses for a moment is published again after a pause (`until_taken`)."""
        serializer = None if isinstance(body, (bytes, str)) else "json"

        def publish_once():
            with connections[self._connection()].acquire(block=True, timeout=10) as connection:
                with producers[connection].acquire(block=True, timeout=10) as producer:
                    producer.publish(
                        body,
                        exchange=exchange,
                        routing_key=routing_key,
                        headers=headers or {},
                        serializer=serializer,
                        content_type=None if serializer else content_type,
                        content_encoding=None if serializer else content_encoding,
                        delivery_mode=PERSISTENT,
                        declare=list(declare),
                        retry=True,
                        retry_policy=RETRY_POLICY,
                    )

        until_taken(publish_once)

    def ping(self):
        """The broker answers: on the node the pooled connection is on, or failing that the next."""
        with connections[self._connection()].acquire(block=True, timeout=5) as connection:
            connection.ensure_connection(max_retries=len(self.nodes), timeout=3)
            return True
