"""Test helpers on the real broker: publish like another system, and tap exchanges."""

import json
import uuid

from kombu import Connection, Exchange, Queue

from services.common.topology import dead_letter_queue
from tests.waiting import wait_until


def publish(amqp_uri, exchange, routing_key, body, content_type="application/json"):
    with Connection(amqp_uri) as connection:
        producer = connection.Producer()
        ex = Exchange(exchange, type="topic", durable=True)
        payload = body if isinstance(body, (bytes, str)) else json.dumps(body)
        producer.publish(
            payload,
            exchange=ex,
            routing_key=routing_key,
            declare=[ex],
            content_type=content_type,
            content_encoding="utf-8",
            delivery_mode=2,
        )


class Tap:
    """An exclusive queue bound to `<source>.events` with '#', collecting every event."""

    def __init__(self, amqp_uri, *sources):
        self.connection = Connection(amqp_uri)
        self.channel = self.connection.channel()
        self.queue = Queue(f"tap-{uuid.uuid4().hex[:8]}", exclusive=True, auto_delete=True, channel=self.channel)
        self.queue.declare()
        for source in sources:
            exchange = Exchange(f"{source}.events", type="topic", durable=True, channel=self.channel)
            exchange.declare()
            self.queue.bind_to(exchange, routing_key="#")
        self.seen = []  # (exchange, routing key, raw body, parsed body)

    def drain(self):
        while True:
            message = self.queue.get(no_ack=True)
            if message is None:
                return self.seen
            body = message.body
            self.seen.append(
                (message.delivery_info["exchange"], message.delivery_info["routing_key"], body, json.loads(body))
            )

    def events(self, event_type=None):
        self.drain()
        return [parsed for _, key, _, parsed in self.seen if event_type in (None, key)]

    def wait_for(self, event_type, count=1, timeout=15):
        return wait_until(
            lambda: (lambda found: found if len(found) >= count else None)(self.events(event_type)),
            timeout=timeout,
            what=f"{count} x {event_type}",
        )

    def close(self):
        self.connection.release()


def dead_letters(amqp_uri, service):
    """Every message in `<service>.dead`, consumed: (headers, raw body)."""
    found = []
    with Connection(amqp_uri) as connection:
        queue = Queue(
            f"{service}.dead",
            durable=True,
            channel=connection.channel(),
            queue_arguments=dead_letter_queue(service).queue_arguments,
        )
        while True:
            message = queue.get(no_ack=True)
            if message is None:
                return found
            found.append((message.headers, message.body))
