"""Notification rules. Pure: no nameko, no pymongo, no SMTP."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from services.common import dates

NAMESPACE = uuid.UUID("5b0c8a57-3f7e-4d0e-9a51-0f1c0c6b7a11")
MESSAGE_ID_DOMAIN = "flokk.no"
OSLO = dates.OSLO
QUIET_FROM, QUIET_UNTIL = time(21, 0), time(8, 0)
DIGEST_FROM = time(8, 0)

# Templates (one Jinja2 text file per language each).
RECEIPT = "receipt"
UNROUTABLE_STAFF = "unroutable_staff"
PROPOSAL_READY = "proposal_ready"
INVITATION = "invitation"
REMINDER = "reminder"
WITHDRAWAL = "withdrawal"
REFERRAL_STATUS = "referral_status"
STAFF_DIGEST = "staff_digest"
NEW_LINK = "new_link"
HANDOVER = "handover"
CHECKIN = "checkin"
NEWCOMER = "newcomer"
TEMPLATES = (
    RECEIPT,
    UNROUTABLE_STAFF,
    PROPOSAL_READY,
    INVITATION,
    REMINDER,
    WITHDRAWAL,
    REFERRAL_STATUS,
    STAFF_DIGEST,
    NEW_LINK,
    HANDOVER,
    CHECKIN,
    NEWCOMER,
)
#: Messages to a participant that carry their personal link (`<FLOKK_PUBLIC_BASE_URL>/me?t=<token>`).
WITH_PERSONAL_LINK = (RECEIPT, INVITATION, REMINDER, WITHDRAWAL, NEW_LINK, HANDOVER, CHECKIN, NEWCOMER)
#: Staff are reminded of a handover not recorded this long after the day it was planned for.
HANDOVER_OVERDUE_DAYS = 14
#: Messages a withdrawn person still gets: the confirmation, and the link to come back by.
TO_THE_WITHDRAWN = (WITHDRAWAL, NEW_LINK)

# What a referrer is told: a status word, never a theme, a place or a name.
REFERRAL_STATUSES = ("waiting", "national_office", "in_group", "withdrawn")

#: Who a message goes to: `{"kind": "participant" | "staff" | "referrer", "id": ...}`.
Recipient = dict[str, str]


def notification_id(cause_event_id: str, recipient: Recipient, template: str) -> str:
    """One notification per (cause event, recipient, template), however often the event arrives."""
    return str(uuid.uuid5(NAMESPACE, f"{cause_event_id}|{recipient['kind']}:{recipient['id']}|{template}"))


def message_id(notification_id_: str) -> str:
    """The deterministic Message-ID of docs/design.md §6, so a resend after a crash is recognisable."""
    return f"<{notification_id_}@{MESSAGE_ID_DOMAIN}>"


def derived_cause(*parts: object) -> str:
    """A stable cause id for messages no event causes (reminders, digests): same inputs, same id."""
    return str(uuid.uuid5(NAMESPACE, "|".join(str(p) for p in parts)))


def participant(registration_id: str) -> Recipient:
    return {"kind": "participant", "id": registration_id}


def staff(contact_point_id: str) -> Recipient:
    """Staff messages go to the contact point's organisational address."""
    return {"kind": "staff", "id": contact_point_id}


def referrer(referrer_id: str) -> Recipient:
    return {"kind": "referrer", "id": referrer_id}


