"""The gateway's pure rules: what the pages' forms mean (the intake contract from the registration
form, a group's confirmation and handover, a contact point's changes and meeting places, a course
cohort, and everything a person does on their own page), how their errors are shown, how long a
personal session lives, where a person lands after signing in, how long a failed sign-in waits, and
who sent a request behind a trusted proxy. Plain values in, plain values out; the time is passed in."""

import ipaddress
import math
import re
from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from services.common.contact_point_input import DEFAULT_SENDER_NAME
from services.common.contracts import (
    ACCESSIBILITY_FEATURES,
    ACCESSIBILITY_NEEDS,
    CHANNELS,
    MESSAGE_LANGUAGES,
    PARTS_OF_DAY,
    THEMES,
    WEEKDAYS,
    GroupClosed,
    GroupRejected,
    RegistrationRequested,
)
from services.common.envelope import iso
from services.common.errors import field_errors

from .content import CURRENT_CONSENT

CONSENT_VERSION = CURRENT_CONSENT
ADULT_AGE = 18
#: A stable error code as the services raise it (docs/gateway.md, "Errors").
CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
#: Codes that say only that a field is wrong: the field's own message says better what to do.
GENERIC_CODES = frozenset({"required", "invalid", "not_one_of", "length", "range", "unknown_field", "null"})
FORM_LANGUAGES = ("nb", "nn", "en", "se", "pl", "uk", "ar", "so", "ti", "fa")
REJECT_REASONS: tuple[str, ...] = tuple(GroupRejected._declared_fields["reason"].validate.choices)  # type: ignore[union-attr]
CLOSE_REASONS: tuple[str, ...] = tuple(GroupClosed._declared_fields["reason"].validate.choices)  # type: ignore[union-attr]
# Why staff need to see a person's details: the answer is the audit entry's purpose.
PURPOSES = ("contact_about_group", "answer_question", "withdrawal_or_erasure", "correction")
LOCAL_TIME = ZoneInfo("Europe/Oslo")  # a first meeting typed without an offset is Norwegian time
OVERRIDE_REASON_LONGEST = 300  # matching's limit on why staff confirm against one of its rules
FORM_ORDER = (
    "organisation",
    "name",
    "email",
    "phone",
    "postal_code",
    "role",
    "themes",
    "languages",
    "availability",
    "open_to_mixed",
    "birth_year",
    "accessibility_needs",
    "message_language",
    "free_text",
    "idempotency_key",
    "consent",
    "consent_attested",
    "meeting_place_id",
    "first_meeting_at",
    "starter_id",
    "handover_planned_on",
    "override_reason",
)
Errors = dict[str, Any]


#: A submitted form (werkzeug's MultiDict, or the request's immutable one): one value per name, or all.
Form = MultiDict[str, str]


def register_choices() -> dict[str, Any]:
    """What the registration form offers (the public's and the referrer's)."""
    return {
        "themes": THEMES,
        "weekdays": WEEKDAYS,
        "parts": PARTS_OF_DAY,
        "needs": ACCESSIBILITY_NEEDS,
        "form_languages": FORM_LANGUAGES,
    }


def is_postal_code(text: str) -> bool:
    return len(text) == 4 and text.isdigit()


