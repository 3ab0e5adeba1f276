"""Registration rules. Pure: no nameko, no pymongo."""

import math
import uuid
from datetime import datetime, time, timedelta
from typing import Any

from services.common.access import is_participant, may_see_contact_point
from services.common.clock import OSLO
from services.common.contracts import CONTACT_PURPOSES
from services.common.envelope import iso
from services.common.errors import Conflict, Forbidden, InvalidInput

#: A registration as stored (no contact details), a contact record, a place from the directory,
#: an intake's validated data and the actor of an RPC (None for the public): plain dicts.
Registration = dict[str, Any]
Contact = dict[str, Any]
Place = dict[str, Any]
Intake = dict[str, Any]
Actor = dict[str, Any] | None

CONTACT_FIELDS = ("name", "email", "phone", "free_text")
PROFILE_FIELDS = (
    "role",
    "themes",
    "languages",
    "availability",
    "open_to_mixed",
    "birth_year",
    "digital_ok",
    "not_in_own_municipality",
    "accessibility_needs",
    "cohort",
)

# Lifecycle: registered (stored, not yet routed) -> waiting (in a pool, as matching reports) ->
# in_group; paused (a break the person asked for) from registered or waiting, and back when it ends;
# withdrawn from any of them (and back to registered on return). Erased is no status: an erased
# registration is gone.
REGISTERED, WAITING, IN_GROUP, WITHDRAWN = "registered", "waiting", "in_group", "withdrawn"
PAUSED = "paused"
#: What a referrer may learn: the status only, in three words (a break is the person's own business).
REFERRER_STATUS = {
    REGISTERED: "waiting",
    WAITING: "waiting",
    PAUSED: "waiting",
    IN_GROUP: "in_group",
    WITHDRAWN: "withdrawn",
}
#: Statuses in which time passes towards erasure; waiting in a pool or sitting in a group is activity.
INACTIVE_STATUSES = (WITHDRAWN,)
#: Why time passes towards erasure for someone not withdrawn (the registration's `retention_reason`):
#: their group closed (group_closed, but not a superseded proposal, whose people still wait), or only
#: the national office can take them (registration_unroutable). None while they wait at a contact
#: point or sit in a running group.
GROUP_CLOSED, UNROUTABLE = "group_closed", "unroutable"
RETENTION_REASONS = (GROUP_CLOSED, UNROUTABLE)
#: When the person last did something, or something happened to them (docs/design.md §5): a status
#: change (the store stamps it whenever a change names `status`; the rules below name it only when
#: it changes), an action on their own page, an assignment or a contact by the national office,
#: their group's close, being found unroutable. The retention period counts from it.
LAST_ACTIVITY = "last_activity_at"

#: What a person may change on their page. The last two only say how to reach them: changing
#: them emits nothing, since matching does not use them.
PREFERENCE_FIELDS = (
    "themes",
    "languages",
    "availability",
    "digital_ok",
    "accessibility_needs",
    "not_in_own_municipality",
    "open_to_mixed",
    "message_language",
    "preferred_channel",
)
MATCHING_PREFERENCES = PREFERENCE_FIELDS[:-2]
#: A break lasts two to 26 weeks.
PAUSE_WEEKS = (2, 26)
#: At most this many people on a person's list of people they do not want to meet.
MAX_AVOIDED = 20

WITHDRAWAL_REASONS = ("person", "referrer", "staff")
ERASURE_REASONS = ("request", "consent_withdrawn")  # "retention" is the timer's alone
STAFF_ROLES = ("national_admin", "contact_point_staff")


class IdempotencyConflict(Exception):
    """The key was used before with a different payload (the first payload wins)."""


#: The codes of a misused idempotency key: used before for another registration, or the key of an
#: erased one (docs/rpc.md).
KEY_REUSED = "key_reused"
KEY_ERASED = "key_erased"


