"""Sending one message once: claim it, render it, try its channels in order, settle the outcome.

A message is 'sent', 'held' (SMS in quiet hours), 'failed' (permanently, and reported), 'gone'
(the person is erased), or whatever the delivery log already says. While one worker sends, the
message is claimed ('sending' until a lease runs out), so no other worker sends it too.
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from .. import domain, templates
from ..domain import Message
from ..ports import DeliveryFailure, Ports, Record, UnitOfWork
from .composing import addressee_of, context_of

log = logging.getLogger(__name__)

#: How long a claimed message stays claimed. Longer than one send can take (the SMTP and SMS
#: clients time out after 10 s), and shorter than the shared delivery's whole retry window
#: (0.5 + 2 + 8 + 30 s), so the retries of an event whose worker was killed mid-send outlive the
#: dead worker's claim instead of dead-lettering the event.
CLAIM_LEASE = timedelta(seconds=30)

Route = tuple[str, str]


class DeliveryPostponed(Exception):
    """Some message failed transiently: the shared delivery retries the handler with backoff."""


def _being_sent() -> DeliveryFailure:
    return DeliveryFailure("email", "being sent by another worker", transient=True)


def deliver_all(ports: Ports, messages: Iterable[Message]) -> None:
    """Deliver each message; if any failed transiently, raise after trying all the others."""
    postponed = []
    for message in messages:
        try:
            deliver(ports, message)
        except DeliveryFailure as failure:
            postponed.append(failure)
    if postponed:
        raise DeliveryPostponed("; ".join(sorted({str(f) for f in postponed}))[:250])


def deliver(ports: Ports, message: Message, releasing: bool = False) -> str:
    """Send one message once and say what became of it. Raises DeliveryFailure when every channel
    failed and at least one of them only for now. `releasing`: a held SMS, due now."""
    nid = message.notification_id
    existing = ports.store.delivery(nid)
    if existing is not None and existing["status"] == "sending":
        if existing["lease_until"] >= ports.clock.now():
            raise _being_sent()
        existing = None  # an attempt that crashed mid-send: take it over
    if existing is not None and (existing["status"] in ("sent", "failed") or not releasing):
        return str(existing["status"])
    addressee = addressee_of(ports, message)
    if addressee is None:
        log.info("recipient gone, no message", extra={"template": message.template})
        if releasing:
            ports.store.drop_held(nid)
        return "gone"
    routes = domain.channel_order(addressee)
    if not routes:
        channel = addressee.get("preferred_channel") or "email"
        return settle(ports, message, "failed", channel, None, reason="no address for any channel")
    try:
        rendered = templates.render_message(
            message.template, addressee.get("language"), context_of(ports, message, addressee)
        )
    except DeliveryFailure as failure:
        return settle(ports, message, "failed", routes[0][0], routes[0][1], reason=failure.reason)
    now = ports.clock.now()
    previous = existing["status"] if existing else None
    if not ports.store.claim(nid, now, now + CLAIM_LEASE, claimable=("held",) if releasing else ()):
        raise _being_sent()
    try:
        return _send_first_that_works(ports, message, routes, rendered, now, existing)
    except BaseException:
        ports.store.unclaim(nid, previous)
        raise


def _send_first_that_works(
    ports: Ports,
    message: Message,
    routes: list[Route],
    rendered: templates.Rendered,
    now: datetime,
    existing: Record | None,
) -> str:
    failures = []
    for channel, address in routes:
        if channel == "sms" and domain.in_quiet_hours(now):
            _hold(ports, message, address, domain.end_of_quiet_hours(now), existing)
            return "held"
        try:
            _send(ports, channel, address, rendered, message.notification_id)
        except DeliveryFailure as failure:
            log.warning(
                "channel failed",
                extra={
                    "template": message.template,
                    "channel": channel,
                    "reason": failure.reason,
                    "transient": failure.transient,
                },
            )
            failures.append(failure)
            continue
        return settle(ports, message, "sent", channel, address)
    transient = [f for f in failures if f.transient]
    if transient:
        raise transient[0]
    return settle(
        ports,
        message,
        "failed",
        failures[0].channel,
        routes[0][1],
        reason="; ".join(f"{f.channel}: {f.reason}" for f in failures),
    )


def _send(ports: Ports, channel: str, address: str, rendered: templates.Rendered, nid: str) -> None:
    if channel == "email":
        ports.mailer.send(address, rendered, domain.message_id(nid))
    else:
        ports.sms.send(address, rendered.text, nid)


def _record(message: Message, status: str, channel: str, address: str | None, now: datetime, **extra: Any) -> Record:
    return {
        "_id": message.notification_id,
        "status": status,
        **message.as_record(),
        "channel": channel,
        "address": domain.masked(channel, address) if address else None,
        "at": now,
        **extra,
    }


def _hold(ports: Ports, message: Message, address: str, release_at: datetime, existing: Record | None) -> None:
    attempts = (existing or {}).get("attempts", 0)
    ports.store.hold(
        _record(message, "held", "sms", address, ports.clock.now(), release_at=release_at, attempts=attempts)
    )


def settle(
    ports: Ports, message: Message, status: str, channel: str, address: str | None, reason: str | None = None
) -> str:
    """Record the outcome (sent or failed) and emit its event in one transaction, once."""
    failed = status == "failed"
    extra = (
        {"reason": reason, "digested_on": None if message.template != domain.STAFF_DIGEST else "never"}
        if failed
        else {}
    )
    record = _record(message, status, channel, address, ports.clock.now(), **extra)
    data = {
        "notification_id": message.notification_id,
        "recipient": message.recipient,
        "registration_id": message.registration_id if message.recipient["kind"] == "participant" else None,
        "template": message.template,
        "channel": channel,
        "cause_event_id": message.cause_event_id,
    }

    def change(uow: UnitOfWork) -> None:
        if ports.store.settle(uow, record):
            if failed:
                uow.emit("notification_failed", {**data, "reason": (reason or "")[:300]})
            else:
                uow.emit("notification_sent", data)

    ports.store.transaction(change)
    return status
