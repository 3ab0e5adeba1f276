"""`handle_event`: nameko's event entrypoint, made so that no event is lost.

- The body is validated against the envelope and the event's schema before a worker runs; a body
  that fails (or cannot even be decoded) goes to `<service>.dead` with the reason in
  `x-flokk-reason` and the original exchange and routing key, and the service keeps running.
- A handler that raises is retried with backoff through the delay queues of `topology`; after
  `FLOKK_MAX_ATTEMPTS` attempts (or at once for a `PermanentError`) the event is dead-lettered.
- The message is acked only after its handler succeeded, or after its retry copy or dead letter
  is confirmed by the broker: at least once, never lost. Handlers make it exactly-once in effect
  through the ledger of `store.Storage.apply`.
"""

import json
import logging
import time
from dataclasses import dataclass
from functools import partial

import eventlet
from nameko.messaging import Consumer

from .amqp import BrokerPublisher, FailoverQueueConsumer, connect
from .config import MAX_ATTEMPTS_KEY, service_broker
from .contracts import SUBSCRIPTIONS
from .envelope import ContractViolation, parse
from .logs import safe_exception_text
from .metrics import METRICS
from .settings import for_container
from .topology import (
    RETRY_DELAYS_MS,
    RETRY_TARGET_HEADER,
    dead_letter_exchange,
    declare_for,
    delay_exchange,
    queue_name,
    subscription_queue,
)

log = logging.getLogger(__name__)

REASON_HEADER = "x-flokk-reason"
ATTEMPT_HEADER = "x-flokk-attempt"
TARGET_HEADER = RETRY_TARGET_HEADER  # no x- prefix: headers exchanges ignore x- keys when matching


class PermanentError(Exception):
    """Raised by a handler when retrying cannot help: the event is dead-lettered at once."""


@dataclass(frozen=True)
class InvalidEvent:
    """Handed to handlers declared with `accept_invalid=True` (to tell the sender why)."""

    body: object
    reason: str
    errors: dict


class SafeQueueConsumer(FailoverQueueConsumer):
    """nameko's QueueConsumer (failing over between nodes), except that an undecodable body is
    dead-lettered, not fatal."""

    def start(self):
        """Consume events only once the RPC queue consumer (which holds the RPC reply queue,
        `services.common.rpc`) is consuming: otherwise the first handler to make an RPC right after
        a restart can have its reply published to a reply queue not yet bound, and wait for it forever."""
        rpc_consumer = self.container.shared_extensions.get(FailoverQueueConsumer)
        if rpc_consumer is not None and rpc_consumer is not self:
            with eventlet.Timeout(60, False):
                rpc_consumer._consumers_ready.wait()
        super().start()

    def get_consumers(self, consumer_cls, channel):
        consumers = list(super().get_consumers(consumer_cls, channel))
        for provider, consumer in self._consumers.items():
            consumer.on_decode_error = partial(self._undecodable, provider)
        return consumers

    def _undecodable(self, provider, message, exc):
        provider.dead_letter(message, f"body cannot be decoded: {type(exc).__name__}")
        self.ack_message(message)


class EventSubscriber(Consumer):
    queue_consumer = SafeQueueConsumer()

    def __init__(self, source, event_type, accept_invalid=False, **kwargs):
        self.source = source
        self.event_type = event_type
        self.accept_invalid = accept_invalid
        super().__init__(queue=None, **kwargs)
        self._received_at = {}  # id(message) -> monotonic time of receipt, for handler_seconds

    def setup(self):
        service = self.container.service_name
        if (self.source, self.event_type) not in SUBSCRIPTIONS.get(service, ()):
            raise RuntimeError(
                f"{service} handles {self.event_type} from {self.source}, but contracts.SUBSCRIPTIONS "
                "does not list it: add it there so the queue is declared before events flow"
            )
        settings = for_container(self.container)
        self.queue_name = queue_name(service, self.source, self.event_type)
        amqp_uri, ssl = service_broker(settings)
        self.publisher = BrokerPublisher(amqp_uri, ssl)
        self.max_attempts = settings.as_int(MAX_ATTEMPTS_KEY)
        self.dead_letters = dead_letter_exchange(service)
        self.delays = delay_exchange(service)
        self.queue = subscription_queue(service, self.source, self.event_type, passive_exchange=True)
        with connect(amqp_uri, ssl) as broker:
            declare_for(broker.default_channel, service)
        super().setup()

    # --- receiving -----------------------------------------------------------------------------

    def handle_message(self, body, message):
        self._received_at[id(message)] = time.monotonic()
        try:
            event = parse(body, self.source, self.event_type)
        except ContractViolation as violation:
            METRICS.count("events_invalid", self.event_type)
            if not self.accept_invalid:
                self.dead_letter(message, _reason(violation))
                self.queue_consumer.ack_message(message)
                self._received_at.pop(id(message), None)
                return
            event = InvalidEvent(body=body, reason=_reason(violation), errors=violation.errors)
        super().handle_message(event, message)

    def handle_result(self, message, worker_ctx, result=None, exc_info=None):
        event = worker_ctx.args[0]
        if exc_info is None:
            if isinstance(event, InvalidEvent):
                self.dead_letter(message, event.reason)
            else:
                METRICS.count("events_handled", self.event_type)
        else:
            self._after_failure(message, exc_info)
        self.queue_consumer.ack_message(message)
        received_at = self._received_at.pop(id(message), None)
        if received_at is not None:
            METRICS.observe("handler_seconds", self.event_type, time.monotonic() - received_at)
        return result, exc_info

    def _after_failure(self, message, exc_info):
        exc_type, exc, _ = exc_info
        attempt = int((message.headers or {}).get(ATTEMPT_HEADER, 0)) + 1
        failure = safe_exception_text(exc)[:200]  # the reason header and the log name no values
        METRICS.count("events_failed", self.event_type)
        if issubclass(exc_type, PermanentError) or attempt >= self.max_attempts:
            self.dead_letter(message, f"handler failed after {attempt} attempt(s): {failure}")
            return
        delay_ms = RETRY_DELAYS_MS[min(attempt - 1, len(RETRY_DELAYS_MS) - 1)]
        METRICS.count("events_retried", self.event_type)
        log.warning(
            "handler failed, retrying",
            extra={"event_type": self.event_type, "attempt": attempt, "error": exc_type.__name__},
        )
        self.publisher.publish(
            message.body,
            exchange=self.delays.name,
            routing_key=str(delay_ms),
            headers={**(message.headers or {}), ATTEMPT_HEADER: attempt, TARGET_HEADER: self.queue_name},
            content_type=message.content_type,
            content_encoding=message.content_encoding,
        )

    def dead_letter(self, message, reason):
        METRICS.count("events_dead_lettered", self.event_type)
        delivery = message.delivery_info or {}
        log.warning("event dead-lettered", extra={"event_type": self.event_type, "reason": reason[:300]})
        self.publisher.publish(
            message.body,
            exchange=self.dead_letters.name,
            routing_key="",
            headers={
                **(message.headers or {}),
                REASON_HEADER: reason[:1000],
                "x-flokk-original-exchange": delivery.get("exchange", ""),
                "x-flokk-original-routing-key": delivery.get("routing_key", ""),
                "x-flokk-original-queue": self.queue_name,
            },
            content_type=message.content_type or "application/octet-stream",
            content_encoding=message.content_encoding or "binary",
        )


def _reason(violation):
    if not violation.errors:
        return violation.reason
    return f"{violation.reason}: {json.dumps(violation.errors, sort_keys=True)[:800]}"


handle_event = EventSubscriber.decorator