def new_registration(
    data: Intake,
    place: Place,
    now: datetime,
    fingerprint: str,
    lookups: list[str],
    registration_id: str | None = None,
) -> tuple[Registration, Contact]:
    """Split a validated intake into the registration (no contact details) and its contact record."""
    registration_id = registration_id or str(uuid.uuid4())
    registration = {
        "_id": registration_id,
        "idempotency_key": data["idempotency_key"],
        "fingerprint": fingerprint,
        "same_person_lookups": lookups,
        "possible_duplicates": [],
        "status": REGISTERED,
        "contact_point_id": None,
        "group_id": None,
        "municipality_number": place["municipality_number"],
        "area": place.get("area"),
        **{field: data.get(field) for field in PROFILE_FIELDS},
        "message_language": data["message_language"],
        "preferred_channel": data.get("preferred_channel") or ("email" if data.get("email") else "sms"),
        "referral": data.get("referral"),
        "consent": data["consent"],
        "registered_at": now,
        "updated_at": now,
        LAST_ACTIVITY: now,
        "retention_reason": None,
    }
    contact = {field: data.get(field) for field in CONTACT_FIELDS}
    return registration, contact


def stamped(changes: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A change as the store writes it: with the time of the write (`updated_at`) and, when it
    names a status, the person's last activity (the rules name a status only when it changes)."""
    return {"updated_at": now, **({LAST_ACTIVITY: now} if "status" in changes else {}), **changes}


def check_repeat(existing: Registration, fingerprint: str) -> str:
    """The registration id for a repeated key, or IdempotencyConflict for a different payload."""
    if existing["fingerprint"] != fingerprint:
        raise IdempotencyConflict(existing["idempotency_key"])
    return existing["_id"]


def matching_profile(registration: Registration) -> dict[str, Any]:
    """The data of registration_created / _updated: what matching needs, and nothing personal."""
    return {
        "registration_id": registration["_id"],
        "municipality_number": registration["municipality_number"],
        "area": registration.get("area"),
        **{field: registration.get(field) for field in PROFILE_FIELDS},
        "digital_ok": bool(registration.get("digital_ok")),
        "not_in_own_municipality": bool(registration.get("not_in_own_municipality")),
        "accessibility_needs": registration.get("accessibility_needs") or [],
        "referred": registration.get("referral") is not None,
        "registered_at": iso(registration["registered_at"]),
    }


#: The ids of the events applied to a registration alone (`follow_matching`): its own ledger.
APPLIED_HERE = "applied_events"
#: What the rules after_* read of a registration: `follow` writes only while these are as read.
FOLLOW_READS = ("status", "group_id", "routed_at")
#: FOLLOW_READS of a registration matching has not routed yet: what its first routing most likely finds.
JUST_REGISTERED = {"status": REGISTERED, "group_id": None, "routed_at": None}


def contact_for_notification(registration: Registration, contact: Contact) -> dict[str, Any]:
    return {
        "registration_id": registration["_id"],
        "name": contact["name"],
        "email": contact.get("email"),
        "phone": contact.get("phone"),
        "message_language": registration["message_language"],
        "preferred_channel": registration["preferred_channel"],
        "status": registration["status"],
        "referral": registration.get("referral"),  # {"referrer_id", "organisation"}: no address here
    }


def staff_view(registration: Registration, contact: Contact) -> dict[str, Any]:
    """What staff of the person's contact point see: everything but the internal digests."""
    hidden = ("fingerprint", "same_person_lookups", "_id", APPLIED_HERE)
    view = {key: value for key, value in registration.items() if key not in hidden}
    view["registration_id"] = registration["_id"]
    view.update({field: contact.get(field) for field in CONTACT_FIELDS})
    return _jsonable(view)


def referral_view(registration: Registration) -> dict[str, Any]:
    return {
        "registration_id": registration["_id"],
        "status": REFERRER_STATUS[registration["status"]],
        "updated_at": iso(registration["updated_at"]),
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if hasattr(value, "isoformat"):
        return iso(value)
    return value


# --- who may do what (docs/rpc.md) -------------------------------------------------------------


def require_staff_of(actor: Actor, registration: Registration) -> None:
    """national_admin, or staff of the contact point matching last routed the person to."""
    if not may_see_contact_point(actor, registration.get("contact_point_id")):
        raise Forbidden("only staff of the person's contact point may do this")


def require_may_read_contact(actor: Actor, registration: Registration | None = None) -> None:
    """Contact details: notification's own identity, or the gateway's staff view (staff of the
    person's contact point, the national office). Without the registration, the caller alone is
    checked (before the store is read, so an outsider learns nothing, not even that it exists)."""
    actor = actor or {}
    if actor.get("role") == "service" and actor.get("service") == "notification":
        return
    if actor.get("issuer") == "gateway" and actor.get("role") in ("contact_point_staff", "national_admin"):
        if registration is not None:
            require_staff_of(actor, registration)
        return
    raise Forbidden("only notification and the gateway's staff view may read contact details")


def contact_read(actor: Actor, registration_id: str, outcome: str, at: datetime) -> dict[str, Any]:
    """The log entry of one contact_details call: who, for whom, why, with what outcome; no detail."""
    actor = actor or {}
    return {
        "at": at,
        "registration_id": registration_id,
        "role": actor.get("role"),
        "account_id": actor.get("account_id"),
        "service": actor.get("service"),
        "purpose": actor.get("purpose"),
        "request_id": actor.get("request_id"),
        "outcome": outcome,
    }


def require_own_referral(actor: Actor, registration: Registration) -> None:
    actor = actor or {}
    referral = registration.get("referral") or {}
    if (
        actor.get("role") != "referrer"
        or not actor.get("referrer_id")
        or referral.get("referrer_id") != actor["referrer_id"]
    ):
        raise Forbidden("a referrer may read only the status of their own referrals")


#: Who may register a person (the public form signs as `public`; `ops` is the project's tools).
REGISTERING_ROLES = ("public", "integration", "referrer", "contact_point_staff", "national_admin", "ops")


def check_register_actor(actor: Actor, data: Intake) -> None:
    """A referrer registers only on their own behalf of referral, with the person's consent attested."""
    actor = actor or {}
    if actor.get("role") not in REGISTERING_ROLES:
        raise Forbidden(f"role {actor.get('role')!r} may not register people")
    if actor.get("role") != "referrer":
        return
    referral = data.get("referral") or {}
    if referral.get("referrer_id") != actor.get("referrer_id"):
        raise Forbidden("a referrer may register people only under their own referrer id")
    if data["consent"]["channel"] != "referrer":
        raise InvalidInput({"consent": {"channel": ["consent_channel"]}})


def require_person_or_staff(actor: Actor, registration: Registration) -> None:
    """The person on their own page (a participant actor for this registration), staff of the
    person's contact point, or national_admin."""
    if not is_participant(actor, registration["_id"]):
        require_staff_of(actor, registration)


def require_may_act_for(actor: Actor, registration: Registration) -> None:
    """Withdraw, come back or erase: the person, staff of the person's contact point,
    national_admin, or the referrer who registered them (passing on the person's wish)."""
    if (actor or {}).get("role") == "referrer":
        require_own_referral(actor, registration)
    else:
        require_person_or_staff(actor, registration)


def withdrawal_reason(actor: Actor, reason: str, registration: Registration) -> str:
    """Who asked for the withdrawal; checks that the actor may ask it."""
    require_may_act_for(actor, registration)
    if (actor or {}).get("role") == "referrer":
        return "referrer"
    if is_participant(actor):
        return "person"
    if reason not in WITHDRAWAL_REASONS:
        raise InvalidInput({"reason": ["not_one_of"]})
    return reason


def check_erasure_reason(reason: str) -> str:
    if reason not in ERASURE_REASONS:
        raise InvalidInput({"reason": ["not_one_of"]})
    return reason


# --- status from matching's events -------------------------------------------------------------


def after_waitlisted(registration: Registration, contact_point_id: str, at: datetime) -> dict[str, Any]:
    """The person's contact point (for staff checks) and, unless withdrawn or paused meanwhile, waiting.
    A contact point takes them: no longer unroutable (unless the routing was older than that)."""
    changes: dict[str, Any] = {"contact_point_id": contact_point_id}
    if registration["status"] not in (WITHDRAWN, PAUSED, WAITING):
        changes["status"] = WAITING
    return {**changes, **_routed(registration, None, at)}


def after_unroutable(registration: Registration, at: datetime) -> dict[str, Any]:
    """Only the national office can take the person: time runs towards erasure, counted from now
    (the person is told, which is activity), until a contact point takes them. A routing that
    happened later and was applied first stands (the two events travel on separate queues)."""
    routed = _routed(registration, UNROUTABLE, at)
    return {**routed, LAST_ACTIVITY: at} if routed else {}


def _routed(registration: Registration, reason: str | None, at: datetime) -> dict[str, Any]:
    """The routing's time and what it means for retention, unless a later routing was applied
    already: a contact point takes the person (None), or only the national office can."""
    if registration.get("routed_at") is not None and registration["routed_at"] > at:
        return {}
    return {"routed_at": at, "retention_reason": reason}


def after_assigned(registration: Registration, contact_point_id: str, at: datetime) -> dict[str, Any]:
    """The national office assigned the person to a contact point (their registration_waitlisted
    follows): activity, which the retention period counts from."""
    return {"assigned_to": contact_point_id, "assigned_at": at, LAST_ACTIVITY: at}


def after_group_closed(registration: Registration, group_id: str, reason: str, at: datetime) -> dict[str, Any]:
    """The person's group closed: the end of their group life, from which the retention period
    counts. A superseded or dissolved proposal is not their group (its people wait on, and were
    never in_group for it), nor is a group they left. A close applied before the confirmation
    (separate queues, rare) leaves the person in_group, kept: the safe side."""
    if reason == "superseded" or registration["status"] != IN_GROUP or registration.get("group_id") != group_id:
        return {}
    return {"retention_reason": GROUP_CLOSED, LAST_ACTIVITY: at}


def check_contact_purpose(purpose: object) -> str:
    """Why the national office contacted the person: one of a fixed list, never free text."""
    if purpose not in CONTACT_PURPOSES:
        raise InvalidInput({"purpose": ["not_one_of"]})
    return str(purpose)


def after_joined(
    registration: Registration, group_id: str, contact_point_id: str, group_state: str | None = None
) -> dict[str, Any]:
    """In a group once it is confirmed (a proposal is not yet a place: the person is not told).
    A pause that crossed the confirmation on the bus gives way to the group."""
    if registration["status"] == WITHDRAWN or group_state == "proposed":
        return {}
    return {
        "status": IN_GROUP,
        "group_id": group_id,
        "contact_point_id": contact_point_id,
        "paused_until": None,
        "retention_reason": None,
    }


def proposing(registration: Registration) -> dict[str, str]:
    """{group_id: contact_point_id} of the open proposals that hold the person: the contact points
    whose staff may read their first name besides their own (see first_names)."""
    marks = registration.get("proposed_by")
    return dict(marks) if isinstance(marks, dict) else {}


def their_contact_points(registration: Registration) -> set[str]:
    """The contact point the person waits with or is in a group of, and those proposing a group of them."""
    own = registration.get("contact_point_id")
    return {*([own] if own else []), *proposing(registration).values()}


def after_proposed(registration: Registration, group_id: str, contact_point_id: str) -> dict[str, Any]:
    return {"proposed_by": {**proposing(registration), group_id: contact_point_id}}


def after_proposal_ended(registration: Registration, group_id: str) -> dict[str, Any]:
    """A proposal rejected, or closed (superseded by a re-solve, or a group's end): its contact point's
    mark goes, so its staff no longer read the person's first name through it."""
    marks = proposing(registration)
    if group_id not in marks:
        return {}
    return {"proposed_by": {key: value for key, value in marks.items() if key != group_id}}


def after_left(registration: Registration, group_id: str) -> dict[str, Any]:
    if registration["status"] != IN_GROUP or registration.get("group_id") != group_id:
        return {}
    return {"status": WAITING, "group_id": None}


def retention_cutoff(now: datetime, retention_days: float) -> datetime:
    return now - timedelta(days=retention_days)


# --- the person's own page (issue 13) ----------------------------------------------------------


def pause_weeks(weeks: object) -> int:
    low, high = PAUSE_WEEKS
    if isinstance(weeks, bool) or not isinstance(weeks, int) or not low <= weeks <= high:
        raise InvalidInput({"weeks": ["range"]})
    return weeks


def pause_end(now: datetime, weeks: int) -> datetime:
    """00:00 Europe/Oslo of the day `weeks` weeks ahead (DST-safe: a date, then midnight there)."""
    day = now.astimezone(OSLO).date() + timedelta(days=7 * weeks)
    return datetime.combine(day, time(0), tzinfo=OSLO)


def check_may_pause(registration: Registration) -> None:
    """A person in a confirmed or running group leaves it instead; a withdrawn one comes back first."""
    if registration["status"] == IN_GROUP:
        raise Conflict("in_group")
    if registration["status"] == WITHDRAWN:
        raise Conflict("withdrawn")


def status_after_pause(registration: Registration) -> str:
    """Waiting again where matching last placed the person, or registered if it never did."""
    return WAITING if registration.get("contact_point_id") else REGISTERED


def check_channel(preferences: dict[str, Any], contact: Contact) -> None:
    """A channel needs its address: a field error names the channel chosen."""
    channel = preferences.get("preferred_channel")
    if channel == "sms" and not contact.get("phone"):
        raise InvalidInput({"preferred_channel": ["SMS was chosen, but no mobile number is on file."]})
    if channel == "email" and not contact.get("email"):
        raise InvalidInput({"preferred_channel": ["E-mail was chosen, but no e-mail address is on file."]})


def changed_preferences(registration: Registration, wanted: dict[str, Any]) -> dict[str, Any]:
    """The preferences in `wanted` that differ from the stored ones."""
    return {field: value for field, value in wanted.items() if registration.get(field) != value}


def personal_view(registration: Registration, contact: Contact) -> dict[str, Any]:
    """What the person sees of themselves on their page: no digests, no other person, no free text."""
    paused_until = registration.get("paused_until")
    return {
        "registration_id": registration["_id"],
        "status": registration["status"],
        "contact_point_id": registration.get("contact_point_id"),
        "waiting_since": iso(registration["registered_at"]),
        "paused_until": iso(paused_until) if paused_until else None,
        "group_id": registration.get("group_id"),
        "preferences": {
            **{field: registration.get(field) for field in PREFERENCE_FIELDS},
            "accessibility_needs": registration.get("accessibility_needs") or [],
        },
        "has_email": bool(contact.get("email")),
        "has_phone": bool(contact.get("phone")),
        "avoid_count": len(registration.get("avoid_digests") or []),
        "first_name": first_name(contact.get("name")),
    }


def first_name(name: str | None) -> str:
    words = (name or "").split()
    return words[0] if words else ""


def links_valid_from(now: datetime) -> datetime:
    """The start of the next second: tokens carry whole seconds, and one issued in this very
    second must count as revoked."""
    return datetime.fromtimestamp(math.floor(now.timestamp()) + 1, tz=now.tzinfo)


def sorted_pair(a: str, b: str) -> list[str]:
    """A pair of registration ids on the bus: sorted, so it never says who listed whom."""
    return sorted((a, b))
