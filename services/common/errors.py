"""Errors that cross RPC: nameko sends the class name and the message; the gateway maps them.

A field error a service raises is a stable code (`capacity_too_small`, `date_in_past`, ...), not a
sentence: the gateway words each code in the reader's language (docs/gateway.md, "Errors").
`coded` turns marshmallow's messages, and the contracts' own, into those codes."""

import json
import re
from typing import Any


def field_errors(messages):
    """marshmallow's messages with every key a string (list items are keyed by index), so they
    can be stored, sent as JSON and read by a person: {"themes": {"0": ["Must be one of: ..."]}}."""
    if isinstance(messages, dict):
        return {str(key): field_errors(value) for key, value in messages.items()}
    if isinstance(messages, (list, tuple)):
        return [field_errors(value) for value in messages]
    return messages


class InvalidInput(ValueError):
    """Field-level validation errors; the message is the JSON of {field: [messages]}."""

    def __init__(self, errors):
        self.errors = field_errors(errors)
        super().__init__(json.dumps(self.errors, sort_keys=True))


class NotFound(LookupError):
    pass


class Forbidden(PermissionError):
    pass


class Conflict(Exception):
    pass


#: A stable error code: what services put in an InvalidInput's lists.
CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
#: marshmallow's messages and the contracts' own (by how they begin) -> their codes.
MESSAGE_CODES = (
    ("Missing data for required field", "required"),
    ("Field may not be null", "null"),
    ("Unknown field", "unknown_field"),
    ("Not a valid", "invalid"),
    ("Must be one of", "not_one_of"),
    ("Length must be", "length"),
    ("Shorter than", "length"),
    ("Longer than", "length"),
    ("Must be greater", "range"),
    ("Must be less", "range"),
    ("Must be a Norwegian mobile number", "not_norwegian_mobile"),
    ("Must be a Norwegian number", "not_norwegian_phone"),
    ("Must be a 4-digit", "not_four_digits"),
    ("Must be an ISO 639-1 code", "invalid"),
    ("Each ", "repeated"),
    ("Self-help groups in Flokk are for adults", "under_18"),
    ("Give an e-mail address or a mobile number", "contact_missing"),
    ("Give exactly one of postal_code and municipality_number", "place_missing"),
    ("E-mail was chosen", "channel_without_address"),
    ("SMS was chosen", "channel_without_address"),
    ("Consent attested by a referrer needs the referral", "referral_missing"),
    ("Consent must be for", "consent_purpose"),
    ("Must lie in Norway", "not_in_norway"),
    ("Use HH:MM", "clock_format"),
    ("Must be later than opens", "closes_before_opens"),
    ("Must not be smaller than min_size", "max_below_min"),
    ("Give the first name only", "first_name_only"),
    ("Use 2-64 lower-case letters", "invalid_id"),
    ("Unknown postal code", "unknown_postal_code"),
    ("Unknown municipality number", "unknown_municipality"),
    ("Unknown county number", "unknown_county"),
    ("The cohort is given once", "cohort_per_submission"),
    ("Only a digital meeting place has a video link", "video_url_not_digital"),
    ("Must be two different registration ids", "same_person"),
    ("A contact point cannot be its own parent", "own_parent"),
    ("A physical meeting place needs its address", "address_missing"),
    ("A digital meeting place has no address", "address_not_physical"),
    ("Must be an https:// address", "video_url_format"),
)


def coded(messages: Any) -> Any:
    """The same structure with every message a stable code (a code stays as it is; a message
    nobody gave a code is `invalid`), so what crosses RPC names the reason, never a value."""
    if isinstance(messages, dict):
        return {str(key): coded(value) for key, value in messages.items()}
    if isinstance(messages, (list, tuple)):
        return [coded(value) for value in messages]
    text = str(messages)
    if CODE.match(text):
        return text
    return next((code for start, code in MESSAGE_CODES if text.startswith(start)), "invalid")


def invalid(messages: Any) -> InvalidInput:
    """An InvalidInput of the codes of marshmallow's (or a contract's) messages."""
    return InvalidInput(coded(messages))


class Unauthenticated(PermissionError):
    """The `actor` of an RPC is missing, malformed, forged, expired or for another method; the
    message is that reason (docs/rpc.md, "Signed actors")."""
