"""Every setting registration reads (docs/configuration.md is generated from these)."""

from services.common.settings import COMMON, RETENTION_DAYS, Setting

SETTINGS = (
    *COMMON,
    Setting(
        "FLOKK_CONTACT_KEYS",
        None,
        "Fernet keys sealing contact details at rest, newest first, comma-separated (rotation: add a new "
        "one in front). Development keys apply only in test and demo.",
        required_in_production=True,
        secret=True,
    ),
    Setting(
        "FLOKK_LOOKUP_KEY",
        None,
        "HMAC key of the digests that find the same person and erased idempotency keys.",
        required_in_production=True,
        secret=True,
    ),
    Setting(
        "FLOKK_LINK_KEY",
        None,
        "HMAC key of the personal links (`/me?t=…`); changing it makes every link sent so far fail. "
        "A development key applies only in test and demo.",
        required_in_production=True,
        secret=True,
    ),
    RETENTION_DAYS,
    Setting("FLOKK_RETENTION_SWEEP_SECONDS", "3600", "How often the retention sweep runs (read at import)."),
    Setting(
        "FLOKK_PAUSE_SWEEP_SECONDS",
        "300",
        "How often pauses that ran out are ended (registration_resumed, pause_ended; read at import).",
    ),
)
