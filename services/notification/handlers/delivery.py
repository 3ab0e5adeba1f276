"""Sending one message once: claim it, render it, try its channels in order, settle the outcome.

A message is 'sent', 'failed' (and reported), 'held' (SMS in quiet hours), 'retrying' (its channel
failed for now: the timer tries the same channel again on the schedule of `domain.retry_time`),
'gone' (the person is erased), or whatever the delivery log already says. The other channel is
tried only after a permanent failure, or once the retries ran out. While one worker sends, the
message is claimed ('sending' until a lease runs out), so no other worker sends it too.
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.common.envelope import Event

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
#: What the timer owns: a record in one of these states carries its `attempts`.
WAITING = ("held", "retrying")

Route = tuple[str, str]


class DeliveryPostponed(Exception):
    """Some message is being sent by another worker: the shared delivery retries the handler."""


def _being_sent() -> DeliveryFailure:
    return DeliveryFailure("email", "being sent by another worker", transient=True)


@dataclass
class EventLedger:
    """The event that caused a message, with its change: when the message is settled, the event's
    ledger entry and change are written in the settle transaction, one transaction per event
    instead of two (issue 19). `applied` tells the handler it has nothing left to write."""

    event: Event
    change: Callable[[UnitOfWork], object]
    applied: bool = False

    def settle_with(self, ports: Ports, settle_change: Callable[[UnitOfWork], None]) -> None:
        def both(uow: UnitOfWork) -> bool:
            self.change(uow)
            settle_change(uow)
            return True

        if ports.store.apply(self.event, both) is None:  # applied before: the outcome alone
            ports.store.transaction(settle_change)
        self.applied = True


def deliver_all(ports: Ports, messages: Iterable[Message], ledger: EventLedger | None = None) -> None:
    """Deliver each message; if another worker was sending one of them, raise after the others.
    `ledger`: the event of a single message, written with its outcome if it is settled now."""
    postponed = []
    for message in messages:
        try:
            deliver(ports, message, ledger=ledger)
        except DeliveryFailure as failure:
            postponed.append(failure)
    if postponed:
        raise DeliveryPostponed("; ".join(sorted({str(f) for f in postponed}))[:250])


def deliver(ports: Ports, message: Message, due: bool = False, ledger: EventLedger | None = None) -> str:
    """Send one message once and say what became of it. `due`: the timer found it waiting and due
    (an event's handler leaves a waiting message to the timer). Raises DeliveryFailure only while
    another worker is sending it."""
    nid = message.notification_id
    now = ports.clock.now()
    # An event's new message (the usual case) is claimed at once, with one write and no read.
    if not due and ports.store.claim_new(nid, now + CLAIM_LEASE):
        try:
            status = _deliver(ports, message, now, None, due, claimed=True, ledger=ledger)
        except BaseException:
            ports.store.unclaim(nid)  # nothing sent: the event's retry claims it afresh
            raise
        if status == "gone":
            ports.store.unclaim(nid)
        return status
    existing = ports.store.delivery(nid)
    if existing is not None:
        if existing["status"] in ("sent", "failed") or (_waiting(existing) and not due):
            return str(existing["status"])
        if existing["status"] == "sending" and existing["lease_until"] >= now:
            raise _being_sent()
    state = existing if existing is not None and _waiting(existing) else None  # else: a dead event claim
    return _deliver(ports, message, now, state, due, ledger=ledger)


def _deliver(
    ports: Ports,
    message: Message,
    now: datetime,
    state: Record | None,
    due: bool,
    claimed: bool = False,
    ledger: EventLedger | None = None,
) -> str:
    """Compose, claim (unless `claimed` already: a new message) and send."""
    nid = message.notification_id
    addressee = addressee_of(ports, message)
    if addressee is None:
        log.info("recipient gone, no message", extra={"notification_id": nid})
        if state is not None:
            ports.store.drop_unsent(nid, now)
        return "gone"
    routes = domain.channel_order(addressee)
    if not routes:
        channel = addressee.get("preferred_channel") or "email"
        return settle(ports, message, "failed", channel, None, reason="no address for any channel", ledger=ledger)
    try:
        rendered = templates.render_message(
            message.template, addressee.get("language"), context_of(ports, message, addressee)
        )
    except DeliveryFailure as failure:
        return settle(ports, message, "failed", routes[0][0], routes[0][1], reason=failure.reason, ledger=ledger)
    if not claimed and not ports.store.claim(nid, now, now + CLAIM_LEASE, claimable=WAITING if due else ()):
        raise _being_sent()
    try:
        return _send_first_that_works(ports, message, _continuing(routes, state), rendered, now, state, ledger)
    except BaseException:
        if not claimed:  # (a new message's claim is given back by `deliver`)
            ports.store.unclaim(nid, state["status"] if state else None)
        raise


def _waiting(record: Record) -> bool:
    """Held or retrying, or a claim on such a message: the timer's, with its attempts so far."""
    return "attempts" in record


def _continuing(routes: list[Route], state: Record | None) -> list[Route]:
    """A waiting message goes on with the channel it waits for: the ones before it failed for good
    (or ran out of retries). From the start if that channel has no address any more."""
    channels = [channel for channel, _ in routes]
    if state is None or state.get("channel") not in channels:
        return routes
    return routes[channels.index(state["channel"]) :]


def _send_first_that_works(
    ports: Ports,
    message: Message,
    routes: list[Route],
    rendered: templates.Rendered,
    now: datetime,
    state: Record | None,
    ledger: EventLedger | None = None,
) -> str:
    """Try the routes in order: the next one only after a permanent failure, or once the retries
    of a failure for now ran out (24 hours after the first attempt)."""
    attempts = (state or {}).get("attempts", 0) + 1
    first_attempt_at = (state or {}).get("first_attempt_at") or now
    failures: list[DeliveryFailure] = []
    for channel, address in routes:
        if channel == "sms" and domain.in_quiet_hours(now):
            tried = bool(failures)  # a hold is no attempt unless a channel failed before it
            return _wait(
                ports,
                message,
                "held",
                channel,
                address,
                release_at=domain.end_of_quiet_hours(now),
                attempts=attempts if tried else attempts - 1,
                first_attempt_at=first_attempt_at if tried else (state or {}).get("first_attempt_at"),
            )
        try:
            _send(ports, channel, address, rendered, message.notification_id)
        except DeliveryFailure as failure:
            log.warning(
                "channel failed",
                extra={"notification_id": message.notification_id, "reason": failure.reason, "attempt": attempts},
            )
            failures.append(failure)
            retry_at = domain.next_retry(attempts, first_attempt_at, now) if failure.transient else None
            if retry_at is not None:
                return _wait(
                    ports,
                    message,
                    "retrying",
                    channel,
                    address,
                    retry_at=retry_at,
                    attempts=attempts,
                    first_attempt_at=first_attempt_at,
                    reason=failure.reason,
                )
            continue
        return settle(ports, message, "sent", channel, address, ledger=ledger)
    expired = any(f.transient for f in failures)
    return settle(
        ports,
        message,
        "failed",
        failures[0].channel,
        routes[0][1],
        reason=("retried for 24 hours; " if expired else "") + "; ".join(f"{f.channel}: {f.reason}" for f in failures),
        failure=domain.EXPIRED if expired else domain.PERMANENT,
        ledger=ledger,
    )


def retry_after_error(ports: Ports, message: Message, record: Record, error: Exception) -> str:
    """A due message whose attempt failed before any channel could say why (registration or the
    directory did not answer, say): it waits for the next time of the schedule, like a channel's
    failure for now, and gives up when none is left."""
    now = ports.clock.now()
    attempts = record.get("attempts", 0) + 1
    first_attempt_at = record.get("first_attempt_at") or now
    retry_at = domain.next_retry(attempts, first_attempt_at, now)
    reason = f"{type(error).__name__} before sending"
    channel = record.get("channel") or "email"
    if retry_at is None:
        return settle(
            ports, message, "failed", channel, None, reason=f"retried for 24 hours; {reason}", failure=domain.EXPIRED
        )
    waiting = {**record, "status": "retrying", "retry_at": retry_at, "attempts": attempts, "reason": reason}
    ports.store.wait({**waiting, "first_attempt_at": first_attempt_at, "at": now})
    return "retrying"


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


def _wait(ports: Ports, message: Message, status: str, channel: str, address: str, **state: Any) -> str:
    """Leave the message to the timer: the record of this attempt is also its schedule, one write."""
    ports.store.wait(_record(message, status, channel, address, ports.clock.now(), **state))
    return status


def settle(
    ports: Ports,
    message: Message,
    status: str,
    channel: str,
    address: str | None,
    reason: str | None = None,
    failure: str = domain.PERMANENT,
    ledger: EventLedger | None = None,
) -> str:
    """Record the outcome (sent or failed) and emit its event in one transaction, once. A failed
    message stays in the log (and in the next staff digest); `failure` says whether every channel
    refused it ("permanent") or its retries ran out ("expired"). With `ledger`, the causing event's
    ledger entry and change go in the same transaction."""
    failed = status == "failed"
    extra = (
        {
            "reason": reason,
            "failure": failure,
            "digested_on": None if message.template != domain.STAFF_DIGEST else "never",
        }
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
                uow.emit("notification_failed", {**data, "reason": (reason or "")[:300], "failure": failure})
            else:
                uow.emit("notification_sent", data)

    if ledger is not None:
        ledger.settle_with(ports, change)
    else:
        ports.store.transaction(change)
    return status
