"""The gateway's pure rules: what the pages' forms mean (the intake contract from the registration
form, a group's confirmation, a contact point's changes), how their errors are shown, and where a
person lands after signing in. Plain values in, plain values out; the time is passed in."""

import re
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from marshmallow import ValidationError

from services.common.contact_point_input import DEFAULT_SENDER_NAME
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


class Form(Protocol):
    """A submitted form (werkzeug's MultiDict): one value per name, or all of them."""

    def get(self, key: str, default: Any = None) -> Any: ...
    def getlist(self, key: str) -> list[Any]: ...


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
            payload["birth_year"] = int(form.get("birth_year"))
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


def contact_point_changes(form: Form) -> tuple[dict[str, Any], dict[str, str]]:
    """The partial change the directory form makes; (changes, errors)."""
    changes: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "sender_name": form.get("sender_name", "").strip() or DEFAULT_SENDER_NAME,  # blank: the default
        "municipalities": form.get("municipalities", "").split(),
        "languages": form.get("languages", "").split(),
        "digital_groups": form.get("digital_groups") == "yes",
    }
    errors = {}
    for key in ("min_size", "max_size"):
        try:
            changes[key] = int(form.get(key, ""))
        except ValueError:
            errors[key] = "whole_number"
    return changes, errors


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a path of this site."""
    return target if target and target.startswith("/") and not target.startswith("//") else ""


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