def intake_from_form(
    form: Form, lang: str, now: datetime, idempotency_key: str, referral: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], Errors]:
    """The intake contract from the form fields; (payload, {field: [messages]}). A form sent
    without its idempotency key gets `idempotency_key`."""
    errors: Errors = {}
    payload: dict[str, Any] = {
        "idempotency_key": form.get("idempotency_key") or idempotency_key,
        "name": form.get("name", "").strip(),
        "role": form.get("role", ""),
        "themes": form.getlist("themes"),
        "languages": [x for x in [form.get("language")] if x],
        "availability": [
            dict(zip(("weekday", "part_of_day"), slot.split("-", 1), strict=True))
            for slot in form.getlist("availability")
            if "-" in slot
        ],
        "digital_ok": form.get("digital_ok") == "yes",
        "not_in_own_municipality": form.get("not_in_own_municipality") == "yes",
        "accessibility_needs": form.getlist("accessibility_needs"),
        "message_language": form.get("message_language") or lang,
        "consent": {
            "purpose": "self_help_group_matching",
            "text_version": CONSENT_VERSION,
            "given_at": iso(now),
            "channel": "referrer" if referral else "self",
        },
    }
    for key in ("email", "phone", "postal_code", "free_text"):
        value = form.get(key, "").strip()
        if key == "phone" and value:
            value = e164(value)
        if value:
            payload[key] = value
    if form.get("open_to_mixed") in ("yes", "no"):
        payload["open_to_mixed"] = form.get("open_to_mixed") == "yes"
    if form.get("birth_year", "").strip():
        try:
            payload["birth_year"] = int(form.get("birth_year", ""))
        except ValueError:
            errors["birth_year"] = ["err_birth_year"]
        else:
            if is_under_age(payload["birth_year"], now):
                errors["birth_year"] = ["under_18"]
    if referral:
        payload["referral"] = dict(referral)
        if not referral.get("organisation"):
            errors["organisation"] = ["err_organisation"]
    elif form.get("consent") != "yes":
        errors["consent"] = ["consent_required"]
    try:
        RegistrationRequested().load(payload)
    except ValidationError as exc:
        found = field_errors(exc.messages)
        if "organisation" in errors:  # the referral's one field of the form is its organisation
            found.pop("referral", None)
        errors = {**found, **errors}
    return payload, errors


def is_under_age(birth_year: int, now: datetime) -> bool:
    """Younger than 18 in the current year, Norwegian time (the intake contract's rule): the form
    points them to help for young people rather than calling the year wrong."""
    return 1900 <= birth_year and now.astimezone(LOCAL_TIME).year - birth_year < ADULT_AGE


def e164(phone: str) -> str:
    """A Norwegian phone number as typed (912 34 567, 0047…) in the form the contract wants."""
    digits = "".join(ch for ch in phone if ch.isdigit() or ch == "+")
    if len(digits) == 8 and digits.isdigit():
        return "+47" + digits
    if digits.startswith("0047"):
        return "+" + digits[2:]
    return digits


def chosen(form: Form) -> dict[str, list[Any]]:
    """The boxes that were ticked, to tick them again when the form comes back with errors."""
    return {key: form.getlist(key) for key in ("themes", "availability", "accessibility_needs")}


def first_message(value: Any) -> str:
    """The first message of a field's errors (a list, or a dict of nested fields' lists)."""
    if isinstance(value, dict):
        return next((first_message(v) for v in value.values()), "")
    if isinstance(value, (list, tuple)):
        return first_message(value[0]) if value else ""
    return str(value)


def text_key(field: str, message: str, known: Collection[str]) -> str:
    """The key of the text a page shows for one field's error (the texts are in `known`):
    - a key of the page's own (`consent_required`, `under_18`, `err_<field>`) as it is;
    - a service's error code that the page words (`code_<code>`), unless the code only says the
      field is wrong and the field has a message of its own (`err_<field>`) saying what to do;
    - else the field's own message, or `err_unknown` (the caller logs the code)."""
    if message in known:
        return message
    if (
        CODE.match(message)
        and f"code_{message}" in known
        and not (message in GENERIC_CODES and f"err_{field}" in known)
    ):
        return f"code_{message}"
    return f"err_{field}" if f"err_{field}" in known else "err_unknown"


def flat_errors(errors: Errors | None, known: Collection[str]) -> dict[str, str]:
    """{field: the key of its message} in the order of the form (see `text_key`)."""
    rank = {name: i for i, name in enumerate(FORM_ORDER)}
    return {
        key: text_key(key, first_message((errors or {})[key]), known)
        for key in sorted(errors or {}, key=lambda k: (rank.get(k, len(rank)), k))
    }


def unworded(errors: Errors | None, known: Collection[str]) -> dict[str, str]:
    """{field: code} of the service's error codes the page has no words for (to be logged)."""
    found = {}
    for key, value in (errors or {}).items():
        message = first_message(value)
        if message not in known and f"code_{message}" not in known:
            found[key] = message if CODE.match(message) else "uncoded"
    return found


