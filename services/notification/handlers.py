"""Use cases of notification: plain functions over the store, the channels and the proxies.

Exactly once: every message has a deterministic notification id. Before sending, the delivery
log is checked; right after the channel accepted a message, 'sent' is recorded (with its
`notification_sent` in the same transaction), so a handler that the shared delivery retries after
a later failure never sends a message twice. The event's ledger entry comes last.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from nameko.exceptions import RemoteError

from services.common.access import may_see_contact_point, require_role
from services.common.errors import NotFound

from . import domain, templates
from .domain import DeliveryFailure

log = logging.getLogger(__name__)

NATIONAL_OFFICE_ID = "national-office"
MAX_RELEASE_ATTEMPTS = 6
#: How long a claimed message stays claimed. Longer than one send can take (the SMTP and SMS
#: clients time out after 10 s), and shorter than the shared delivery's whole retry window
#: (0.5 + 2 + 8 + 30 s), so the retries of an event whose worker was killed mid-send outlive the
#: dead worker's claim instead of dead-lettering the event.
CLAIM_LEASE = timedelta(seconds=30)


def _being_sent():
    return DeliveryFailure("email", "being sent by another worker", transient=True)


#: Templates that name the contact point (and so need it from the directory).
NAMES_CONTACT_POINT = {domain.RECEIPT, domain.PROPOSAL_READY, domain.INVITATION, domain.REMINDER, domain.STAFF_DIGEST}


class DeliveryPostponed(Exception):
    """Some message failed transiently: the shared delivery retries the handler with backoff."""


@dataclass
class Ports:
    """What the use cases need, with the lookups of one call memoised (a group of eight means
    one directory call, not eight)."""

    store: object
    mailer: object
    sms: object
    registration: object
    directory: object
    clock: object
    gateway: object = None
    national_office_id: str = NATIONAL_OFFICE_ID
    #: the directory's contact points, shared by the workers for a short while (a TtlCache) or None
    contact_point_cache: object = None
    _contacts: dict = field(default_factory=dict)
    _contact_points: dict = field(default_factory=dict)
    _referrers: dict = field(default_factory=dict)

    def contact(self, registration_id):
        """The person's contact details at send time, or None once they are erased."""
        return _remembered(self._contacts, registration_id, self.registration.contact_details)

    def referrer(self, referrer_id):
        """The referrer's `{"email", "name"}` from the gateway's accounts at send time, or None
        when no account has this referrer id (any more)."""
        return _remembered(self._referrers, referrer_id, self.gateway.referrer_contact)

    def contact_point(self, contact_point_id, fresh=False):
        """The directory's contact point: from the shared cache unless `fresh` (invitations and
        reminders name meeting places and starters that staff may have added a moment ago)."""
        if contact_point_id not in self._contact_points:
            fetch = lambda: self.directory.get_contact_point(contact_point_id)
            if self.contact_point_cache is None:
                found = fetch()
            elif fresh:
                found = fetch()
                self.contact_point_cache.put(contact_point_id, found)
            else:
                found = self.contact_point_cache.get_or_load(contact_point_id, fetch)
            self._contact_points[contact_point_id] = found
        return self._contact_points[contact_point_id]


def _remembered(cache, key, lookup):
    """lookup(key) once per call of a use case; None when the owning service says NotFound."""
    if key not in cache:
        try:
            cache[key] = lookup(key)
        except RemoteError as exc:
            if exc.exc_type != "NotFound":
                raise
            cache[key] = None
    return cache[key]


# --- events ------------------------------------------------------------------------------------


def on_waitlisted(ports, event):
    registration_id, contact_point_id = event.data["registration_id"], event.data["contact_point_id"]
    _handle(
        ports,
        event,
        domain.receipt_messages(event.event_id, registration_id, contact_point_id),
        referrals=[(registration_id, "waiting")],
        change=lambda uow: ports.store.add_arrival(uow, registration_id, contact_point_id, ports.clock.now()),
    )


def on_unroutable(ports, event):
    registration_id = event.data["registration_id"]
    _handle(
        ports,
        event,
        domain.receipt_messages(event.event_id, registration_id, national_office_id=ports.national_office_id),
        referrals=[(registration_id, "national_office")],
    )


