"""What each event means for notification: the messages it causes, and what it changes in the
store (pool arrivals for the digest, confirmed groups for late members and reminders)."""

from collections.abc import Callable, Iterable
from datetime import date

from services.common.envelope import Event

from .. import domain
from ..domain import Message
from ..ports import Ports, Record, UnitOfWork
from .delivery import DeliveryPostponed, EventLedger, deliver_all

#: (registration id, referral status) of the people whose referrer hears of an event.
Referral = tuple[str, str]


def on_waitlisted(ports: Ports, event: Event) -> None:
    registration_id, contact_point_id = event.data["registration_id"], event.data["contact_point_id"]
    _handle(
        ports,
        event,
        domain.receipt_messages(event.event_id, registration_id, contact_point_id),
        referrals=[(registration_id, "waiting")],
        change=lambda uow: ports.store.add_arrival(uow, registration_id, contact_point_id, ports.clock.now()),
    )


def on_unroutable(ports: Ports, event: Event) -> None:
    registration_id = event.data["registration_id"]
    _handle(
        ports,
        event,
        domain.unroutable_messages(event.event_id, registration_id, ports.national_office_id),
        referrals=[(registration_id, "national_office")],
    )


def on_group_proposed(ports: Ports, event: Event) -> None:
    _handle(ports, event, domain.proposal_messages(event.occurred_at, event.data))


def on_group_confirmed(ports: Ports, event: Event) -> None:
    data = event.data
    group = {
        "_id": data["group_id"],
        "group_id": data["group_id"],
        "contact_point_id": data["contact_point_id"],
        "registration_ids": list(data["registration_ids"]),
        "meeting_place_id": data["meeting_place_id"],
        "first_meeting_at": data["first_meeting_at"],
        "starter_id": data["starter_id"],
        "confirmed_at": event.occurred_at,
        "reminder_sent": False,
        "state": "confirmed",
        "handover_planned_on": _iso_date(data.get("handover_planned_on")),  # v2; absent in v1
        "handover_reminded": False,
    }
    _handle(
        ports,
        event,
        domain.invitation_messages(event.event_id, group, group["registration_ids"]),
        referrals=[(rid, "in_group") for rid in group["registration_ids"]],
        change=lambda uow: ports.store.save_group(uow, group),
    )


def on_group_member_added(ports: Ports, event: Event) -> None:
    """A newcomer's invitation (domain.newcomer_message); nothing for a proposal's new member."""
    data = event.data
    if data.get("group_state") == "proposed":
        ports.store.apply(event, _no_change)
        return
    if ports.store.already_applied(event.event_id):
        return
    group = ports.store.group(data["group_id"])
    if group is None:  # its group_confirmed is still on its way: retry later
        raise DeliveryPostponed("group_member_added before its group_confirmed")
    message = domain.newcomer_message(event.event_id, group, data, ports.clock.now())
    _handle(
        ports,
        event,
        [message] if message else [],
        referrals=[(data["registration_id"], "in_group")],
        change=lambda uow: ports.store.set_members(uow, data["group_id"], list(data["registration_ids"])),
    )


def on_group_member_left(ports: Ports, event: Event) -> None:
    ports.store.apply(
        event, lambda uow: ports.store.set_members(uow, event.data["group_id"], list(event.data["registration_ids"]))
    )


def on_group_closed(ports: Ports, event: Event) -> None:
    ports.store.apply(event, lambda uow: ports.store.drop_group(uow, event.data["group_id"]))


def on_group_started(ports: Ports, event: Event) -> None:
    """Nothing to send: the starter is with the group. The state is kept (no handover reminder
    goes out for a group already handed over)."""
    _known_group(ports, event)
    ports.store.apply(event, lambda uow: ports.store.update_group(uow, event.data["group_id"], {"state": "started"}))


def on_group_self_run(ports: Ports, event: Event) -> None:
    """Every member hears the group now runs itself (with its schedule) and that the contact point
    can still be reached; the check-in members are kept for the check-ins."""
    data = event.data
    changes = {
        "state": "self_run",
        "schedule": data["schedule"],
        "checkin_registration_ids": list(data["checkin_registration_ids"]),
        "registration_ids": list(data["registration_ids"]),
    }
    deliver_all(ports, domain.handover_messages(event.event_id, data))
    _known_group(ports, event)
    ports.store.apply(event, lambda uow: ports.store.update_group(uow, data["group_id"], changes))


def on_group_checkin_due(ports: Ports, event: Event) -> None:
    """The check-in members (named at the handover) are asked how the group is doing."""
    group = _known_group(ports, event)
    if group.get("checkin_registration_ids") is None:  # its group_self_run is still on its way
        raise DeliveryPostponed("group_checkin_due before its group_self_run")
    _handle(ports, event, domain.checkin_messages(event.event_id, event.data, group["checkin_registration_ids"]))


def _known_group(ports: Ports, event: Event) -> Record:
    """The group as notification keeps it; its group_confirmed may still be on its way (retry later)."""
    group = ports.store.group(event.data["group_id"])
    if group is None:
        raise DeliveryPostponed(f"{event.event_type} before its group_confirmed")
    return group


def _iso_date(value: object) -> str | None:
    """A date as the store keeps it: 'YYYY-MM-DD' (the contract's schema loads it as a date)."""
    if isinstance(value, date):
        return value.isoformat()
    return value if isinstance(value, str) else None


def on_withdrawn(ports: Ports, event: Event) -> None:
    """Confirm the withdrawal; contact details are fetched now, before an erasure can take them."""
    registration_id = event.data["registration_id"]
    _handle(
        ports,
        event,
        [domain.withdrawal_message(event.event_id, registration_id)],
        referrals=[(registration_id, "withdrawn")],
    )


def on_personal_link_requested(ports: Ports, event: Event) -> None:
    """A new link to the person's page, asked for by address on the gateway's page (registration
    found the person; the address itself never left it)."""
    _handle(ports, event, [domain.new_link_message(event.event_id, event.data["registration_id"])])


def on_erased(ports: Ports, event: Event) -> int | None:
    """Forget the person: their delivery log, held messages and pool arrivals."""
    return ports.store.apply(event, lambda uow: ports.store.forget(uow, event.data["registration_id"]))


def _handle(
    ports: Ports,
    event: Event,
    messages: Iterable[Message],
    referrals: Iterable[Referral] = (),
    change: Callable[[UnitOfWork], object] | None = None,
) -> None:
    """Deliver the event's messages (and its referrers' status messages), then write the ledger.
    A redelivered event finds each of its messages settled in the delivery log, so nothing is sent
    twice, and the ledger refuses it once more: no ledger read up front (a store round trip per
    event) for what is rare. An event of one message (a receipt, usually) writes its ledger entry
    and change in that message's settle transaction, when it is settled now."""
    to_referrers = (_referral_message(ports, event, rid, status) for rid, status in referrals)
    all_messages = [*messages, *(m for m in to_referrers if m)]
    ledger = EventLedger(event, change or _no_change) if len(all_messages) == 1 else None
    deliver_all(ports, all_messages, ledger)
    if ledger is None or not ledger.applied:
        ports.store.apply(event, change or _no_change)


def _no_change(uow: UnitOfWork) -> None:
    return None


def _referral_message(ports: Ports, event: Event, registration_id: str, status: str) -> Message | None:
    contact = ports.registration.contact_details(registration_id)
    referrer = domain.referrer_of(contact) if contact else None
    if referrer is None:
        return None
    return domain.referral_status_message(event.event_id, registration_id, referrer, status)
