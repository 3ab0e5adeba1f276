"""The broker topology, derived from the contracts and declared before any event can flow.

nameko drops an event published before a consumer queue is bound (topic exchange, not mandatory),
so `python -m services.common.topology` declares every exchange and queue up front; each service
declares its own again on start, which is idempotent.

- `<source>.events`: durable topic exchange per emitting service (and `intake.events`).
- `<service>.<source>.<event_type>`: durable queue per subscription.
- `<service>.retry.<ms>`: delay queues; a message waits there, then dead-letters through the
  headers exchange `flokk.retry` straight back to the queue named in its `flokk-retry-queue` header (RabbitMQ
  ignores `x-` keys when a headers exchange matches).
- `<service>.dead`: the dead-letter queue, reason in `x-flokk-reason`; messages expire after 7 days
  (they may hold contact details from an intake).
- `rpc-<service>`: nameko's RPC request queue, declared here with the same arguments that
  `services.common.rpc.rpc` declares it with.

Every long-lived queue is a **quorum queue** (replicated on a RabbitMQ cluster, so a node lost takes
no queue with it); the delay queues dead-letter at least once. The services' RPC reply queues
(`rpc.reply-<service>-…`, one per process, expiring 5 minutes after it) are quorum queues too
(`services.common.rpc`); only the reply queues of nameko's standalone proxy, which the scripts use
for a few seconds, stay classic. RabbitMQ refuses to re-declare a queue with other arguments, so
`main` first migrates a classic queue left by an older version (its messages are moved, not dropped).
"""

import logging
import sys
import time

from amqp.exceptions import NotFound, PreconditionFailed  # type: ignore[import-untyped]
from kombu import Exchange, Queue

from .amqp import connect
from .contracts import EVENTS, SERVICES, SUBSCRIPTIONS

log = logging.getLogger(__name__)