def on_group_proposed(ports, event):
    _handle(ports, event, domain.proposal_messages(event.event_id, event.data))


def on_group_confirmed(ports, event):
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
    }
    _handle(
        ports,
        event,
        domain.invitation_messages(event.event_id, group, group["registration_ids"]),
        referrals=[(rid, "in_group") for rid in group["registration_ids"]],
        change=lambda uow: ports.store.save_group(uow, group),
    )


def on_group_member_added(ports, event):
    data = event.data
    if ports.store.already_applied(event.event_id):
        return
    group = ports.store.group(data["group_id"])
    if group is None:  # its group_confirmed is still on its way: retry later
        raise DeliveryPostponed("group_member_added before its group_confirmed")
    _handle(
        ports,
        event,
        domain.invitation_messages(event.event_id, group, [data["registration_id"]]),
        referrals=[(data["registration_id"], "in_group")],
        change=lambda uow: ports.store.set_members(uow, data["group_id"], list(data["registration_ids"])),
    )


def on_group_member_left(ports, event):
    ports.store.apply(
        event, lambda uow: ports.store.set_members(uow, event.data["group_id"], list(event.data["registration_ids"]))
    )


def on_group_closed(ports, event):
    ports.store.apply(event, lambda uow: ports.store.drop_group(uow, event.data["group_id"]))


def on_withdrawn(ports, event):
    """Confirm the withdrawal; contact details are fetched now, before an erasure can take them."""
    registration_id = event.data["registration_id"]
    _handle(
        ports,
        event,
        [domain.withdrawal_message(event.event_id, registration_id)],
        referrals=[(registration_id, "withdrawn")],
    )


def forget(store, event):
    return store.apply(event, lambda uow: store.forget(uow, event.data["registration_id"]))


def _handle(ports, event, messages, referrals=(), change=None):
    """Deliver the event's messages (and its referrers' status messages), then write the ledger.
    A redelivered event finds each of its messages settled in the delivery log, so nothing is sent
    twice, and the ledger refuses it once more: no ledger read up front (a store round trip per
    event) for what is rare."""
    messages = list(messages) + [
        m for m in (_referral_message(ports, event, rid, status) for rid, status in referrals) if m
    ]
    deliver_all(ports, messages)
    ports.store.apply(event, change or (lambda uow: None))


def _referral_message(ports, event, registration_id, status):
    contact = ports.contact(registration_id)
    referrer = domain.referrer_of(contact) if contact else None
    if referrer is None:
        return None
    return domain.referral_status_message(event.event_id, registration_id, referrer, status)


# --- sending -----------------------------------------------------------------------------------


def deliver_all(ports, messages):
    """Deliver each message; if any failed transiently, raise after trying all the others."""
    postponed = []
    for message in messages:
        try:
            deliver(ports, message)
        except DeliveryFailure as failure:
            postponed.append(failure)
    if postponed:
        raise DeliveryPostponed("; ".join(sorted({str(f) for f in postponed}))[:250])


def deliver(ports, message, releasing=False):
    """Send one message once: 'sent', 'held' (SMS in quiet hours), 'failed' (permanently, and
    reported), 'gone' (the person is erased) or what the log already says. Raises DeliveryFailure
    when every channel failed and at least one of them only for now."""
    nid = message.notification_id
    existing = ports.store.delivery(nid)
    if existing is not None and existing["status"] == "sending":
        if existing["lease_until"] >= ports.clock.now():
            raise _being_sent()
        existing = None  # an attempt that crashed mid-send: take it over
    if existing is not None and (existing["status"] in ("sent", "failed") or not releasing):
        return existing["status"]
    addressee = _addressee(ports, message)
    if addressee is None:
        log.info("recipient gone, no message", extra={"template": message.template})
        if releasing:
            ports.store.drop_held(nid)
        return "gone"
    routes = domain.channel_order(addressee)
    if not routes:
        return _settle(
            ports,
            message,
            "failed",
            addressee.get("preferred_channel") or "email",
            None,
            reason="no address for any channel",
        )
    try:
        rendered = templates.render_message(
            message.template, addressee.get("language"), _context(ports, message, addressee)
        )
    except DeliveryFailure as failure:
        return _settle(ports, message, "failed", routes[0][0], routes[0][1], reason=failure.reason)
    now = ports.clock.now()
    previous = existing["status"] if existing else None
    if not ports.store.claim(nid, now, now + CLAIM_LEASE, claimable=("held",) if releasing else ()):
        raise _being_sent()
    try:
        outcome = _send_first_that_works(ports, message, routes, rendered, now, existing)
    except BaseException:
        ports.store.unclaim(nid, previous)
        raise
    return outcome


