"""The gateway's pure rules: what the pages' forms mean (the intake contract from the registration
form, a group's confirmation, a contact point's changes), how their errors are shown, and where a
person lands after signing in. Plain values in, plain values out; the time is passed in."""

import ipaddress
import math
import re
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from services.common.contracts import (
    ACCESSIBILITY_NEEDS,
    PARTS_OF_DAY,
    THEMES,
    WEEKDAYS,
    GroupClosed,
    GroupRejected,
    RegistrationRequested,
)
from services.common.envelope import iso
from services.common.errors import field_errors

CONSENT_VERSION = "2026-01"
FORM_LANGUAGES = ("nb", "nn", "en", "se", "pl", "uk", "ar", "so", "ti", "fa")
REJECT_REASONS: tuple[str, ...] = tuple(GroupRejected._declared_fields["reason"].validate.choices)  # type: ignore[union-attr]
CLOSE_REASONS: tuple[str, ...] = tuple(GroupClosed._declared_fields["reason"].validate.choices)  # type: ignore[union-attr]
# Why staff need to see a person's details: the answer is the audit entry's purpose.
PURPOSES = ("contact_about_group", "answer_question", "withdrawal_or_erasure", "correction")
LOCAL_TIME = ZoneInfo("Europe/Oslo")  # a first meeting typed without an offset is Norwegian time
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
            errors["birth_year"] = ["Must be a year, such as 1980."]
    if referral:
        payload["referral"] = dict(referral)
    elif form.get("consent") != "yes":
        errors["consent"] = ["consent_required"]
    try:
        RegistrationRequested().load(payload)
    except ValidationError as exc:
        errors = {**field_errors(exc.messages), **errors}
    return payload, errors


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


def flat_errors(errors: Errors | None, known: Collection[str]) -> dict[str, str]:
    """{field: message} in the order of the form. A field with a message of its own in the page's
    language (`err_<field>` among the `known` texts) gets that, saying what to do; else the
    service's words are shown."""

    def words(value: Any) -> str:
        if isinstance(value, dict):
            return "; ".join(words(v) for v in value.values())
        if isinstance(value, (list, tuple)):
            return "; ".join(words(v) for v in value)
        return str(value)

    rank = {name: i for i, name in enumerate(FORM_ORDER)}
    flat = {}
    for key in sorted(errors or {}, key=lambda k: (rank.get(k, len(rank)), k)):
        message = words((errors or {})[key])
        flat[key] = f"err_{key}" if f"err_{key}" in known and message not in known else message
    return flat


def confirmation_from_form(form: Form) -> tuple[dict[str, str], dict[str, str]]:
    """A proposal's confirmation (meeting place, first meeting, starter); (confirmation, errors)."""
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
    return confirmation, errors


def rejection_from_form(form: Form) -> tuple[str, dict[str, str]]:
    """A proposal's rejection: one of the contract's reasons; (reason, errors)."""
    reason = form.get("reason", "")
    return reason, ({} if reason in REJECT_REASONS else {"reason": "choose_reason"})


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
    changes: dict[str, Any] = {"name": form.get("name", "").strip(), "languages": form.get("languages", "").split()}
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
