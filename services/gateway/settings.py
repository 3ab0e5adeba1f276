"""Every setting the gateway reads (docs/configuration.md is generated from these)."""

from services.common.settings import COMMON, RETENTION_DAYS, Setting, service_value

AUDIT_URI_KEY = "GATEWAY_AUDIT_MONGODB_URI"

SETTINGS = (
    *(setting for setting in COMMON if setting.name != "FLOKK_RPC_TIMEOUT"),
    Setting("FLOKK_RPC_TIMEOUT", "10.0", "Seconds a page or API call waits for a service before it answers 503."),
    Setting("WEB_SERVER_ADDRESS", "127.0.0.1:8000", "Where the gateway's HTTP server listens.", nameko=True),
    Setting(
        "FLOKK_COOKIE_SECURE",
        None,
        "Send the session cookies (staff's and the personal page's) only over HTTPS (default: on outside test"
        " and demo).",
    ),
    Setting(
        "FLOKK_TRUSTED_PROXIES",
        None,
        "Addresses or networks (comma-separated) of the proxies whose X-Forwarded-For names the client.",
    ),
    Setting(
        AUDIT_URI_KEY,
        None,
        "The gateway's MongoDB as the database user that may only insert into `audit` (the operator's "
        "connection string): every audit entry is written through it, so the log is append-only for the "
        "gateway (services/gateway/audit_log.py). Unset in test and demo: MONGODB_URI's client writes them.",
        required_in_production=True,
        secret=True,
    ),
    Setting("FLOKK_RATE_LIMIT", "30/60", "Public form requests allowed per client address: COUNT/SECONDS."),
    Setting(
        "FLOKK_DATA_CONTROLLER",
        "Nasjonalt kompetansesenter for selvorganisert selvhjelp",
        "The data controller the consent text names (the legal entity responsible for the personal data).",
        required_in_production=True,
    ),
    RETENTION_DAYS,
)


def audit_uri_from_env() -> str | None:
    """GATEWAY_AUDIT_MONGODB_URI for the command-line tools (accounts.py), which run without a container."""
    return service_value(SETTINGS, AUDIT_URI_KEY) or None
