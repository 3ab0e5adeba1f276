"""Signed actors (docs/rpc.md, "Signed actors"): who an RPC acts for, as a compact JWS (EdDSA,
Ed25519) that the caller's process signs for one `<service>.<method>` and the callee verifies
before anything else runs.

- `Actor`: what a caller passes (a dict of the claims below); the shared proxies sign it.
- `SELF`: the calling process itself: a service's own identity, or `ops` for a tool.
- `Signer` and `Verifier`: the keys (`FLOKK_SIGNING_KEY`, `FLOKK_VERIFY_KEYS`); in test and demo,
  unset keys are development keys derived from the signer's name (never valid in production).
- `may_sign`: which issuer may sign which role. Only the gateway signs people; a service signs
  only itself; only `ops` signs `ops`. A stolen service key cannot become an administrator.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from . import clock
from .errors import Unauthenticated

SIGNING_KEY = "FLOKK_SIGNING_KEY"
VERIFY_KEYS = "FLOKK_VERIFY_KEYS"
OPS = "ops"
#: The longest an actor may live, and the clock difference forgiven on either side.
LIFETIME_SECONDS = 60
LEEWAY_SECONDS = 5

#: Roles only the gateway signs: the people behind an HTTP request.
PEOPLE = ("public", "participant", "referrer", "contact_point_staff", "national_admin", "integration")
#: Roles whose `sub` is an account id.
ACCOUNT_ROLES = ("referrer", "contact_point_staff", "national_admin", "integration")
GATEWAY = "gateway"

#: The reasons of a refusal, as `Unauthenticated` carries them.
MISSING, MALFORMED, FORGED, EXPIRED, WRONG_AUDIENCE, NOT_YET_VALID, NOT_ITS_ROLE = (
    "missing",
    "malformed",
    "forged",
    "expired",
    "wrong audience",
    "not yet valid",
    "issuer may not sign this role",
)


class Actor(dict[str, Any]):
    """Who a call acts for, before it is signed: `role`, and `account_id`, `contact_point_ids`,
    `referrer_id`, `registration_id`, `service`, `purpose`, `request_id` as the role needs. A
    proxy that sees one among a call's arguments sends the signed token in its place."""


#: The calling process itself: `{"role": "service", "service": <its name>}`, or `ops` for a tool.
SELF = Actor(role="self")


def may_sign(issuer: str, role: str, sub: str) -> bool:
    if role in PEOPLE:
        return issuer == GATEWAY
    if role == "service":
        return sub == issuer and issuer != OPS
    if role == OPS:
        return issuer == OPS
    return False


# --- keys -------------------------------------------------------------------------------------


def development_private_key(name: str) -> Ed25519PrivateKey:
    """The key `name` signs with in test and demo when FLOKK_SIGNING_KEY is unset: derived from the
    name, so every process of a developer's stack agrees without configuration. Production never
    accepts it (the verifier there knows only FLOKK_VERIFY_KEYS)."""
    seed = hashlib.sha256(f"flokk development signing key for {name}".encode()).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


