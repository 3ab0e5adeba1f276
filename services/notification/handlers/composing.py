"""To whom a message goes and what it says, from what the owning services say at send time:
registration (the person), the gateway (a referrer) and the directory (the contact point)."""

from datetime import date, datetime
from typing import Any

from services.common import dates
from services.common.contact_point_input import DEFAULT_SENDER_NAME

from .. import domain, templates
from ..domain import Message
from ..ports import DeliveryFailure, Ports, Record

#: Templates that name the contact point (and so need it from the directory).
NAMES_CONTACT_POINT = {
    domain.RECEIPT,
    domain.PROPOSAL_READY,
    domain.INVITATION,
    domain.REMINDER,
    domain.STAFF_DIGEST,
    domain.HANDOVER,
    domain.CHECKIN,
    domain.NEWCOMER,
}
#: Templates that name a meeting: the directory is asked afresh (staff may just have added a place).
NAMES_MEETING = (domain.INVITATION, domain.REMINDER, domain.NEWCOMER)


def addressee_of(ports: Ports, message: Message) -> Record | None:
    """Where and in which language to reach the recipient, fetched now; None if they are gone."""
    kind = message.recipient["kind"]
    if kind == "staff":
        contact_point = ports.directory.get_contact_point(message.recipient["id"])
        return {
            "name": contact_point.get("name"),
            "email": contact_point.get("email"),
            "preferred_channel": "email",
            "language": templates.DEFAULT_LANGUAGE,
        }
    assert message.registration_id is not None, "a message to or about a person names their registration"
    contact = ports.registration.contact_details(message.registration_id)
    if contact is None:
        return None
    if kind == "referrer":
        referrer = ports.gateway.referrer_contact(message.recipient["id"])
        return (
            referrer
            and referrer.get("email")
            and {"email": referrer["email"], "preferred_channel": "email", "language": templates.DEFAULT_LANGUAGE}
        )
    if contact.get("status") == "withdrawn" and message.template not in domain.TO_THE_WITHDRAWN:
        return None
    return {
        "name": contact.get("name"),
        "email": contact.get("email"),
        "phone": contact.get("phone"),
        "preferred_channel": contact.get("preferred_channel"),
        "language": contact.get("message_language"),
        "link_token": contact.get("link_token"),
    }


def context_of(ports: Ports, message: Message, addressee: Record) -> dict[str, Any]:
    """What the template is rendered with; raises DeliveryFailure when the directory lacks a part
    an invitation or a reminder must name. The personal link is made here, at send time, and never
    stored (a message waiting for the timer is composed again, with a fresh link)."""
    context = {
        **message.params,
        "first_name": domain.first_name(addressee.get("name")),
        "sender_name": DEFAULT_SENDER_NAME,
    }
    language = templates.language_or_default(addressee.get("language"))
    if message.template == domain.STAFF_DIGEST:
        context.update(_digest(message.params, language))
    if message.template in domain.WITH_PERSONAL_LINK:
        context["personal_link"] = domain.personal_link(ports.public_base_url, addressee.get("link_token"))
    if message.template not in NAMES_CONTACT_POINT or message.params.get("unroutable"):
        return context
    assert message.contact_point_id is not None, f"a {message.template} names its contact point"
    names_meeting = message.template in NAMES_MEETING
    contact_point = ports.directory.get_contact_point(message.contact_point_id, fresh=names_meeting)
    # Discreet senders: a participant's message names the contact point by its sender name (its
    # own name may reveal a theme, and an SMS or a subject line is easily seen by others).
    context["sender_name"] = contact_point.get("sender_name") or DEFAULT_SENDER_NAME
    context["contact_point"] = contact_point["name"] if message.recipient["kind"] == "staff" else context["sender_name"]
    if message.template == domain.HANDOVER:
        context.update(_handover(contact_point, message.params, language))
    elif message.template == domain.NEWCOMER:
        context.update(_newcomer(contact_point, message.params, language, ports.clock.now()))
    elif names_meeting:
        context.update(_meeting(contact_point, message.params, language))
    if names_meeting:
        context.update(_video(ports, message, contact_point))
    return context


def _digest(params: dict[str, Any], language: str) -> dict[str, Any]:
    """The digest's day and planned handovers as dates in words; an undelivered message by its
    subject line (never a template key)."""

    def day_words(day: str | None) -> str:
        return dates.date_words(date.fromisoformat(day), language) if day else ""

    return {
        "day": day_words(params.get("day")),
        "failures": [
            {**f, "template": templates.subject_of(f["template"], language)} for f in params.get("failures") or ()
        ],
        "handovers": [{**h, "planned_on": day_words(h.get("planned_on"))} for h in params.get("handovers") or ()],
    }


def _video(ports: Ports, message: Message, contact_point: Record) -> dict[str, Any]:
    """A group that meets by video: invitations carry its link (asked of the directory as
    notification, at send time, never stored or logged); a reminder only says the meeting is
    digital (the link is on the person's page: an SMS is easily passed on)."""
    place = _place(contact_point, message.params.get("meeting_place_id")) or {}
    if place.get("kind") != "digital":
        return {"digital": False, "video_url": ""}
    if message.template == domain.REMINDER:
        return {"digital": True, "video_url": ""}
    assert message.contact_point_id is not None
    link = ports.directory.meeting_link(place["meeting_place_id"], message.contact_point_id)
    if not link:
        raise DeliveryFailure("email", "directory lacks the video link", transient=False)
    return {"digital": True, "video_url": link, "address": ""}


def _handover(contact_point: Record, params: dict[str, Any], language: str) -> dict[str, str]:
    """The schedule in words and where, if one was recorded; how to reach the contact point."""
    schedule = params.get("schedule")
    place = _place(contact_point, schedule["meeting_place_id"]) if schedule else None
    return {
        "schedule_text": domain.schedule_text(schedule, language) if schedule else "",
        "place": (place or {}).get("name") or "",
        "contact_email": contact_point.get("email") or "",
    }


def _newcomer(contact_point: Record, params: dict[str, Any], language: str, now: datetime) -> dict[str, str]:
    """A group under way: its schedule, its next meeting (never one gone by) and where, the starter
    while there is one; without a time, the contact point agrees the first meeting."""
    schedule = params.get("schedule")
    next_at = params.get("next_meeting_at")
    when = domain.upcoming(datetime.fromisoformat(next_at) if next_at else None, schedule, now)
    place = _place(contact_point, params.get("meeting_place_id")) or {}
    starter = _starter(contact_point, params.get("starter_id")) or {}
    return {
        "schedule_text": domain.schedule_text(schedule, language) if schedule else "",
        "when": domain.meeting_time(when, language) if when else "",
        "place": place.get("name") or "",
        "address": domain.address_text(place.get("address")),
        "starter": starter.get("first_name") or "",
        "contact_email": contact_point.get("email") or "",
    }


def _starter(contact_point: Record, starter_id: str | None) -> Record | None:
    return next((s for s in contact_point.get("staff") or () if s.get("staff_id") == starter_id), None)


def _place(contact_point: Record, meeting_place_id: str | None) -> Record | None:
    return next(
        (p for p in contact_point.get("meeting_places") or () if p.get("meeting_place_id") == meeting_place_id),
        None,
    )


def _meeting(contact_point: Record, params: dict[str, Any], language: str) -> dict[str, str]:
    place = _place(contact_point, params["meeting_place_id"])
    starter = _starter(contact_point, params["starter_id"])
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
