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
"""

import sys

from kombu import Connection, Exchange, Queue

from .contracts import EVENTS, SUBSCRIPTIONS

RETRY_EXCHANGE = Exchange("flokk.retry", type="headers", durable=True)
RETRY_DELAYS_MS = (500, 2_000, 8_000, 30_000)
DEAD_LETTER_TTL_MS = 7 * 24 * 3600 * 1000


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
    )


def retry_binding_queue(service, source, event_type):
    """The same queue, seen from the retry exchange (a second binding on a headers exchange)."""
    name = queue_name(service, source, event_type)
    return Queue(
        name,
        exchange=RETRY_EXCHANGE,
        durable=True,
        binding_arguments={"x-match": "all", "flokk-retry-queue": name},
    )


def retry_queue(service, delay_ms):
    return Queue(
        f"{service}.retry.{delay_ms}",
        durable=True,
        queue_arguments={"x-message-ttl": delay_ms, "x-dead-letter-exchange": RETRY_EXCHANGE.name},
    )


def dead_letter_queue(service):
    return Queue(f"{service}.dead", durable=True, queue_arguments={"x-message-ttl": DEAD_LETTER_TTL_MS})


def service_entities(service):
    """Everything one service needs declared, in an order that declares exchanges first."""
    entities = [RETRY_EXCHANGE, dead_letter_queue(service)]
    entities += [retry_queue(service, delay) for delay in RETRY_DELAYS_MS]
    for source, event_type in SUBSCRIPTIONS.get(service, ()):
        entities.append(events_exchange(source))
        entities.append(subscription_queue(service, source, event_type))
        entities.append(retry_binding_queue(service, source, event_type))
    return entities


def all_entities():
    sources = sorted({source for source, _ in EVENTS})
    entities = [events_exchange(source) for source in sources]
    for service in SUBSCRIPTIONS:
        entities += service_entities(service)
    return entities


def declare(channel, entities):
    for entity in entities:
        entity(channel).declare()  # a bound clone: the module-level entities are shared


def main(amqp_uri):
    with Connection(amqp_uri) as connection:
        declare(connection.default_channel, all_entities())
    print(f"topology declared: {len(all_entities())} exchanges and queues")


if __name__ == "__main__":
    from .config import amqp_uri_from_env

    main(sys.argv[1] if len(sys.argv) > 1 else amqp_uri_from_env())
