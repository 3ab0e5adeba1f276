"""Names of the settings the shared code reads, and the helpers of the command-line tools. Every
setting is declared (default, documentation) in services/common/settings.py and the services'
settings.py; nameko's config.yml reads the same variables."""

from .settings import tool_value

AMQP_URI_KEY = "AMQP_URI"
MONGODB_URI_KEY = "MONGODB_URI"
DB_PREFIX_KEY = "FLOKK_DB_PREFIX"
MAX_ATTEMPTS_KEY = "FLOKK_MAX_ATTEMPTS"
OUTBOX_SWEEP_SECONDS_KEY = "FLOKK_OUTBOX_SWEEP_SECONDS"
DEFAULT_MAX_ATTEMPTS = 5


def amqp_uri_from_env() -> str:
    return tool_value(AMQP_URI_KEY) or ""


def mongodb_uri_from_env() -> str:
    return tool_value(MONGODB_URI_KEY) or ""


def db_prefix_from_env() -> str:
    return tool_value(DB_PREFIX_KEY) or ""


def database_name(prefix: str, service_name: str) -> str:
    return prefix + service_name
