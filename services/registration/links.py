"""Personal links: a token that lets a person open their own page without an account. Pure.

`v1.<registration_id>.<purpose>.<issued_at>.<expires_at>.<mac>`: times in Unix seconds; the mac
is HMAC-SHA-256 under `FLOKK_LINK_KEY` over the five fields before it joined with "|", in
base64url without padding. Nothing is stored per token: a token is good until it expires, unless
it was issued before the registration's `links_valid_from` (revocation) or the registration is
gone (erasure). Every way a token can fail is one and the same `BadLink`, so a caller cannot tell
a tampered token from an expired or revoked one.
"""

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

VERSION = "v1"
#: `me`: the personal page. Other purposes would be other pages, each its own token.
PERSONAL_PAGE = "me"
PURPOSES = (PERSONAL_PAGE,)
LIFETIME = timedelta(days=90)


class BadLink(Exception):
    """Tampered, malformed, expired, revoked, of another purpose, or for a registration gone."""


def _mac(key: bytes, fields: list[str]) -> str:
    digest = hmac.new(key, "|".join(fields).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def mint(key: bytes, registration_id: str, purpose: str, issued_at: datetime, lifetime: timedelta = LIFETIME) -> str:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown link purpose {purpose!r}")
    if "." in registration_id or "|" in registration_id:
        raise ValueError("a registration id in a link holds neither '.' nor '|'")
    issued = int(issued_at.timestamp())
    fields = [VERSION, registration_id, purpose, str(issued), str(issued + int(lifetime.total_seconds()))]
    return ".".join([*fields, _mac(key, fields)])


def read(key: bytes, token: object, purpose: str, now: datetime) -> tuple[str, int]:
    """`(registration_id, issued_at)` of a good token for `purpose`, else BadLink."""
    if not isinstance(token, str) or len(token) > 512:
        raise BadLink()
    parts = token.split(".")
    if len(parts) != 6 or parts[0] != VERSION:
        raise BadLink()
    fields, mac = parts[:5], parts[5]
    if not hmac.compare_digest(mac, _mac(key, fields)):
        raise BadLink()
    _, registration_id, token_purpose, issued, expires = fields
    if token_purpose != purpose or not (issued.isdigit() and expires.isdigit()):
        raise BadLink()
    if int(expires) <= now.timestamp():
        raise BadLink()
    return registration_id, int(issued)


def revoked(issued_at: int, links_valid_from: datetime | None) -> bool:
    """Issued before the registration's links were last revoked. `links_valid_from` is stored as
    the second after the revocation, so a token issued in the second of the revocation is revoked too."""
    return links_valid_from is not None and issued_at < links_valid_from.timestamp()
