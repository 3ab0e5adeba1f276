"""What the clock starts: messages that wait for their time (SMS held through quiet hours,
retries after a failure for now), reminders the day before a group's first meeting, and each
contact point's daily digest."""

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from .. import domain
from ..ports import DeliveryFailure, Ports, Record, UnitOfWork
from .delivery import deliver, deliver_all, retry_after_error

log = logging.getLogger(__name__)

#: How many due messages one round of a tick fetches, how many rounds a tick runs at most, and how
#: many it sends at once. After a ten-minute SMTP outage thousands are due together; sent one at a
#: time, 200 per tick, the last went out 19 minutes after the server was back (docs/operations.md).
DUE_BATCH = 200
DUE_ROUNDS = 5
DUE_AT_ONCE = 8


def send_due(ports: Ports) -> int:
    """Send what waited and is due: a held SMS from 08:00, a retry at its time, and a message whose
    sender died mid-send once its claim ran out. Returns how many went out. The claim on each
    message keeps two senders (here or in another worker) from sending it twice."""
    sent = 0
    with ThreadPoolExecutor(max_workers=DUE_AT_ONCE) as senders:  # green threads in a service
        for _ in range(DUE_ROUNDS):
            records = ports.store.due(ports.clock.now(), DUE_BATCH)
            sent += sum(senders.map(lambda record: _send_due_one(ports, record), records))
            if len(records) < DUE_BATCH:
                break
    return sent


def _send_due_one(ports: Ports, record: Record) -> bool:
    message = domain.Message.from_record(record)
    try:
        return deliver(ports, message, due=True) == "sent"
    except DeliveryFailure:
        return False  # another worker is sending it
    except Exception as error:
        log.warning("due message not sent", extra={"notification_id": record["_id"], "error": type(error).__name__})
        retry_after_error(ports, message, record, error)
        return False


def send_reminders(ports: Ports) -> None:
    """The day before a group's first meeting, remind every member once."""
    now = ports.clock.now()
    for group in ports.store.groups_awaiting_reminder():
        if group["first_meeting_at"] <= now:
            ports.store.mark_reminded(group["_id"])
        elif domain.reminder_due(group["first_meeting_at"], group["confirmed_at"], now):
            cause = domain.derived_cause("reminder", group["_id"])
            deliver_all(ports, domain.invitation_messages(cause, group, group["registration_ids"], domain.REMINDER))
            ports.store.mark_reminded(group["_id"])


def send_digests(ports: Ports) -> int:
    """Once a day from 08:00 Oslo time: to each contact point, how many people joined its pool,
    which messages could not be delivered (references only), and which groups' handovers were not
    recorded 14 days after the day planned (once each). Items after today's digest wait for
    tomorrow's."""
    day = domain.digest_day(ports.clock.now())
    if day is None:
        return 0
    sent = 0
    for contact_point_id, (new, failed, handovers) in sorted(_undigested_by_contact_point(ports, day).items()):
        message = domain.digest_message(contact_point_id, day, len(new), failed, handovers)
        if ports.store.delivery(message.notification_id) is not None:
            continue  # today's digest is out: these wait for tomorrow's
        try:
            sent += deliver(ports, message) == "sent"
        except DeliveryFailure:
            continue  # tried again on the next tick
        _mark_digested(ports, new, failed, handovers, day)
    return sent


Undigested = tuple[list[Record], list[Record], list[Record]]


def _undigested_by_contact_point(ports: Ports, day: date) -> dict[str, Undigested]:
    """{contact point id: (arrivals, failed messages, overdue handovers)} not yet in any digest; a
    failure that names no contact point goes to the national office."""
    arrivals, failures = ports.store.undigested()
    by_contact_point: dict[str, Undigested] = {}
    for arrival in arrivals:
        by_contact_point.setdefault(arrival["contact_point_id"], ([], [], []))[0].append(arrival)
    for failure in failures:
        contact_point_id = failure.get("contact_point_id") or ports.national_office_id
        by_contact_point.setdefault(contact_point_id, ([], [], []))[1].append(failure)
    for group in ports.store.overdue_handovers(domain.handover_overdue_cutoff(day)):
        by_contact_point.setdefault(group["contact_point_id"], ([], [], []))[2].append(group)
    return by_contact_point


def _mark_digested(ports: Ports, new: list[Record], failed: list[Record], handovers: list[Record], day: date) -> None:
    arrival_ids, failure_ids = [a["_id"] for a in new], [f["_id"] for f in failed]
    group_ids = [g["_id"] for g in handovers]

    def change(uow: UnitOfWork) -> None:
        ports.store.mark_digested(uow, arrival_ids, failure_ids, day.isoformat())
        if group_ids:
            ports.store.mark_handovers_reminded(uow, group_ids)

    ports.store.transaction(change)
