"""Names of the settings the shared code reads, the broker's address as each process composes it,
and the helpers of the command-line tools. Every setting is declared (default, documentation) in
services/common/settings.py and the services' settings.py; nameko's config.yml reads the same
variables, and `services.common.runner` completes it (`broker_config`) before nameko starts.

The broker: `AMQP_URI` names the host(s), port and vhost; each process takes its own user from
`AMQP_USERNAME` and `AMQP_PASSWORD` and composes the URI itself (docs/operations.md, "Broker
users"). RabbitMQ's `guest` is accepted only in FLOKK_MODE test and demo, and only on loopback.
"""

import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from .settings import MODES, tool_value

AMQP_URI_KEY = "AMQP_URI"
AMQP_USERNAME_KEY = "AMQP_USERNAME"
AMQP_PASSWORD_KEY = "AMQP_PASSWORD"
AMQP_CA_FILE_KEY = "FLOKK_AMQP_CA_FILE"
MONGODB_URI_KEY = "MONGODB_URI"
MONGODB_CA_FILE_KEY = "FLOKK_MONGODB_CA_FILE"
DB_PREFIX_KEY = "FLOKK_DB_PREFIX"
MAX_ATTEMPTS_KEY = "FLOKK_MAX_ATTEMPTS"
OUTBOX_SWEEP_SECONDS_KEY = "FLOKK_OUTBOX_SWEEP_SECONDS"
DEFAULT_MAX_ATTEMPTS = 5
#: nameko's config key for its kombu connections' TLS options.
AMQP_SSL_CONFIG_KEY = "AMQP_SSL"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class BrokerUserRefused(ValueError):
    """The broker user this process would connect as is not allowed where it runs."""


def with_credentials(uri: str, username: str | None, password: str | None) -> str:
    """`uri` (one node, or several separated by `;`) with the user's credentials in every node;
    without a username, the URI as it is."""
    if not username:
        return uri
    user = f"{quote(username, safe='')}:{quote(password or '', safe='')}"
    nodes = []
    for node in uri.split(";"):
        parts = urlsplit(node.strip())
        host = parts.netloc.rsplit("@", 1)[-1]
        nodes.append(urlunsplit(parts._replace(netloc=f"{user}@{host}")))
    return ";".join(nodes)


def broker_user(uri: str) -> str:
    """The user a URI connects as (kombu's default is guest)."""
    return urlsplit(uri.split(";")[0].strip()).username or "guest"


def check_broker_user(uri: str, mode: str | None) -> None:
    """guest only in test and demo, and only with every node on loopback (RabbitMQ's own default)."""
    if broker_user(uri) != "guest":
        return
    hosts = [urlsplit(node.strip()).hostname or "localhost" for node in uri.split(";")]
    if mode not in MODES:
        raise BrokerUserRefused(
            "the broker user guest is for FLOKK_MODE test and demo only: set AMQP_USERNAME and AMQP_PASSWORD"
        )
    if any(host not in LOOPBACK for host in hosts):
        raise BrokerUserRefused(
            "the broker user guest is allowed on loopback only: set AMQP_USERNAME and AMQP_PASSWORD"
        )


def amqp_tls(ca_file: str | None) -> dict[str, Any] | None:
    """kombu's `ssl` options: TLS with the broker's certificate checked against `ca_file`."""
    if not ca_file:
        return None
    return {"ca_certs": ca_file, "cert_reqs": ssl.CERT_REQUIRED}


def broker_config(values: Mapping[str, Any]) -> dict[str, Any]:
    """What a process connects to the broker with, from its settings (`values`: the environment,
    or nameko's config): AMQP_URI with its own user, and TLS when a CA is given. Raises
    BrokerUserRefused for guest where guest is not allowed."""
    uri = with_credentials(str(values[AMQP_URI_KEY]), values.get(AMQP_USERNAME_KEY), values.get(AMQP_PASSWORD_KEY))
    check_broker_user(uri, values.get("FLOKK_MODE"))
    config: dict[str, Any] = {AMQP_URI_KEY: uri}
    tls = amqp_tls(values.get(AMQP_CA_FILE_KEY))
    if tls:
        config[AMQP_SSL_CONFIG_KEY] = tls
    return config


def service_broker(settings: Any) -> tuple[str, dict[str, Any] | None]:
    """(AMQP_URI, kombu's ssl options) of a running service, from its settings (the runner has
    already put the service's user into AMQP_URI)."""
    return settings[AMQP_URI_KEY], amqp_tls(settings.get_optional(AMQP_CA_FILE_KEY))


def _tool_values() -> dict[str, Any]:
    names = (AMQP_URI_KEY, AMQP_USERNAME_KEY, AMQP_PASSWORD_KEY, AMQP_CA_FILE_KEY, "FLOKK_MODE")
    return {name: tool_value(name) for name in names}


def tool_amqp_config() -> dict[str, Any]:
    """nameko's broker config for a script or tool, from the environment (`broker_config`)."""
    return broker_config(_tool_values())


def amqp_uri_from_env() -> str:
    return tool_amqp_config()[AMQP_URI_KEY]


def amqp_ssl_from_env() -> dict[str, Any] | None:
    return tool_amqp_config().get(AMQP_SSL_CONFIG_KEY)


def mongodb_uri_from_env() -> str:
    return tool_value(MONGODB_URI_KEY) or ""


def db_prefix_from_env() -> str:
    return tool_value(DB_PREFIX_KEY) or ""


def database_name(prefix: str, service_name: str) -> str:
    return prefix + service_name
