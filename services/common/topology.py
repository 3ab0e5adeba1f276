"""The broker topology, derived from the contracts and declared before any event can flow, and the
broker permissions that follow from it (`PERMISSIONS`): each service's user may configure and read
only its own queues, and write only to the exchanges it publishes to.

nameko drops an event published before a consumer queue is bound (topic exchange, not mandatory),
so `python -m services.common.topology` declares every exchange and queue up front; each service
declares its own again on start, which is idempotent. A service checks the exchanges of others
(`<source>.events`, nameko's `nameko-rpc`) passively: it may not configure them.

- `<source>.events`: durable topic exchange per emitting service (and `intake.events`).
- `<service>.<source>.<event_type>`: durable queue per subscription.
- `<service>.delay` (direct) and `<service>.retry.<ms>`: a failed event's copy is published to the
  service's own delay exchange with the delay as routing key; it waits in the delay queue, then
  dead-letters through the service's own headers exchange `<service>.retry`, straight back to the
  queue named in its `flokk-retry-queue` header (RabbitMQ ignores `x-` keys when a headers
  exchange matches). No service publishes through the default exchange or another's exchanges.
- `<service>.dead` (fanout exchange and queue): the dead letters, reason in `x-flokk-reason`;
  messages expire after 7 days (they may hold contact details from an intake).
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
from dataclasses import dataclass

from amqp.exceptions import NotFound, PreconditionFailed  # type: ignore[import-untyped]
from kombu import Exchange, Queue

from .amqp import connect
from .contracts import EVENTS, SERVICES, SUBSCRIPTIONS

log = logging.getLogger(__name__)

RETRY_DELAYS_MS = (500, 2_000, 8_000, 30_000)
DEAD_LETTER_TTL_MS = 7 * 24 * 3600 * 1000
RPC_EXCHANGE_NAME = "nameko-rpc"
RPC_EXCHANGE = Exchange(RPC_EXCHANGE_NAME, type="topic", durable=True)
#: nameko's exchange as a service sees it: checked, never declared (it is not the service's own).
RPC_EXCHANGE_CHECKED = Exchange(RPC_EXCHANGE_NAME, type="topic", durable=True, passive=True)
#: Every long-lived queue's type. Quorum queues are durable, never exclusive or auto-deleted.
QUORUM = {"x-queue-type": "quorum"}
#: Dead-lettering out of a quorum queue that cannot lose a message on the way (RabbitMQ 3.10+).
AT_LEAST_ONCE = {"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}
#: The header that names the queue a retry (or a replayed dead letter) returns to.
RETRY_TARGET_HEADER = "flokk-retry-queue"


def events_exchange(source, passive=False):
    return Exchange(f"{source}.events", type="topic", durable=True, passive=passive)


def retry_exchange(service):
    """Where the service's delay queues dead-letter to; bound per subscription queue by header."""
    return Exchange(f"{service}.retry", type="headers", durable=True)


def delay_exchange(service):
    """Where the service publishes a failed event's copy, the delay (ms) as routing key."""
    return Exchange(f"{service}.delay", type="direct", durable=True)


def dead_letter_exchange(service):
    return Exchange(f"{service}.dead", type="fanout", durable=True)


def queue_name(service, source, event_type):
    return f"{service}.{source}.{event_type}"


def subscription_queue(service, source, event_type, passive_exchange=False):
    name = queue_name(service, source, event_type)
    return Queue(
        name,
        exchange=events_exchange(source, passive=passive_exchange),
        routing_key=event_type,
        durable=True,
        bindings=None,
        queue_arguments=QUORUM,
    )


def retry_binding_queue(service, source, event_type):
    """The same queue, seen from the service's retry exchange (a second binding, by header)."""
    name = queue_name(service, source, event_type)
    return Queue(
        name,
        exchange=retry_exchange(service),
        durable=True,
        binding_arguments={"x-match": "all", RETRY_TARGET_HEADER: name},
        queue_arguments=QUORUM,
    )


def retry_queue(service, delay_ms):
    return Queue(
        f"{service}.retry.{delay_ms}",
        exchange=delay_exchange(service),
        routing_key=str(delay_ms),
        durable=True,
        queue_arguments={
            **QUORUM,
            **AT_LEAST_ONCE,
            "x-message-ttl": delay_ms,
            "x-dead-letter-exchange": retry_exchange(service).name,
        },
    )


def dead_letter_queue(service):
    return Queue(
        f"{service}.dead",
        exchange=dead_letter_exchange(service),
        durable=True,
        queue_arguments={**QUORUM, "x-message-ttl": DEAD_LETTER_TTL_MS},
    )


def rpc_queue(service, exchange=RPC_EXCHANGE_CHECKED):
    """nameko's `rpc-<service>` request queue, as a quorum queue."""
    return Queue(f"rpc-{service}", exchange=exchange, routing_key=f"{service}.*", durable=True, queue_arguments=QUORUM)


