"""Contact details at rest: encrypted with Fernet, looked up by keyed hash. Pure: no nameko, no pymongo.

- `FLOKK_CONTACT_KEYS`: Fernet keys, comma-separated, newest first. Everything is encrypted with the
  newest; older keys still decrypt, so a key is rotated without downtime: put the new key first,
  deploy, let reads (or the `rotate_contact_keys` RPC) re-encrypt, then drop the old key.
- `FLOKK_LOOKUP_KEY`: the HMAC key of the same-person lookups (normalised e-mail and phone) and of
  the payload fingerprints, so a stored digest cannot be tested against guessed addresses.
- `FLOKK_LINK_KEY`: the HMAC key of the personal links (links.py).

None has a default in production. Only when `FLOKK_MODE` is explicitly `test` or `demo` do the
fixed development keys below apply; they protect nothing and must never hold real data.
"""

import hashlib
import hmac
import json
import re

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from . import links

CONTACT_KEYS_VAR = "FLOKK_CONTACT_KEYS"
LOOKUP_KEY_VAR = "FLOKK_LOOKUP_KEY"
LINK_KEY_VAR = "FLOKK_LINK_KEY"
MODE_VAR = "FLOKK_MODE"
DEVELOPMENT_MODES = ("test", "demo")

# Development only (FLOKK_MODE=test|demo): public, so worthless as secrets.
DEVELOPMENT_CONTACT_KEY = "Zmxva2stZGV2ZWxvcG1lbnQtb25seS1rZXktMDAwMDA="
DEVELOPMENT_LOOKUP_KEY = "flokk-development-only-lookup-key"
DEVELOPMENT_LINK_KEY = "flokk-development-only-link-key"


class VaultMisconfigured(RuntimeError):
    """No keys in the environment outside development: refuse to start rather than store plain text."""


class Vault:
    def __init__(self, contact_keys, lookup_key, link_key=None):
        if not contact_keys:
            raise VaultMisconfigured("no contact keys")
        if not lookup_key:
            raise VaultMisconfigured("no lookup key")
        try:
            self._fernets = [Fernet(key) for key in contact_keys]
        except (ValueError, TypeError):
            raise VaultMisconfigured(f"{CONTACT_KEYS_VAR} holds a key that is not a Fernet key") from None
        self._multi = MultiFernet(self._fernets)
        self._lookup_key = lookup_key.encode() if isinstance(lookup_key, str) else lookup_key
        self._link_key = link_key.encode() if isinstance(link_key, str) else link_key

    @classmethod
    def from_settings(cls, settings):
        """From the service's settings (services/registration/settings.py) or any mapping of them."""
        keys = [k.strip() for k in (settings.get(CONTACT_KEYS_VAR) or "").split(",") if k.strip()]
        lookup_key = settings.get(LOOKUP_KEY_VAR) or ""
        link_key = settings.get(LINK_KEY_VAR) or ""
        if settings.get(MODE_VAR) in DEVELOPMENT_MODES:
            keys = keys or [DEVELOPMENT_CONTACT_KEY]
            lookup_key = lookup_key or DEVELOPMENT_LOOKUP_KEY
            link_key = link_key or DEVELOPMENT_LINK_KEY
        elif not keys or not lookup_key or not link_key:
            raise VaultMisconfigured(
                f"set {CONTACT_KEYS_VAR}, {LOOKUP_KEY_VAR} and {LINK_KEY_VAR} (development keys apply only "
                f"with {MODE_VAR}=test or demo)"
            )
        return cls(keys, lookup_key, link_key)

    # --- encryption ---------------------------------------------------------------------------

    def seal(self, contact):
        """The contact record as one token, encrypted with the newest key."""
        return self._multi.encrypt(json.dumps(contact, sort_keys=True).encode()).decode()

    def open(self, token):
        return json.loads(self._multi.decrypt(token.encode()))

    def is_current(self, token):
        """True when the token is encrypted with the newest key (nothing to rotate)."""
        try:
            self._fernets[0].decrypt(token.encode())
            return True
        except InvalidToken:
            return False

    def rotate(self, token):
        return self._multi.rotate(token.encode()).decode()

    # --- keyed digests ------------------------------------------------------------------------

    def digest(self, text):
        return hmac.new(self._lookup_key, text.encode(), hashlib.sha256).hexdigest()

    def same_person_lookups(self, contact):
        """Keyed digests of the normalised e-mail and phone: equal for the same person, and
        found without decrypting anything."""
        lookups = []
        if contact.get("email"):
            lookups.append(self.digest("email:" + normalise_email(contact["email"])))
        if contact.get("phone"):
            lookups.append(self.digest("phone:" + normalise_phone(contact["phone"])))
        return lookups

    def fingerprint(self, data):
        """A keyed digest of a validated intake payload, to tell a repeat from a conflicting reuse
        of its idempotency key without storing an unkeyed hash of personal data."""
        return self.digest("payload:" + json.dumps(data, sort_keys=True, default=str, separators=(",", ":")))

    def key_digest(self, idempotency_key):
        return self.digest("idempotency_key:" + idempotency_key)

    def contact_lookup(self, kind, normalised):
        """The same-person digest of one address as `parse_contact` gave it ("email" or "phone")."""
        return self.digest(f"{kind}:{normalised}")

    # --- personal links (links.py) --------------------------------------------------------------

    def mint_link(self, registration_id, purpose, issued_at):
        return links.mint(self._require_link_key(), registration_id, purpose, issued_at)

    def read_link(self, token, purpose, now):
        """`(registration_id, issued_at)`, or links.BadLink."""
        return links.read(self._require_link_key(), token, purpose, now)

    def _require_link_key(self):
        if not self._link_key:
            raise VaultMisconfigured(f"no {LINK_KEY_VAR}")
        return self._link_key


def normalise_email(address):
    return address.strip().lower()


def normalise_phone(number):
    digits = "".join(ch for ch in number if ch.isdigit() or ch == "+")
    return digits if digits.startswith("+") else "+47" + digits


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
NORWEGIAN_MOBILE = re.compile(r"^\+47[49]\d{7}$")


def parse_contact(text):
    """`("email" | "phone", normalised)` for an e-mail address or a Norwegian mobile number as a
    person types it ("912 34 567", "0047 91234567", "Kari@Example.no"), or None for anything else.
    Normalised as `same_person_lookups` normalises, so the digests compare."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if "@" in text:
        return ("email", normalise_email(text)) if EMAIL.match(text) and len(text) <= 254 else None
    compact = "".join(ch for ch in text if ch not in " -.()")
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if compact.isdigit() and len(compact) == 8:
        compact = "+47" + compact
    return ("phone", normalise_phone(compact)) if NORWEGIAN_MOBILE.match(compact) else None