def _send_first_that_works(ports, message, routes, rendered, now, existing):
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
        return _settle(ports, message, "sent", channel, address)
    transient = [f for f in failures if f.transient]
    if transient:
        raise transient[0]
    return _settle(
        ports,
        message,
        "failed",
        failures[0].channel,
        routes[0][1],
        reason="; ".join(f"{f.channel}: {f.reason}" for f in failures),
    )


def _send(ports, channel, address, rendered, nid):
    if channel == "email":
        ports.mailer.send(address, rendered, domain.message_id(nid))
    else:
        ports.sms.send(address, rendered.text, nid)


def _record(message, status, channel, address, now, **extra):
    return {
        "_id": message.notification_id,
        "status": status,
        **message.as_record(),
        "channel": channel,
        "address": domain.masked(channel, address) if address else None,
        "at": now,
        **extra,
    }


def _hold(ports, message, address, release_at, existing):
    attempts = (existing or {}).get("attempts", 0)
    ports.store.hold(
        _record(message, "held", "sms", address, ports.clock.now(), release_at=release_at, attempts=attempts)
    )


def _settle(ports, message, status, channel, address, reason=None):
    """Record the outcome and emit its event in one transaction, once."""
    failed = status == "failed"
    record = _record(
        message,
        status,
        channel,
        address,
        ports.clock.now(),
        **(
            {"reason": reason, "digested_on": None if message.template != domain.STAFF_DIGEST else "never"}
            if failed
            else {}
        ),
    )
    data = {
        "notification_id": message.notification_id,
        "recipient": message.recipient,
        "registration_id": message.registration_id if message.recipient["kind"] == "participant" else None,
        "template": message.template,
        "channel": channel,
        "cause_event_id": message.cause_event_id,
    }

    def change(uow):
        if ports.store.settle(uow, record):
            uow.emit(
                "notification_failed" if failed else "notification_sent",
                {**data, "reason": reason[:300]} if failed else data,
            )

    ports.store.transaction(change)
    return status


def _addressee(ports, message):
    """Where and in which language to reach the recipient, fetched now; None if they are gone."""
    kind = message.recipient["kind"]
    if kind == "staff":
        contact_point = ports.contact_point(message.recipient["id"])
        return {
            "name": contact_point.get("name"),
            "email": contact_point.get("email"),
            "preferred_channel": "email",
            "language": templates.DEFAULT_LANGUAGE,
        }
    contact = ports.contact(message.registration_id)
    if contact is None:
        return None
    if kind == "referrer":
        referrer = ports.referrer(message.recipient["id"])
        return (
            referrer
            and referrer.get("email")
            and {"email": referrer["email"], "preferred_channel": "email", "language": templates.DEFAULT_LANGUAGE}
        )
    if contact.get("status") == "withdrawn" and message.template != domain.WITHDRAWAL:
        return None
    return {
        "name": contact.get("name"),
        "email": contact.get("email"),
        "phone": contact.get("phone"),
        "preferred_channel": contact.get("preferred_channel"),
        "language": contact.get("message_language"),
    }


def _context(ports, message, addressee):
    context = {**message.params, "first_name": domain.first_name(addressee.get("name"))}
    if message.template not in NAMES_CONTACT_POINT or message.params.get("unroutable"):
        return context
    names_meeting = message.template in (domain.INVITATION, domain.REMINDER)
    contact_point = ports.contact_point(message.contact_point_id, fresh=names_meeting)
    context["contact_point"] = contact_point["name"]
    if names_meeting:
        context.update(
            _meeting(contact_point, message.params, templates.language_or_default(addressee.get("language")))
        )
    return context