@dataclass(frozen=True)
class Message:
    """One message to send: ids and non-personal parameters only, enough to compose it again
    (when a held or retrying message is sent later) without ever storing an address or a name."""

    cause_event_id: str
    recipient: Recipient
    template: str
    registration_id: str | None = None
    contact_point_id: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def notification_id(self) -> str:
        return notification_id(self.cause_event_id, self.recipient, self.template)

    def as_record(self) -> dict[str, Any]:
        return {
            "cause_event_id": self.cause_event_id,
            "recipient": self.recipient,
            "template": self.template,
            "registration_id": self.registration_id,
            "contact_point_id": self.contact_point_id,
            "params": self.params,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "Message":
        return cls(
            cause_event_id=record["cause_event_id"],
            recipient=record["recipient"],
            template=record["template"],
            registration_id=record.get("registration_id"),
            contact_point_id=record.get("contact_point_id"),
            params=record.get("params") or {},
        )


# --- addresses ---------------------------------------------------------------------------------


def mask_email(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_phone(number: str) -> str:
    return f"{number[:3]}*****{number[-2:]}"


def masked(channel: str, address: str) -> str:
    return mask_email(address) if channel == "email" else mask_phone(address)


def channel_order(contact: dict[str, Any]) -> list[tuple[str, str]]:
    """[(channel, address)]: the preferred channel first, then the other as fallback, each only
    if its address is known."""
    preferred = contact.get("preferred_channel") or "email"
    order = [preferred, "sms" if preferred == "email" else "email"]
    addresses = {"email": contact.get("email"), "sms": contact.get("phone")}
    return [(channel, address) for channel in order if (address := addresses[channel])]


def channel_and_address(contact: dict[str, Any]) -> tuple[str, str]:
    """The person's preferred channel if they gave its address, else the other one."""
    order = channel_order(contact)
    if not order:
        raise ValueError("no address for any channel")
    return order[0]


def first_name(name: str | None) -> str:
    return (name or "").split()[0] if (name or "").split() else ""


# --- time --------------------------------------------------------------------------------------


def local(moment: datetime) -> datetime:
    return moment.astimezone(OSLO)


def in_quiet_hours(now: datetime) -> bool:
    """No SMS between 21:00 and 08:00 Europe/Oslo."""
    clock = local(now).time()
    return clock >= QUIET_FROM or clock < QUIET_UNTIL


def end_of_quiet_hours(now: datetime) -> datetime:
    """The next 08:00 in Oslo (as an aware datetime) after `now`; DST-safe."""
    here = local(now)
    day = here.date() if here.time() < QUIET_UNTIL else here.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_UNTIL, tzinfo=OSLO)


# --- retries ------------------------------------------------------------------------------------

#: When a message that failed for now is tried again, counted from its first attempt: 30 s, 1, 2,
#: 5, 10, 20 and 30 minutes, then hourly until 24 hours after the first attempt (issue 16).
RETRY_OFFSETS = (
    timedelta(seconds=30),
    *(timedelta(minutes=m) for m in (1, 2, 5, 10, 20, 30)),
    *(timedelta(hours=h) for h in range(1, 25)),
)
#: How a message that gave up failed: every channel refused it, or its retries ran out.
PERMANENT, EXPIRED = "permanent", "expired"


def retry_time(attempts: int, first_attempt_at: datetime) -> datetime | None:
    """When to try again after `attempts` attempts, the first at `first_attempt_at`; None once the
    schedule is used up (the last retry is 24 hours after the first attempt)."""
    if attempts < 1:
        raise ValueError(f"attempts counts the attempts made, at least 1, not {attempts}")
    return first_attempt_at + RETRY_OFFSETS[attempts - 1] if attempts <= len(RETRY_OFFSETS) else None


def next_retry(attempts: int, first_attempt_at: datetime, now: datetime) -> datetime | None:
    """The first time of the schedule after `now`, from the `attempts`-th retry on: a message that
    waited through quiet hours (or a stopped service) skips the times it missed, instead of making
    up for them in a burst. None when no time is left."""
    while (due := retry_time(attempts, first_attempt_at)) is not None and due <= now:
        attempts += 1
    return due


def reminder_due(first_meeting_at: datetime, confirmed_at: datetime, now: datetime) -> bool:
    """True on the Oslo day before the first meeting, if the group was confirmed before that day
    (someone invited the day before needs no separate reminder)."""
    day_before = local(first_meeting_at).date() - timedelta(days=1)
    return local(now).date() == day_before and local(confirmed_at).date() < day_before


def digest_day(now: datetime) -> date | None:
    """The Oslo date whose digest is due at `now`, or None before 08:00."""
    here = local(now)
    return here.date() if here.time() >= DIGEST_FROM else None


def meeting_time(moment: datetime, language: str) -> str:
    """'tirsdag 1. desember kl. 18.00' / 'Tuesday 1 December at 18:00', in Oslo time, as the
    gateway shows staff the same meeting (services.common.dates)."""
    return dates.time_words(moment, language, year=False)


# --- who hears what ----------------------------------------------------------------------------


def receipt_messages(event_id: str, registration_id: str, contact_point_id: str) -> list[Message]:
    """The receipt to a person waiting in a contact point's pool."""
    return [
        Message(
            event_id,
            participant(registration_id),
            RECEIPT,
            registration_id,
            contact_point_id,
            {"unroutable": False},
        )
    ]


def unroutable_messages(event_id: str, registration_id: str, national_office_id: str) -> list[Message]:
    """The receipt to someone nobody can take, who is also reported to the national office."""
    return [
        Message(
            event_id, participant(registration_id), RECEIPT, registration_id, national_office_id, {"unroutable": True}
        ),
        Message(
            event_id,
            staff(national_office_id),
            UNROUTABLE_STAFF,
            registration_id,
            national_office_id,
            {"reference": short_reference(registration_id)},
        ),
    ]


def proposal_messages(occurred_at: datetime, data: dict[str, Any]) -> list[Message]:
    """Staff hear that a proposal waits: its size and reference, never its theme or explanation.
    At most once an hour per contact point (matching's re-solves may replace proposals): the
    message's cause is the contact point and the hour, so later proposals of that hour find it
    in the delivery log and send nothing."""
    hour = occurred_at.astimezone(OSLO).strftime("%Y-%m-%dT%H")
    return [
        Message(
            derived_cause("proposals_ready", data["contact_point_id"], hour),
            staff(data["contact_point_id"]),
            PROPOSAL_READY,
            None,
            data["contact_point_id"],
            {"size": len(data["registration_ids"]), "reference": short_reference(data["group_id"])},
        )
    ]


def group_params(group: dict[str, Any]) -> dict[str, Any]:
    return {key: group[key] for key in ("group_id", "meeting_place_id", "starter_id")} | {
        "first_meeting_at": group["first_meeting_at"].isoformat()
    }


def invitation_messages(
    cause_id: str, group: dict[str, Any], registration_ids: list[str], template: str = INVITATION
) -> list[Message]:
    return [
        Message(cause_id, participant(rid), template, rid, group["contact_point_id"], group_params(group))
        for rid in registration_ids
    ]


def newcomer_message(cause_id: str, group: dict[str, Any], data: dict[str, Any], now: datetime) -> Message | None:
    """The invitation of someone added to a group later (group_member_added): to a confirmed group
    whose first meeting is ahead, the invitation everyone got; to a group under way, its schedule
    and next meeting (or that the contact point agrees one with them), naming the starter only
    while the group is not yet self-run. Nobody is told of a mere proposal (version 2 says)."""
    state, schedule, rid = data.get("group_state"), data.get("schedule"), data["registration_id"]
    if state == "proposed":
        return None
    if state in (None, "confirmed") and not schedule and group["first_meeting_at"] > now:
        return invitation_messages(cause_id, group, [rid])[0]
    next_at = data.get("next_meeting_at")
    params = {
        "group_id": group["group_id"],
        "meeting_place_id": (schedule or {}).get("meeting_place_id") or group["meeting_place_id"],
        "starter_id": None if state == "self_run" else group["starter_id"],
        "next_meeting_at": next_at.isoformat() if isinstance(next_at, datetime) else next_at,
        "schedule": schedule,
    }
    return Message(cause_id, participant(rid), NEWCOMER, rid, group["contact_point_id"], params)


def upcoming(next_at: datetime | None, schedule: dict[str, Any] | None, now: datetime) -> datetime | None:
    """A meeting time to tell a person, never one gone by: a scheduled meeting that passed (the
    message waited) moves on by the schedule's interval; a first meeting that passed is no time."""
    if next_at is None or next_at >= now:
        return next_at
    if not schedule:
        return None
    step = timedelta(days=14 if schedule["every"] == "other_week" else 7)
    here = local(next_at)
    day, clock = here.date(), here.time()
    while datetime.combine(day, clock, tzinfo=OSLO) < now:
        day += step
    return datetime.combine(day, clock, tzinfo=OSLO)


def withdrawal_message(event_id: str, registration_id: str) -> Message:
    return Message(event_id, participant(registration_id), WITHDRAWAL, registration_id)


def new_link_message(event_id: str, registration_id: str) -> Message:
    """The person asked for a new link to their page; it goes to them by their preferred channel."""
    return Message(event_id, participant(registration_id), NEW_LINK, registration_id)


def personal_link(base_url: str, token: str | None) -> str:
    """The person's own page, `<base>/me?t=<token>`; empty when registration gave no token."""
    return f"{base_url.rstrip('/')}/me?t={token}" if token else ""


def referral_status_message(event_id: str, registration_id: str, referrer_id: str, status: str) -> Message:
    if status not in REFERRAL_STATUSES:
        raise ValueError(f"unknown referral status {status!r}")
    return Message(
        event_id,
        referrer(referrer_id),
        REFERRAL_STATUS,
        registration_id,
        None,
        {"status": status, "reference": short_reference(registration_id)},
    )


def digest_message(
    contact_point_id: str,
    day: date,
    new_people: int,
    failures: list[dict[str, Any]],
    handovers: Sequence[dict[str, Any]] = (),
) -> Message:
    """The daily overview: new people, messages not delivered, handovers not recorded in time."""
    return Message(
        derived_cause("digest", contact_point_id, day.isoformat()),
        staff(contact_point_id),
        STAFF_DIGEST,
        None,
        contact_point_id,
        {
            "day": day.isoformat(),
            "new_people": new_people,
            "failures": [
                {"reference": short_reference(f["registration_id"] or f["_id"]), "template": f["template"]}
                for f in failures
            ],
            "handovers": [
                {"reference": short_reference(g["_id"]), "planned_on": g["handover_planned_on"]} for g in handovers
            ],
        },
    )


def handover_overdue_cutoff(day: date) -> str:
    """On `day`, a handover planned on this day (ISO) or before and not recorded is overdue."""
    return (day - timedelta(days=HANDOVER_OVERDUE_DAYS)).isoformat()


def handover_messages(cause_id: str, data: dict[str, Any]) -> list[Message]:
    """To every member when the group becomes self-run: it runs itself now, the contact point can
    still be reached, and the schedule if one was recorded."""
    schedule = data.get("schedule")
    params = {"group_id": data["group_id"], "schedule": schedule}
    return [
        Message(cause_id, participant(rid), HANDOVER, rid, data["contact_point_id"], params)
        for rid in data["registration_ids"]
    ]


def checkin_messages(cause_id: str, data: dict[str, Any], checkin_members: list[str]) -> list[Message]:
    """To the check-in members: how is the group doing? They answer on their personal page."""
    params = {"group_id": data["group_id"], "checkin_id": data["checkin_id"], "number": data["number"]}
    return [
        Message(cause_id, participant(rid), CHECKIN, rid, data["contact_point_id"], params)
        for rid in checkin_members
        if rid in data["registration_ids"]
    ]


SCHEDULE_WORDS = {
    "nb": {"week": "hver {weekday} kl. {time}", "other_week": "annenhver {weekday} kl. {time}"},
    "nn": {"week": "kvar {weekday} kl. {time}", "other_week": "annakvar {weekday} kl. {time}"},
    "en": {"week": "every {weekday} at {time}", "other_week": "every other {weekday} at {time}"},
}
WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def schedule_text(schedule: dict[str, Any], language: str) -> str:
    """'hver torsdag kl. 18.00' / 'annakvar torsdag kl. 18.00' / 'every other Thursday at 18:00'."""
    weekday = dates.WEEKDAYS[language][WEEKDAY_KEYS.index(schedule["weekday"])]
    clock = dates.clock_words(schedule["start_time"], language)
    return SCHEDULE_WORDS[language][schedule["every"]].format(weekday=weekday, time=clock)


def short_reference(identifier: object) -> str:
    """A short, non-personal reference staff can search for."""
    return str(identifier)[:8]


def referrer_of(contact: dict[str, Any]) -> str | None:
    """The referrer id of a referred person (registration's contact_details carries
    `referral: {"referrer_id", "organisation"}`), or None. The referrer's address is the gateway's
    (`gateway.referrer_contact`), asked at send time like every other address."""
    referral = contact.get("referral") or {}
    return referral.get("referrer_id") or None


def address_text(address: dict[str, str] | str | None) -> str:
    """A directory address ({"street", "postal_code", "city"}) as one line; text stays text."""
    if not isinstance(address, dict):
        return address or ""
    town = " ".join(part for part in (address.get("postal_code"), address.get("city")) if part)
    return ", ".join(part for part in (address.get("street"), town) if part)
