"""Confirmed, persistent publishing for the outbox, retries and dead letters.

Each publish waits for the broker's confirm, so a message we then delete from the outbox (or whose
original we then ack) is known to be on the broker.
"""

from kombu import Connection
from kombu.pools import connections, producers

PERSISTENT = 2
RETRY_POLICY = {"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 2}


class BrokerPublisher:
    def __init__(self, amqp_uri):
        self.amqp_uri = amqp_uri

    def _connection(self):
        return Connection(self.amqp_uri, transport_options={"confirm_publish": True})

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
        """Publish `body` (a JSON-ready object, or bytes sent as they are) and wait for the confirm."""
        serializer = None if isinstance(body, (bytes, str)) else "json"
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

    def ping(self):
        with connections[self._connection()].acquire(block=True, timeout=5) as connection:
            connection.ensure_connection(max_retries=1, timeout=3)
            return True