def confirmation_from_form(form: Form) -> tuple[dict[str, str], dict[str, str]]:
    """A proposal's confirmation (meeting place, first meeting, starter; the date the handover is
    planned and a reason to override matching's rules, when given); (confirmation, errors)."""
    errors, confirmation = {}, {}
    for key in ("meeting_place_id", "starter_id"):
        confirmation[key] = form.get(key, "").strip()
        if not confirmation[key]:
            errors[key] = f"err_{key}"
    when = form.get("first_meeting_at", "").strip()
    try:
        parsed = datetime.fromisoformat(when)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=LOCAL_TIME)
        confirmation["first_meeting_at"] = parsed.isoformat()
    except ValueError:
        errors["first_meeting_at"] = "err_first_meeting_at"
    planned = form.get("handover_planned_on", "").strip()
    if planned:
        if calendar_date(planned) is None:
            errors["handover_planned_on"] = "err_handover_planned_on"
        confirmation["handover_planned_on"] = planned
    override = form.get("override_reason", "").strip()
    if override:
        confirmation["override_reason"] = override
        if len(override) > OVERRIDE_REASON_LONGEST:
            errors["override_reason"] = "err_override_reason"
    return confirmation, errors


def acquaintances_from_form(form: Form) -> tuple[str, str, dict[str, str]]:
    """Two different people who know each other; (a, b, errors)."""
    a, b = form.get("registration_id_a", "").strip(), form.get("registration_id_b", "").strip()
    errors = {key: "err_person" for key, value in (("registration_id_a", a), ("registration_id_b", b)) if not value}
    if a and a == b:
        errors["registration_id_b"] = "err_same_person"
    return a, b, errors


def reason_from_form(form: Form, reasons: Collection[str]) -> tuple[str, dict[str, str]]:
    """Why a proposal is rejected or a group closed: one of the contract's reasons; (reason, errors)."""
    reason = form.get("reason", "")
    return reason, ({} if reason in reasons else {"reason": "choose_reason"})


def contact_point_form(contact_point: Mapping[str, Any]) -> dict[str, Any]:
    """A directory entry as its form shows it: lists as words."""
    return {
        **contact_point,
        "municipalities": " ".join(contact_point.get("municipalities") or []),
        "languages": " ".join(contact_point.get("languages") or []),
    }


#: The fields of the directory form that only the national office sees and changes (routing and
#: capacity; services/common/contact_point_input.STAFF_FIELDS are the staff's).
NATIONAL_FORM_FIELDS = ("municipalities", "digital_groups", "min_size", "max_size")


def contact_point_changes(form: Form, national: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """The partial change the directory form makes; (changes, errors). Staff (`national` false)
    change only what is theirs: a field of the national office's in their form is an error."""
    changes: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "sender_name": form.get("sender_name", "").strip() or DEFAULT_SENDER_NAME,  # blank: the default
        "languages": form.get("languages", "").split(),
    }
    if not national:
        return changes, {key: "national_only" for key in NATIONAL_FORM_FIELDS if form.get(key) is not None}
    changes["municipalities"] = form.get("municipalities", "").split()
    changes["digital_groups"] = form.get("digital_groups") == "yes"
    errors = {}
    for key in ("min_size", "max_size"):
        try:
            changes[key] = int(form.get(key, ""))
        except ValueError:
            errors[key] = "whole_number"
    return changes, errors


#: A path of this site as a sign-in's `next`: one slash, then no second slash or backslash, and only
#: the characters of a URL's path and query (no whitespace or control characters, which browsers
#: drop before they read a URL, and no backslash, which they read as a slash).
SAME_SITE_PATH = re.compile(r"^/(?![/\\])[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*$")


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a same-origin relative path, else nowhere ("")."""
    if not target or not SAME_SITE_PATH.match(target):
        return ""
    decoded = unquote(target)  # `/%2F/evil.example` or `/%5Cevil.example` once a server decodes it
    if not SAME_SITE_PATH.match(decoded) or urlsplit(decoded).netloc:
        return ""
    return target


def landing(account: Mapping[str, Any]) -> str:
    """The page a person lands on after signing in, by role."""
    role = account["role"]
    if role == "contact_point_staff" and account.get("contact_point_ids"):
        return f"/staff/{account['contact_point_ids'][0]}/pool"
    return {"national_admin": "/national", "referrer": "/referrer"}.get(role, "/")


def subpools(pool: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The waiting list as matching splits it: by role (self / relative) and first language, each
    longest-waiting first as matching lists them. [{"role", "language", "people"}]."""
    split: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for person in pool:
        split.setdefault((str(person.get("role") or ""), str(person.get("language") or "")), []).append(person)
    return [
        {"role": role, "language": language, "people": people}
        for (role, language), people in sorted(split.items(), key=lambda item: (-len(item[1]), item[0]))
    ]


