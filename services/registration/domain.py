"""Registration rules. Pure: no nameko, no pymongo."""
import hashlib
import json
import uuid

from services.common.envelope import iso

CONTACT_FIELDS = ("name", "email", "phone", "free_text")
PROFILE_FIELDS = ("role", "themes", "languages", "availability", "open_to_mixed", "birth_year", "digital_ok",
                  "not_in_own_municipality", "accessibility_needs", "cohort")


class IdempotencyConflict(Exception):
    """The key was used before with a different payload (the first payload wins)."""


def fingerprint(data):
    """A digest of a validated intake payload, to tell a repeat from a conflicting reuse of its key."""
    canonical = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def new_registration(data, place, now, registration_id=None):
    """Split a validated intake into the registration (no contact details) and its contact record."""
    registration_id = registration_id or str(uuid.uuid4())
    registration = {
        "_id": registration_id,
        "idempotency_key": data["idempotency_key"],
        "fingerprint": fingerprint(data),
        "status": "registered",
        "municipality_number": place["municipality_number"],
        "area": place.get("area"),
        **{field: data.get(field) for field in PROFILE_FIELDS},
        "message_language": data["message_language"],
        "preferred_channel": data.get("preferred_channel") or ("email" if data.get("email") else "sms"),
        "referral": data.get("referral"),
        "consent": data["consent"],
        "registered_at": now,
        "updated_at": now,
    }
    contact = {"_id": registration_id, **{field: data.get(field) for field in CONTACT_FIELDS}}
    return registration, contact


def check_repeat(existing, data):
    """The registration id for a repeated key, or IdempotencyConflict for a different payload."""
    if existing["fingerprint"] != fingerprint(data):
        raise IdempotencyConflict(data["idempotency_key"])
    return existing["_id"]


def matching_profile(registration):
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


def contact_for_notification(registration, contact):
    return {
        "registration_id": registration["_id"],
        "name": contact["name"],
        "email": contact.get("email"),
        "phone": contact.get("phone"),
        "message_language": registration["message_language"],
        "preferred_channel": registration["preferred_channel"],
        "status": registration["status"],
    }