def _b64decode(text: str) -> bytes:
    text = text.strip()
    padded = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def private_key_from_text(text: str) -> Ed25519PrivateKey:
    """A PEM (PKCS#8) Ed25519 private key, or the base64 of its 32 raw bytes."""
    if "BEGIN" in text:
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{SIGNING_KEY} is not an Ed25519 key")
        return key
    raw = _b64decode(text)
    if len(raw) != 32:
        raise ValueError(f"{SIGNING_KEY} must be 32 bytes of base64 (or a PEM key), not {len(raw)} bytes")
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """A PEM Ed25519 public key, or the base64 of its 32 raw bytes."""
    if "BEGIN" in text:
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return key
    raw = _b64decode(text)
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 public key is 32 bytes of base64, not {len(raw)} bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def public_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return _b64encode(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def private_text(key: Ed25519PrivateKey) -> str:
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    return _b64encode(raw)


def parse_verify_keys(text: str) -> dict[str, list[Ed25519PublicKey]]:
    """FLOKK_VERIFY_KEYS: a JSON object, signer name -> a public key or a list of them."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{VERIFY_KEYS} is not JSON: {exc.msg}") from None
    if not isinstance(document, dict):
        raise ValueError(f"{VERIFY_KEYS} must be a JSON object: signer name -> public key(s)")
    keys: dict[str, list[Ed25519PublicKey]] = {}
    for name, value in document.items():
        texts = value if isinstance(value, list) else [value]
        try:
            keys[name] = [public_key_from_text(str(t)) for t in texts]
        except (ValueError, binascii.Error) as exc:
            raise ValueError(f"{VERIFY_KEYS}: the key of {name!r} is not usable: {exc}") from None
    return keys


# --- signing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signer:
    """Signs actors as `name` (a service's name, or `ops`)."""

    name: str
    key: Ed25519PrivateKey

    @classmethod
    def from_settings(cls, name: str, key_text: str | None, development: bool) -> Signer:
        if key_text:
            return cls(name, private_key_from_text(key_text))
        if development:
            return cls(name, development_private_key(name))
        raise ValueError(f"{name} cannot sign actors: {SIGNING_KEY} is not set")

    def claims(self, actor: Mapping[str, Any], aud: str) -> dict[str, Any]:
        role = str(actor.get("role") or "")
        if role == "self":
            role = OPS if self.name == OPS else "service"
        sub = subject(role, actor, self.name)
        iat = int(clock.now().timestamp())
        return {
            "iss": self.name,
            "sub": sub,
            "role": role,
            "contact_point_ids": list(actor.get("contact_point_ids") or []),
            "referrer_id": actor.get("referrer_id"),
            "registration_id": actor.get("registration_id") or (sub if role == "participant" else None),
            "purpose": actor.get("purpose"),
            "request_id": actor.get("request_id") or uuid.uuid4().hex,
            "aud": aud,
            "iat": iat,
            "exp": iat + LIFETIME_SECONDS,
        }

    def sign(self, actor: Mapping[str, Any], aud: str) -> str:
        return self.sign_claims(self.claims(actor, aud))

    def sign_claims(self, claims: Mapping[str, Any]) -> str:
        header = {"alg": "EdDSA", "typ": "JWT", "kid": self.name}
        signing_input = f"{_segment(header)}.{_segment(claims)}"
        return f"{signing_input}.{_b64encode(self.key.sign(signing_input.encode()))}"


def subject(role: str, actor: Mapping[str, Any], issuer: str) -> str:
    if role in ACCOUNT_ROLES:
        return str(actor.get("account_id") or "")
    if role == "participant":
        return str(actor.get("registration_id") or "")
    if role == "service":
        return issuer
    return role  # public, ops


def _segment(document: Mapping[str, Any]) -> str:
    return _b64encode(json.dumps(document, sort_keys=True, separators=(",", ":")).encode())


def sign_arguments(signer: Signer, aud: str, args: Iterable[Any], kwargs: Mapping[str, Any]) -> tuple[list, dict]:
    """A call's arguments with every `Actor` among them replaced by its token for `aud`."""

    def signed(value: Any) -> Any:
        return signer.sign(value, aud) if isinstance(value, Actor) else value

    return [signed(a) for a in args], {k: signed(v) for k, v in kwargs.items()}


# --- verifying --------------------------------------------------------------------------------


class Verifier:
    """Verifies tokens against FLOKK_VERIFY_KEYS; in development, also against the development key
    of whatever name signed (so a test's own small service needs no configuration)."""

    def __init__(self, keys: Mapping[str, list[Ed25519PublicKey]], development: bool = False) -> None:
        self.keys = dict(keys)
        self.development = development

    @classmethod
    def from_settings(cls, keys_text: str | None, development: bool) -> Verifier:
        if keys_text:
            return cls(parse_verify_keys(keys_text), development=False)
        if development:
            return cls({}, development=True)
        raise ValueError(f"nobody's actor can be verified: {VERIFY_KEYS} is not set")

    def keys_of(self, issuer: str) -> list[Ed25519PublicKey]:
        if issuer in self.keys:
            return self.keys[issuer]
        if self.development and issuer:
            return [development_private_key(issuer).public_key()]
        return []

    def verify(self, token: Any, aud: str) -> dict[str, Any]:
        """The verified actor (the dict of docs/rpc.md), or `Unauthenticated` with its reason."""
        if token is None or token == "":
            raise Unauthenticated(MISSING)
        header, claims, signing_input, signature = _parts(token)
        issuer = claims.get("iss")
        if header.get("alg") != "EdDSA" or header.get("kid") != issuer or not isinstance(issuer, str):
            raise Unauthenticated(MALFORMED)
        if not any(_valid(key, signature, signing_input) for key in self.keys_of(issuer)):
            raise Unauthenticated(FORGED)
        if claims.get("aud") != aud:
            raise Unauthenticated(WRONG_AUDIENCE)
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or not isinstance(exp, int) or exp - iat > LIFETIME_SECONDS:
            raise Unauthenticated(MALFORMED)
        now = clock.now().timestamp()
        if now > exp + LEEWAY_SECONDS:
            raise Unauthenticated(EXPIRED)
        if iat > now + LEEWAY_SECONDS:
            raise Unauthenticated(NOT_YET_VALID)
        role, sub = str(claims.get("role") or ""), str(claims.get("sub") or "")
        if not sub or not may_sign(issuer, role, sub):
            raise Unauthenticated(NOT_ITS_ROLE)
        return actor_from_claims(claims)


def _parts(token: Any) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    if not isinstance(token, str) or token.count(".") != 2:
        raise Unauthenticated(MALFORMED)
    header_text, claims_text, signature_text = token.split(".")
    try:
        header = json.loads(_b64decode(header_text))
        claims = json.loads(_b64decode(claims_text))
        signature = _b64decode(signature_text)
    except (ValueError, binascii.Error):
        raise Unauthenticated(MALFORMED) from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise Unauthenticated(MALFORMED)
    return header, claims, f"{header_text}.{claims_text}".encode(), signature


def _valid(key: Ed25519PublicKey, signature: bytes, signing_input: bytes) -> bool:
    try:
        key.verify(signature, signing_input)
        return True
    except InvalidSignature:
        return False


def actor_from_claims(claims: Mapping[str, Any]) -> dict[str, Any]:
    role, sub = claims["role"], claims["sub"]
    return {
        "role": role,
        "account_id": sub if role in ACCOUNT_ROLES else None,
        "registration_id": claims.get("registration_id") if role == "participant" else None,
        "service": sub if role == "service" else None,
        "contact_point_ids": list(claims.get("contact_point_ids") or []),
        "referrer_id": claims.get("referrer_id"),
        "purpose": claims.get("purpose"),
        "request_id": claims.get("request_id"),
        "issuer": claims["iss"],
    }