def service_entities(service, as_service=False):
    """Everything one service needs declared, in an order that declares exchanges first. `as_service`:
    as the service itself declares them, the exchanges of others only checked (passive)."""
    entities = [retry_exchange(service), delay_exchange(service), dead_letter_exchange(service)]
    if not as_service:
        entities.append(RPC_EXCHANGE)
    entities += [rpc_queue(service), dead_letter_queue(service)]
    entities += [retry_queue(service, delay) for delay in RETRY_DELAYS_MS]
    for source, event_type in SUBSCRIPTIONS.get(service, ()):
        if not as_service:
            entities.append(events_exchange(source))
        entities.append(subscription_queue(service, source, event_type, passive_exchange=as_service))
        entities.append(retry_binding_queue(service, source, event_type))
    return entities


def all_entities():
    sources = sorted({source for source, _ in EVENTS})
    entities = [events_exchange(source) for source in sources]
    for service in SERVICES:
        entities += service_entities(service)
    return entities


# --- who may do what on the broker (docs/operations.md, "Broker users") ---------------------------

#: The services whose RPC each service calls (its RpcProxy dependencies; a unit test compares).
RPC_CALLS = {
    "registration": ("directory",),
    "matching": ("directory",),
    "notification": ("registration", "directory", "gateway"),
    "directory": ("matching",),
    "gateway": ("registration", "matching", "directory", "notification"),
}
#: nameko's reply routing keys: a uuid4 per reply queue.
REPLY_KEY = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
INTEGRATION, OPS, TOPOLOGY = "integration", "ops", "topology"


@dataclass(frozen=True)
class Permission:
    """A broker user's rights on the vhost: RabbitMQ's configure / write / read patterns, and the
    routing keys it may publish (`write`) or bind (`read`) per topic exchange."""

    configure: str
    write: str
    read: str
    topics: tuple[tuple[str, str, str], ...] = ()  # (exchange, write, read)


def _any_of(*patterns):
    return "^(" + "|".join(patterns) + ")$" if patterns else "^$"


def _literal(name):
    """A name as a pattern: Flokk's names are letters, digits, `-`, `_` and dots."""
    return name.replace(".", r"\.")


def _names(*names):
    return [_literal(name) for name in names]


def service_permission(service):
    own = [rf"{_literal(service)}\..+", _literal(f"rpc-{service}"), rf"rpc\.reply-{_literal(service)}-.+"]
    subscribed = sorted({source for source, _ in SUBSCRIPTIONS.get(service, ())})
    emitted = sorted(event_type for source, event_type in EVENTS if source == service)
    callees = RPC_CALLS[service]
    topics = [
        (
            RPC_EXCHANGE_NAME,
            _any_of(*(rf"{_literal(callee)}\.[a-z_]+" for callee in callees), REPLY_KEY),
            _any_of(rf"{_literal(service)}\.\*", REPLY_KEY),
        )
    ]
    if emitted:
        topics.append((f"{service}.events", _any_of(*_names(*emitted)), "^$"))
    for source in subscribed:
        types = sorted(t for s, t in SUBSCRIPTIONS[service] if s == source)
        topics.append((f"{source}.events", "^$", _any_of(*_names(*types))))
    return Permission(
        configure=_any_of(*own),
        write=_any_of(*own, _literal(RPC_EXCHANGE_NAME)),
        read=_any_of(*own, _literal(RPC_EXCHANGE_NAME), *_names(*(f"{s}.events" for s in subscribed))),
        topics=tuple(topics),
    )


def integration_permission():
    """Outside systems: their own queues `integration.*`, bound to the services' event exchanges
    (never to intake.events, which carries other systems' contact details); publishing only
    registration_requested to intake.events."""
    own = r"integration\..+"
    services_events = _names(*(f"{source}.events" for source in sorted({s for s, _ in EVENTS}) if source != "intake"))
    return Permission(
        configure=_any_of(own),
        write=_any_of(own, _literal("intake.events")),
        read=_any_of(own, *services_events),
        topics=(("intake.events", "^registration_requested$", "^$"),),
    )


def ops_permission():
    """The tools: RPC through their own reply queues (what they may do is the signed actor's
    business), the dead letters read (`flokk-dlq`) and replayed through each service's retry exchange."""
    replies = r"rpc\.reply-standalone_rpc_proxy-.+"
    return Permission(
        configure=_any_of(replies),
        write=_any_of(replies, _literal(RPC_EXCHANGE_NAME), r"[a-z]+\.retry"),
        read=_any_of(replies, _literal(RPC_EXCHANGE_NAME), r"[a-z]+\.dead"),
        topics=((RPC_EXCHANGE_NAME, _any_of(r"[a-z]+\.[a-z_]+", REPLY_KEY), _any_of(REPLY_KEY)),),
    )


def topology_permission():
    """The one-off job that declares (and migrates) the topology: the whole vhost, no tags."""
    return Permission(configure=".*", write=".*", read=".*")


def permissions():
    """Every broker user of Flokk and its rights (scripts/infra.sh and deploy/ apply them)."""
    users = {service: service_permission(service) for service in SERVICES}
    users[INTEGRATION] = integration_permission()
    users[OPS] = ops_permission()
    users[TOPOLOGY] = topology_permission()
    return users


def declare(channel, entities):
    for entity in entities:
        entity(channel).declare()  # a bound clone: the module-level entities are shared


def declare_for(channel, service):
    """What `service` declares itself on start, as its own broker user may."""
    declare(channel, service_entities(service, as_service=True))


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
