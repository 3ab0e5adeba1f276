"""Every setting notification reads (docs/configuration.md is generated from these)."""

from services.common.settings import COMMON, Setting

SETTINGS = (
    *COMMON,
    Setting("SMTP_HOST", "127.0.0.1", "The outgoing mail relay.", required_in_production=True),
    Setting("SMTP_PORT", "8025", "Its port.", required_in_production=True),
    Setting(
        "SMTP_STARTTLS",
        None,
        "Upgrade every SMTP connection with STARTTLS, the relay's certificate checked (default: on "
        "outside test and demo).",
    ),
    Setting("SMTP_CA_FILE", None, "CA bundle the relay's certificate is checked against (default: the system's)."),
    Setting("SMTP_USERNAME", None, "SMTP AUTH user, if the relay wants one (only over STARTTLS)."),
    Setting("SMTP_PASSWORD", None, "SMTP AUTH password.", secret=True),
    Setting(
        "SMS_URL",
        "http://127.0.0.1:8026",
        "Base URL of the SMS provider's API (the adapter adds /messages).",
        required_in_production=True,
    ),
    Setting(
        "FLOKK_PUBLIC_BASE_URL",
        "http://127.0.0.1:8000",
        "Where people reach the gateway: messages carry `<this>/me?t=<token>`, the person's own page.",
        required_in_production=True,
    ),
)