def matches_reference(identifier: Any, reference: str) -> bool:
    """Whether an id starts with the short reference staff typed (any case, spaces ignored)."""
    typed = "".join(reference.split()).lower()
    return bool(typed) and str(identifier or "").lower().startswith(typed)


def _is_trusted(address: str, trusted_proxies: Collection[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(proxy, strict=False) for proxy in trusted_proxies)


def client_address(remote_addr: str, forwarded_for: str, trusted_proxies: Collection[str]) -> str:
    """Who sent a request: the peer, unless it is a trusted proxy; then the nearest address in
    X-Forwarded-For that is not one (a client can prepend anything, but not append)."""
    address = remote_addr
    if not _is_trusted(address, trusted_proxies):
        return address
    for hop in reversed([hop.strip() for hop in forwarded_for.split(",") if hop.strip()]):
        address = hop
        if not _is_trusted(hop, trusted_proxies):
            break
    return address


#: Sign-in throttling (issue 17): free attempts within the window, then 2^(n-5) s, at most 15 min.
SIGN_IN_FREE_FAILURES = 5
SIGN_IN_MAX_DELAY = timedelta(minutes=15)


def normalised_email(email: str) -> str:
    return (email or "").strip().lower()


def sign_in_wait(failures: list[datetime], now: datetime) -> int:
    """Seconds before the next sign-in may be tried, given the failures within the window (oldest
    first); 0 when it may be tried now."""
    if len(failures) < SIGN_IN_FREE_FAILURES:
        return 0
    delay = min(timedelta(seconds=2 ** (len(failures) - SIGN_IN_FREE_FAILURES)), SIGN_IN_MAX_DELAY)
    return max(0, math.ceil((max(failures) + delay - now).total_seconds()))


def calendar_date(text: str) -> date | None:
    """A date as a form's date field sends it (YYYY-MM-DD), else None."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text or ""):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _whole_number(text: Any, low: int, high: int) -> int | None:
    try:
        number = int(str(text).strip())
    except ValueError:
        return None
    return number if low <= number <= high else None


def _clock_time(text: str) -> bool:
    return bool(re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", text))


def _slots(values: list[str]) -> list[dict[str, str]]:
    """Ticked availability boxes (`tue-evening`) as the contract's slots."""
    return [dict(zip(("weekday", "part_of_day"), v.split("-", 1), strict=True)) for v in values if "-" in v]


# --- the personal page ---------------------------------------------------------------------------

PERSONAL_SESSION_IDLE = timedelta(minutes=30)
PERSONAL_SESSION_LONGEST = timedelta(hours=8)
PAUSE_WEEKS = tuple(range(2, 27))
AVOID_MOST = 20
COMMENT_MOST = 2000
ATTENDANCE_MOST = 20
RUNNING_GROUP = ("confirmed", "started", "self_run")  # a member cannot pause, only leave
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
NORWEGIAN_MOBILE = re.compile(r"^\+47[49]\d{7}$")


def personal_session_record(
    session_digest: str, registration_id: str, csrf_token: str, now: datetime
) -> dict[str, Any]:
    """A new personal session as the store keeps it (by the digest of its cookie)."""
    return {
        "_id": session_digest,
        "registration_id": registration_id,
        "csrf": csrf_token,
        "started_at": now,
        "seen_at": now,
        "expires_at": now + PERSONAL_SESSION_LONGEST,
    }


def personal_session_alive(started_at: datetime, seen_at: datetime, now: datetime) -> bool:
    """A personal session lives 30 minutes after its last request, and 8 hours at most."""
    return now < started_at + PERSONAL_SESSION_LONGEST and now < seen_at + PERSONAL_SESSION_IDLE


def personal_summary(view: Mapping[str, Any], status: Mapping[str, Any] | None) -> dict[str, Any]:
    """What the personal page shows and offers, from registration's view of the person
    (personal_view) and matching's (person_status; None when it could not answer)."""
    status = status or {}
    state = view.get("status") or "registered"
    group: Mapping[str, Any] | None = status.get("group") if state == "in_group" else None
    running = group is not None and group.get("state") in RUNNING_GROUP
    return {
        "state": state,
        "contact_point_id": view.get("contact_point_id") or status.get("contact_point_id"),
        "waiting_since": view.get("waiting_since") or status.get("queue_since"),
        "paused_until": view.get("paused_until") or status.get("paused_until"),
        "widening": status.get("widening") or [],
        "unroutable": status.get("state") == "unroutable",
        "group": group,
        "checkin": (group or {}).get("open_checkin"),
        "can_pause": state in ("waiting", "registered") and not running,
        "pause_blocked": running,
        "can_resume": state == "paused",
        "can_withdraw": state != "withdrawn",
        "can_come_back": state == "withdrawn",
        "can_leave": bool(group),
    }


def preference_form(preferences: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """A person's preferences as the change form shows them: (fields, ticked boxes)."""
    mixed = preferences.get("open_to_mixed")
    form = {
        "open_to_mixed": "" if mixed is None else ("yes" if mixed else "no"),
        "digital_ok": "yes" if preferences.get("digital_ok") else "",
        "not_in_own_municipality": "yes" if preferences.get("not_in_own_municipality") else "",
        "message_language": preferences.get("message_language") or "nb",
        "preferred_channel": preferences.get("preferred_channel") or "",
    }
    chosen = {
        "themes": list(preferences.get("themes") or []),
        "languages": list(preferences.get("languages") or []),
        "availability": [f"{s['weekday']}-{s['part_of_day']}" for s in preferences.get("availability") or []],
        "accessibility_needs": list(preferences.get("accessibility_needs") or []),
    }
    return form, chosen


def language_choices(current: Collection[str]) -> tuple[str, ...]:
    """The languages the change form offers: the registration form's, and any other the person has."""
    return (*FORM_LANGUAGES, *(code for code in current if code not in FORM_LANGUAGES))


def _same(a: Any, b: Any) -> bool:
    """Equal, where a list's order does not matter (the boxes come back in the form's order)."""
    if isinstance(a, list) and isinstance(b, list):
        return sorted(map(repr, a)) == sorted(map(repr, b))
    return bool(a == b)


def preference_changes(
    form: Form, current: Mapping[str, Any], has_email: bool, has_phone: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    """What the change form changes (only the fields that differ from `current`), each checked by
    the intake contract's own field; (changes, errors)."""
    wanted: dict[str, Any] = {
        "themes": form.getlist("themes"),
        "languages": form.getlist("languages"),
        "availability": _slots(form.getlist("availability")),
        "open_to_mixed": form.get("open_to_mixed") == "yes",
        "digital_ok": form.get("digital_ok") == "yes",
        "not_in_own_municipality": form.get("not_in_own_municipality") == "yes",
        "accessibility_needs": form.getlist("accessibility_needs"),
        "message_language": form.get("message_language", ""),
    }
    errors: dict[str, str] = {}
    if form.get("open_to_mixed") not in ("yes", "no"):
        errors["open_to_mixed"] = "err_open_to_mixed"
    channel = form.get("preferred_channel") or ""
    if channel:
        wanted["preferred_channel"] = channel
        if channel not in CHANNELS or (channel == "sms" and not has_phone) or (channel == "email" and not has_email):
            errors["preferred_channel"] = f"err_channel_{channel}" if channel in CHANNELS else "err_channel"
    if wanted["message_language"] not in MESSAGE_LANGUAGES:
        errors["message_language"] = "err_message_language"
    contract = RegistrationRequested._declared_fields
    for key in ("themes", "languages", "availability", "accessibility_needs"):
        try:
            contract[key].deserialize(wanted[key])
        except ValidationError:
            errors[key] = f"err_{key}"
    changes = {key: value for key, value in wanted.items() if not _same(value, current.get(key))}
    return changes, errors


def pause_weeks(form: Form) -> tuple[int | None, dict[str, str]]:
    weeks = _whole_number(form.get("weeks", ""), PAUSE_WEEKS[0], PAUSE_WEEKS[-1])
    return weeks, ({} if weeks else {"weeks": "err_weeks"})


def is_contact(text: str) -> bool:
    """An e-mail address or a Norwegian mobile number, as people type them."""
    return bool(EMAIL.match(text) or NORWEGIAN_MOBILE.match(e164(text)))


def avoid_list(form: Form) -> tuple[list[str], dict[str, str]]:
    """People the person does not want to meet: e-mail addresses or mobile numbers, one a line (or
    separated by commas), at most 20; (contacts, errors). Numbers go as E.164."""
    contacts: list[str] = []
    for entry in re.split(r"[\n,;]+", form.get("contacts", "")):
        entry = entry.strip()
        value = e164(entry) if entry and "@" not in entry else entry.lower()
        if entry and value not in contacts:
            contacts.append(value)
    if len(contacts) > AVOID_MOST:
        return contacts, {"contacts": "err_avoid_too_many"}
    if not all(is_contact(c) for c in contacts):
        return contacts, {"contacts": "err_avoid_entry"}
    return contacts, {}


def new_link_contact(form: Form) -> tuple[str, dict[str, str]]:
    """The address a new link is asked for, as typed (registration reads it; it goes nowhere else).
    A typo gets a field error here: registration answers the same to anything."""
    contact = form.get("contact", "").strip()
    return contact, ({} if len(contact) <= 254 and is_contact(contact) else {"contact": "err_contact"})


def checkin_answer(form: Form) -> tuple[dict[str, Any], dict[str, str]]:
    """A check-in member's answer, with an optional comment of at most 2000 characters."""
    answer: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key in ("still_meeting", "wants_new_members", "needs_help"):
        if form.get(key) in ("yes", "no"):
            answer[key] = form.get(key) == "yes"
        else:
            errors[key] = "err_answer_yes_no"
    attendance = _whole_number(form.get("usual_attendance", ""), 0, ATTENDANCE_MOST)
    if attendance is None:
        errors["usual_attendance"] = "err_usual_attendance"
    else:
        answer["usual_attendance"] = attendance
    comment = form.get("comment", "").strip()
    if len(comment) > COMMENT_MOST:
        errors["comment"] = "err_comment"
    elif comment:
        answer["comment"] = comment
    return answer, errors


# --- the group's life: handover and schedule -----------------------------------------------------

EVERY = ("week", "other_week")
CHECKIN_MEMBERS_MOST = 2


def schedule_from_form(form: Form) -> tuple[dict[str, str], dict[str, str]]:
    """When and where a group meets: weekday, start time, every or every other week, the place."""
    schedule = {
        "weekday": form.get("weekday", ""),
        "start_time": form.get("start_time", "").strip(),
        "every": form.get("every", ""),
        "meeting_place_id": form.get("meeting_place_id", "").strip(),
    }
    errors = {}
    if schedule["weekday"] not in WEEKDAYS:
        errors["weekday"] = "err_weekday"
    if not _clock_time(schedule["start_time"]):
        errors["start_time"] = "err_start_time"
    if schedule["every"] not in EVERY:
        errors["every"] = "err_every"
    if not schedule["meeting_place_id"]:
        errors["meeting_place_id"] = "err_meeting_place_id"
    return schedule, errors


def handover_from_form(form: Form, members: Collection[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The handover staff record: 0–2 members who answer the check-ins, and the schedule."""
    checkin = form.getlist("checkin_registration_ids")
    schedule, errors = schedule_from_form(form)
    if len(checkin) > CHECKIN_MEMBERS_MOST or not set(checkin) <= set(members):
        errors = {"checkin_registration_ids": "err_checkin_members", **errors}
    return {"checkin_registration_ids": checkin, "schedule": schedule}, errors


# --- course cohorts -------------------------------------------------------------------------------

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
COHORT_SIZES = tuple(range(4, 13))


def cohort_code(text: str | None) -> str | None:
    """A cohort's code as people type it (spaces, hyphens, small letters, O for 0, I and L for 1),
    as Crockford base32 reads it; None when it cannot be one."""
    code = re.sub(r"[\s-]", "", text or "").upper().translate(str.maketrans("OIL", "011"))
    return code if len(code) == 10 and all(ch in CROCKFORD for ch in code) else None


def cohort_from_form(form: Form) -> tuple[dict[str, Any], dict[str, str]]:
    """A course leader's new cohort: contact point, expected size, the course's slot, keep together."""
    errors = {}
    payload: dict[str, Any] = {
        "contact_point_id": form.get("contact_point_id", "").strip(),
        "expected_size": _whole_number(form.get("expected_size", ""), COHORT_SIZES[0], COHORT_SIZES[-1]),
        "slot": {
            "weekday": form.get("weekday", ""),
            "part_of_day": form.get("part_of_day", ""),
            "start_time": form.get("start_time", "").strip(),
        },
        "keep_together": form.get("keep_together") == "yes",
    }
    if not payload["contact_point_id"]:
        errors["contact_point_id"] = "err_cohort_contact_point"
    if payload["expected_size"] is None:
        errors["expected_size"] = "err_expected_size"
    if payload["slot"]["weekday"] not in WEEKDAYS:
        errors["weekday"] = "err_weekday"
    if payload["slot"]["part_of_day"] not in PARTS_OF_DAY:
        errors["part_of_day"] = "err_part_of_day"
    if not _clock_time(payload["slot"]["start_time"]):
        errors["start_time"] = "err_start_time"
    return payload, errors


# --- meeting places -------------------------------------------------------------------------------

PLACE_KINDS = ("physical", "digital")
PLACE_FIELDS = ("meeting_place_id", "name", "kind", "address", "capacity", "accessibility", "opening_hours")
VIDEO_URL_LONGEST = 500


def place_id(name: str, taken: Collection[str]) -> str:
    """A new meeting place's id from its name: «Grupperommet på Nygård» -> grupperommet-pa-nygard."""
    folded = name.lower().replace("æ", "ae").replace("ø", "o").replace("å", "a")
    base = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:56]
    base = base if len(base) >= 2 else f"sted-{base}".strip("-")
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def stored_place(place: Mapping[str, Any]) -> dict[str, Any]:
    """A meeting place as the directory gave it, limited to what a change sends back. A digital
    place's video link is never given out, so it is not sent: the directory keeps the one it has."""
    return {key: place[key] for key in PLACE_FIELDS if place.get(key) is not None}


def meeting_place_from_form(form: Form, places: list[Mapping[str, Any]]) -> tuple[dict[str, Any], dict[str, str]]:
    """A new or changed meeting place, physical (an address, step-free and the like) or digital (a
    video link, https, at most 500 characters; a kept place may leave it out); (place, errors)."""
    known = {p["meeting_place_id"]: p for p in places}
    existing = known.get(form.get("meeting_place_id", ""))
    name = form.get("name", "").strip()
    kind = form.get("kind", "physical")
    capacity = _whole_number(form.get("capacity", ""), 2, 500)
    errors = {}
    if not name or len(name) > 200:
        errors["name"] = "err_place_name"
    if kind not in PLACE_KINDS:
        errors["kind"] = "err_place_kind"
    if capacity is None:
        errors["capacity"] = "err_capacity"
    place: dict[str, Any] = {
        **(stored_place(existing) if existing else {}),
        "meeting_place_id": existing["meeting_place_id"] if existing else place_id(name, known),
        "name": name,
        "kind": kind,
        "capacity": capacity,
    }
    if kind == "digital":
        place.pop("address", None)
        place.pop("accessibility", None)
        url = form.get("video_url", "").strip()
        if url:
            place["video_url"] = url
        if (url and not _video_url(url)) or (not url and (existing or {}).get("kind") != "digital"):
            errors["video_url"] = "err_video_url"
        return place, errors
    address = {key: form.get(key, "").strip() for key in ("street", "postal_code", "city")}
    if not address["street"]:
        errors["street"] = "err_street"
    if not is_postal_code(address["postal_code"]):
        errors["postal_code"] = "err_postal_code"
    place["address"] = {key: value for key, value in address.items() if value}
    place["accessibility"] = [a for a in form.getlist("accessibility") if a in ACCESSIBILITY_FEATURES]
    return place, errors


def _video_url(url: str) -> bool:
    return url.startswith("https://") and len(url) <= VIDEO_URL_LONGEST and not re.search(r"\s", url)


def places_with(places: list[Mapping[str, Any]], place: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The contact point's meeting places with `place` added, or put in the place of its namesake."""
    others = [stored_place(p) for p in places if p["meeting_place_id"] != place["meeting_place_id"]]
    if any(p["meeting_place_id"] == place["meeting_place_id"] for p in places):
        at = [p["meeting_place_id"] for p in places].index(place["meeting_place_id"])
        return [*others[:at], dict(place), *others[at:]]
    return [*others, dict(place)]


def places_without(places: list[Mapping[str, Any]], meeting_place_id: str) -> list[dict[str, Any]]:
    return [stored_place(p) for p in places if p["meeting_place_id"] != meeting_place_id]
