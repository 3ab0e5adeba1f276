"""Credentials of the gateway: password hashes (argon2id), API tokens and session ids (only their
SHA-256 is stored), CSRF tokens, and the `actor` dict of docs/rpc.md built from an account.
Pure: no nameko, no pymongo."""

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.common.actors import Actor

ROLES = ("national_admin", "contact_point_staff", "referrer", "integration")
PUBLIC = "public"
PARTICIPANT = "participant"  # a person on their personal page, by the link registration opened
TOKEN_PREFIX = "flk_"

_hasher = PasswordHasher()  # argon2id with the library's current defaults
# Verifying against this when no account matches keeps the answer time the same for both cases.
_DUMMY_HASH = _hasher.hash("no such account")


def hash_password(password):
    return _hasher.hash(password)


def verify_password(password_hash, password):
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_secret(prefix=""):
    return prefix + secrets.token_urlsafe(32)


def digest(secret):
    """What is stored for a token or a session id: a leaked database holds no usable credential."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same(a, b):
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def actor_for(account, purpose=None, request_id=None):
    """The actor every personal-data RPC takes as its last argument (docs/rpc.md): an `Actor`, which
    the gateway's proxies sign for the one method they call."""
    if account is None:
        return Actor(
            account_id=None, role=PUBLIC, contact_point_ids=[], referrer_id=None, purpose=purpose, request_id=request_id
        )
    return Actor(
        account_id=account["_id"],
        role=account["role"],
        contact_point_ids=list(account.get("contact_point_ids") or []),
        referrer_id=account.get("referrer_id"),
        purpose=purpose,
        request_id=request_id,
    )


def participant_actor(registration_id, request_id=None):
    """The actor of a person on their own page: registration and matching let it act on this id only.
    Signed like every other person's actor (the gateway alone signs the role `participant`)."""
    return Actor(role=PARTICIPANT, registration_id=registration_id, purpose="personal_page", request_id=request_id)