RETRY_EXCHANGE = Exchange("flokk.retry", type="headers", durable=True)
RETRY_DELAYS_MS = (500, 2_000, 8_000, 30_000)
DEAD_LETTER_TTL_MS = 7 * 24 * 3600 * 1000
RPC_EXCHANGE = Exchange("nameko-rpc", type="topic", durable=True)
#: Every long-lived queue's type. Quorum queues are durable, never exclusive or auto-deleted.
QUORUM = {"x-queue-type": "quorum"}
#: Dead-lettering out of a quorum queue that cannot lose a message on the way (RabbitMQ 3.10+).
AT_LEAST_ONCE = {"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}


def events_exchange(source):
    return Exchange(f"{source}.events", type="topic", durable=True)


def queue_name(service, source, event_type):
    return f"{service}.{source}.{event_type}"


def subscription_queue(service, source, event_type):
    name = queue_name(service, source, event_type)
    return Queue(
        name,
        exchange=events_exchange(source),
        routing_key=event_type,
        durable=True,
        bindings=None,
        queue_arguments=QUORUM,
    )


def retry_binding_queue(service, source, event_type):
    """The same queue, seen from the retry exchange (a second binding on a headers exchange)."""
    name = queue_name(service, source, event_type)
    return Queue(
        name,
        exchange=RETRY_EXCHANGE,
        durable=True,
        binding_arguments={"x-match": "all", "flokk-retry-queue": name},
        queue_arguments=QUORUM,
    )


def retry_queue(service, delay_ms):
    return Queue(
        f"{service}.retry.{delay_ms}",
        durable=True,
        queue_arguments={
            **QUORUM,
            **AT_LEAST_ONCE,
            "x-message-ttl": delay_ms,
            "x-dead-letter-exchange": RETRY_EXCHANGE.name,
        },
    )


def dead_letter_queue(service):
    return Queue(f"{service}.dead", durable=True, queue_arguments={**QUORUM, "x-message-ttl": DEAD_LETTER_TTL_MS})


def rpc_queue(service, exchange=RPC_EXCHANGE):
    """nameko's `rpc-<service>` request queue, as a quorum queue."""
    return Queue(f"rpc-{service}", exchange=exchange, routing_key=f"{service}.*", durable=True, queue_arguments=QUORUM)


def service_entities(service):
    """Everything one service needs declared, in an order that declares exchanges first."""
    entities = [RETRY_EXCHANGE, RPC_EXCHANGE, rpc_queue(service), dead_letter_queue(service)]
    entities += [retry_queue(service, delay) for delay in RETRY_DELAYS_MS]
    for source, event_type in SUBSCRIPTIONS.get(service, ()):
        entities.append(events_exchange(source))
        entities.append(subscription_queue(service, source, event_type))
        entities.append(retry_binding_queue(service, source, event_type))
    return entities


def all_entities():
    sources = sorted({source for source, _ in EVENTS})
    entities = [events_exchange(source) for source in sources]
    for service in SERVICES:
        entities += service_entities(service)
    return entities


def declare(channel, entities):
    for entity in entities:
        entity(channel).declare()  # a bound clone: the module-level entities are shared


def migrate_to_quorum(connection, queue):
    """Re-create a queue that exists with other arguments (a classic queue of an older version)
    with the arguments it has now, moving its messages through a temporary quorum queue."""
    holding = Queue(f"{queue.name}.migrating", durable=True, queue_arguments=QUORUM)
    holding(connection.channel()).declare()
    moved = _move(connection, queue.name, holding.name)
    connection.channel().queue_delete(queue.name)
    queue(connection.channel()).declare()
    _move(connection, holding.name, queue.name)
    connection.channel().queue_delete(holding.name)
    log.warning("queue migrated to its current arguments", extra={"reason": f"{queue.name}: {moved} moved"})
    return moved


def _move(connection, source, target):
    """Every message of `source` to `target`, each acked only after the broker confirmed it."""
    channel = connection.channel()
    channel.confirm_select()
    moved = 0
    while (message := channel.basic_get(source, no_ack=False)) is not None:
        channel.basic_publish(message, exchange="", routing_key=target)
        channel.basic_ack(message.delivery_tag)
        moved += 1
    return moved


def declare_migrating(connection, entities):
    """`declare`, except that a queue refused for its arguments is migrated (see module doc)."""
    for entity in entities:
        try:
            entity(connection.channel()).declare()
        except PreconditionFailed:
            if not isinstance(entity, Queue):
                raise
            migrate_to_quorum(connection, entity)


def main(amqp_uri, ssl=None):
    with connect(amqp_uri, ssl) as connection:
        declare_migrating(connection, all_entities())
    print(f"topology declared: {len(all_entities())} exchanges and queues")


def missing(amqp_uri, ssl=None):
    """Names of the queues of the topology that do not exist yet (passive declares only)."""
    absent = []
    with connect(amqp_uri, ssl, connect_timeout=5) as connection:
        for entity in all_entities():
            if not isinstance(entity, Queue):
                continue
            try:
                connection.channel().queue_declare(entity.name, passive=True)
            except NotFound:
                absent.append(entity.name)
    return absent


def check(amqp_uri, deadline_seconds=300.0, poll_seconds=2.0, ssl=None):
    """Wait until the whole topology exists (a Deployment's init container: the `flokk-topology`
    Job declares it). Returns 0 when it does, 1 when the deadline passed first."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        try:
            absent = missing(amqp_uri, ssl)
            if not absent:
                print("topology present")
                return 0
            reason = f"{len(absent)} queues missing, e.g. {absent[0]}"
        except OSError as exc:  # the broker is not up yet
            reason = f"broker unreachable: {type(exc).__name__}"
        if time.monotonic() >= deadline:
            print(f"topology not present after {deadline_seconds:g}s: {reason}", file=sys.stderr)
            return 1
        time.sleep(poll_seconds)


if __name__ == "__main__":
    import argparse

    from .config import amqp_ssl_from_env, amqp_uri_from_env

    parser = argparse.ArgumentParser(description="Declare (or with --check, wait for) the broker topology.")
    parser.add_argument("amqp_uri", nargs="?", default=None)
    parser.add_argument("--check", action="store_true", help="declare nothing; wait until the topology exists")
    parser.add_argument("--deadline", type=float, default=300.0, help="seconds --check waits (default 300)")
    args = parser.parse_args()
    uri = args.amqp_uri or amqp_uri_from_env()
    ssl = amqp_ssl_from_env()
    sys.exit(check(uri, args.deadline, ssl=ssl) if args.check else main(uri, ssl))