def _meeting(contact_point, params, language):
    place = next(
        (
            p
            for p in contact_point.get("meeting_places") or ()
            if p.get("meeting_place_id") == params["meeting_place_id"]
        ),
        None,
    )
    starter = next((s for s in contact_point.get("staff") or () if s.get("staff_id") == params["starter_id"]), None)
    if place is None or starter is None or not contact_point.get("email"):
        missing = [
            name
            for name, value in (
                ("meeting place", place),
                ("starter", starter),
                ("contact point e-mail", contact_point.get("email")),
            )
            if not value
        ]
        raise DeliveryFailure("email", f"directory lacks {', '.join(missing)}", transient=False)
    return {
        "when": domain.meeting_time(datetime.fromisoformat(params["first_meeting_at"]), language),
        "place": place["name"],
        "address": domain.address_text(place.get("address")),
        "starter": starter["first_name"],
        "contact_email": contact_point["email"],
    }


# --- timers ------------------------------------------------------------------------------------


def release_held(ports):
    """Send the SMS held through quiet hours; a transient failure waits with backoff."""
    now = ports.clock.now()
    released = 0
    for record in ports.store.held_due(now):
        message = domain.Message.from_record(record)
        try:
            released += deliver(ports, message, releasing=True) == "sent"
        except DeliveryFailure as failure:
            attempts = record.get("attempts", 0) + 1
            if attempts >= MAX_RELEASE_ATTEMPTS:
                _settle(ports, message, "failed", failure.channel, None, reason=f"gave up: {failure.reason}")
            else:
                ports.store.postpone(record["_id"], domain.retry_after(now, attempts), attempts)
    return released


def send_reminders(ports):
    """The day before a group's first meeting, remind every member once."""
    now = ports.clock.now()
    for group in ports.store.groups_awaiting_reminder():
        if group["first_meeting_at"] <= now:
            ports.store.mark_reminded(group["_id"])
        elif domain.reminder_due(group["first_meeting_at"], group["confirmed_at"], now):
            cause = domain.derived_cause("reminder", group["_id"])
            deliver_all(ports, domain.invitation_messages(cause, group, group["registration_ids"], domain.REMINDER))
            ports.store.mark_reminded(group["_id"])


def send_digests(ports):
    """Once a day from 08:00 Oslo time: to each contact point, how many people joined its pool and
    which messages could not be delivered (references only). Items after today's digest wait for
    tomorrow's."""
    day = domain.digest_day(ports.clock.now())
    if day is None:
        return 0
    arrivals, failures = ports.store.undigested()
    by_contact_point = {}
    for arrival in arrivals:
        by_contact_point.setdefault(arrival["contact_point_id"], ([], []))[0].append(arrival)
    for failure in failures:
        by_contact_point.setdefault(failure.get("contact_point_id") or ports.national_office_id, ([], []))[1].append(
            failure
        )
    sent = 0
    for contact_point_id, (new, failed) in sorted(by_contact_point.items()):
        message = domain.digest_message(contact_point_id, day, len(new), failed)
        if ports.store.delivery(message.notification_id) is not None:
            continue  # today's digest is out: these wait for tomorrow's
        try:
            sent += deliver(ports, message) == "sent"
        except DeliveryFailure:
            continue  # tried again on the next tick
        ports.store.transaction(
            lambda uow, new=new, failed=failed: ports.store.mark_digested(
                uow, [a["_id"] for a in new], [f["_id"] for f in failed], day.isoformat()
            )
        )
    return sent


# --- RPC ---------------------------------------------------------------------------------------


def deliveries(store, registration_id, actor):
    """The masked delivery log of one person, for staff of their contact point or the national admin."""
    require_role(actor, "national_admin", "contact_point_staff")
    records = store.deliveries_for(registration_id)
    contact_points = {r.get("contact_point_id") for r in records} - {None}
    if (actor or {}).get("role") != "national_admin" and not any(
        may_see_contact_point(actor, cp) for cp in contact_points
    ):
        raise NotFound(f"no deliveries for {registration_id} at your contact points")
    return [
        {
            "notification_id": r["_id"],
            "template": r["template"],
            "channel": r["channel"],
            "address": r["address"],
            "status": r["status"],
            "at": r["at"].isoformat(),
            "recipient_kind": r["recipient"]["kind"],
        }
        for r in records
    ]
