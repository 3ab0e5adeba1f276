"""Course cohorts (issue 13): the code a course leader hands out, and the rules of its use. Pure.

A code is 10 characters of Crockford's base32 (no I, L, O or U), drawn at random; as a person
types it, letters are read case-blind, I and L as 1, O as 0, and spaces and hyphens are ignored.
A cohort takes registrations until its deadline, 21 days after it was created."""

import secrets
from datetime import datetime, timedelta
from typing import Any

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10
LIFETIME = timedelta(days=21)
#: Failed attempts counted per code prefix of this length; more than FAILED_LIMIT an hour are refused.
PREFIX_LENGTH, FAILED_LIMIT, FAILED_WINDOW = 2, 10, timedelta(hours=1)
TYPED = str.maketrans({"I": "1", "L": "1", "O": "0"})


def new_code() -> str:
    return "".join(secrets.choice(CROCKFORD) for _ in range(CODE_LENGTH))


def normalised_code(typed: object) -> str | None:
    """The code as stored, or None for what cannot be one."""
    if not isinstance(typed, str):
        return None
    code = typed.upper().replace("-", "").replace(" ", "").translate(TYPED)
    return code if len(code) == CODE_LENGTH and all(ch in CROCKFORD for ch in code) else None


def prefix(code: str | None) -> str:
    return (code or "")[:PREFIX_LENGTH] or "-"


def is_open(cohort: dict[str, Any], registered: int, now: datetime) -> bool:
    """Takes registrations: before the deadline, and not yet as many as expected."""
    return now < cohort["deadline"] and registered < cohort["expected_size"]
