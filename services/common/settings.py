"""Settings: every variable a service reads is declared once, with its default, whether production
requires it, whether it is secret, and one line of documentation.

Each service declares its own in `services/<svc>/settings.py` (`SETTINGS`, the common ones
included). Values are read once, when the service starts (`Settings.load`): the declared default,
then the environment, then nameko's config (so tests can pass values to a container). Production is
`FLOKK_MODE` unset; there a setting that production requires and that is missing stops the start
with its name. `docs/configuration.md` is generated from the declarations
(`python -m services.common.settings`), and tests compare it, and both Kubernetes overlays, with them.
Nothing else in `services/` reads the environment or nameko's config (a unit test enforces it).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

MODES = ("test", "demo")


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None
    doc: str
    required_in_production: bool = False
    secret: bool = False
    #: read by nameko itself (too), from its config file
    nameko: bool = False


class MissingSettings(RuntimeError):
    def __init__(self, service: str, names: Iterable[str]) -> None:
        self.names = sorted(names)
        super().__init__(f"{service} cannot start in production without: {', '.join(self.names)}")


#: What every service reads (its own SETTINGS adds what only it reads).
COMMON: tuple[Setting, ...] = (
    Setting("FLOKK_MODE", None, "`test` or `demo` on a developer machine and in CI; unset means production.", False),
    Setting(
        "AMQP_URI",
        "amqp://guest:guest@127.0.0.1:5672/",
        "The broker: host(s), port and vhost (several hosts separated by `;`), `amqps://` for TLS; no "
        "credentials: each process puts its own user (AMQP_USERNAME, AMQP_PASSWORD) into it.",
        required_in_production=True,
        nameko=True,
    ),
    Setting(
        "MONGODB_URI",
        "mongodb://127.0.0.1:27017",
        "The service's MongoDB (the operator's connection string in production).",
        required_in_production=True,
        secret=True,
    ),
    Setting(
        "AMQP_USERNAME",
        None,
        "The process's own broker user, which it puts into AMQP_URI itself (in Kubernetes from the "
        "operator's `User` Secret; locally from scripts/infra.sh). Unset: guest, in test and demo on loopback only.",
        required_in_production=True,
        secret=True,
    ),
    Setting("AMQP_PASSWORD", None, "Its password (a Secret).", required_in_production=True, secret=True),
    Setting(
        "FLOKK_AMQP_CA_FILE",
        None,
        "The CA certificate that signed the broker's; set, AMQP goes over TLS (an `amqps://` AMQP_URI) and the "
        "broker's certificate is checked against it.",
    ),
    Setting(
        "FLOKK_MONGODB_CA_FILE",
        None,
        "The CA certificate that signed MongoDB's; set, the store is reached over TLS and its certificate checked.",
    ),
    Setting(
        "FLOKK_SIGNING_KEY",
        None,
        "The process's own Ed25519 private key (base64 of 32 bytes, or PEM) that signs the actors it passes "
        "(docs/rpc.md); unset in test and demo, a development key derived from the signer's name.",
        required_in_production=True,
        secret=True,
    ),
    Setting(
        "FLOKK_VERIFY_KEYS",
        None,
        "JSON: signer name (a service, `ops`) -> its public key, or a list of them while a key is rotated; "
        "unset in test and demo, the development keys.",
        required_in_production=True,
    ),
    Setting("FLOKK_SERVICE", None, "Which service the one image runs (read by its entry script, run_service.sh)."),
    Setting("FLOKK_DB_PREFIX", "flokk_", "Prefix of every database name (`<prefix><service>`)."),
    Setting("MAX_WORKERS", "10", "Concurrent workers per service (nameko's `max_workers`).", nameko=True),
    Setting("LOG_LEVEL", "INFO", "The root log level (JSON lines on standard error).", nameko=True),
    Setting("METRICS_HOST", "127.0.0.1", "Address of the metrics and probe server (`/metrics`, `/healthz`)."),
    Setting("METRICS_PORT", None, "Port of the metrics and probe server; unset, none runs (tests in one process)."),
    Setting("FLOKK_MAX_ATTEMPTS", "5", "Tries of an event handler before its event is dead-lettered."),
    Setting("FLOKK_OUTBOX_SWEEP_SECONDS", "2.0", "How often the outbox relay looks for events left unpublished."),
    Setting("FLOKK_RPC_TIMEOUT", "30.0", "Seconds an RPC waits for its reply before it fails."),
)

#: Read by registration (its retention sweep) and by the gateway (the consent text says it): one
#: declaration, so the two cannot be documented apart.
RETENTION_DAYS = Setting(
    "FLOKK_RETENTION_DAYS",
    "365",
    "Days without activity after which a withdrawn person, one whose group closed, or one only the national "
    "office can take (unroutable) is erased.",
)


class Settings(Mapping[str, str]):
    """The values of one service's declared settings, read once. `settings["X"]` for a name the
    service did not declare is a KeyError: a read nobody declared cannot pass a test."""

    def __init__(self, service: str, declared: Iterable[Setting], values: Mapping[str, str | None]) -> None:
        self.service = service
        self.declared = {s.name: s for s in declared}
        self._values = dict(values)

    @classmethod
    def load(
        cls,
        service: str,
        declared: Iterable[Setting],
        environ: Mapping[str, str] | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> Settings:
        declared = tuple(declared)
        environ = os.environ if environ is None else environ
        config = config or {}
        values: dict[str, str | None] = {}
        for setting in declared:
            value: Any = setting.default
            if setting.name in environ:
                value = environ[setting.name]
            if setting.name in config:
                value = config[setting.name]
            values[setting.name] = None if value is None else str(value)
        settings = cls(service, declared, values)
        if settings.production:
            missing = [
                s.name for s in declared if s.required_in_production and not (environ.get(s.name) or config.get(s.name))
            ]
            if missing:
                raise MissingSettings(service, missing)
        return settings

    @property
    def production(self) -> bool:
        return self._values.get("FLOKK_MODE") not in MODES

    def __getitem__(self, name: str) -> str:
        if name not in self.declared:
            raise KeyError(f"{self.service} reads {name}, which its settings.py does not declare")
        value = self._values.get(name)
        if value is None:
            raise KeyError(f"{name} has no value and no default")
        return value

    def get_optional(self, name: str) -> str | None:
        if name not in self.declared:
            raise KeyError(f"{self.service} reads {name}, which its settings.py does not declare")
        return self._values.get(name)

    def as_float(self, name: str) -> float:
        return float(self[name])

    def as_int(self, name: str) -> int:
        return int(self[name])

    def as_flag(self, name: str) -> bool:
        return self[name].strip().lower() in ("1", "true", "yes", "on")

    def __iter__(self) -> Iterator[str]:
        return iter(self.declared)

    def __len__(self) -> int:
        return len(self.declared)


#: What the project's command-line tools (not the services) read.
TOOLS: tuple[Setting, ...] = (
    Setting("GATEWAY_PORT", "8000", "Where `services.common.wait_healthy` finds the gateway's /healthz."),
    Setting("FLOKK_READY_SECONDS", "60", "How long `services.common.wait_healthy` waits for every service."),
    Setting("FLOKK_PASSWORD", None, "The password `accounts create` sets (else it asks for one).", secret=True),
    Setting(
        "RABBIT_MGMT_URI",
        "http://guest:guest@127.0.0.1:15672",
        "The local broker's management API, with an administrator's credentials: scripts/infra.sh makes the "
        "broker users through it (`services.common.broker_users`).",
        secret=True,
    ),
)


def read_at_import(declared: Iterable[Setting], name: str) -> str:
    """For the few values nameko needs when a module is imported (a timer's interval), before any
    service starts; the name must be declared (with its default) in the service's settings.py."""
    setting = {s.name: s for s in declared}[name]
    value = os.environ.get(name, setting.default)
    if value is None:
        raise KeyError(f"{name} has no value and no default")
    return value


def tool_value(name: str) -> str | None:
    """A command-line tool's setting (TOOLS or COMMON): the environment, else its default."""
    setting = {s.name: s for s in (*TOOLS, *COMMON)}[name]
    return os.environ.get(name, setting.default)


def service_value(declared: Iterable[Setting], name: str) -> str | None:
    """One of a service's declared settings, for a command-line tool that runs without its
    container (the gateway's `accounts`): the environment, else its default."""
    setting = {s.name: s for s in declared}[name]
    return os.environ.get(name, setting.default)


def declarations_for(service: str) -> tuple[Setting, ...]:
    """The service's SETTINGS (`services/<service>/settings.py`), or the common ones for a service
    the project does not have (a test's own small service)."""
    import importlib

    try:
        module = importlib.import_module(f"services.{service}.settings")
    except ModuleNotFoundError:
        return COMMON
    return tuple(module.SETTINGS)


def for_container(container: Any) -> Settings:
    """The settings of a running nameko container, read once (on first use, during its setup)."""
    cached = getattr(container, "_flokk_settings", None)
    if cached is None:
        name = container.service_name
        cached = Settings.load(name, declarations_for(name), os.environ, container.config)
        container._flokk_settings = cached
    return cached


def markdown(declarations: Mapping[str, Iterable[Setting]]) -> str:
    """docs/configuration.md, from each service's declarations."""
    lines = [
        "# Configuration",
        "",
        "Generated from `services/<service>/settings.py` by `python -m services.common.settings`;",
        "a test fails when this file is stale. Production is `FLOKK_MODE` unset: there, a setting",
        "marked *required* must be set, or the service refuses to start and names it. Secrets come",
        "from Kubernetes Secrets, never from a ConfigMap (a test renders both overlays to check).",
        "",
    ]
    common_names = {s.name for s in COMMON}
    lines += ["## Every service", "", *_table(COMMON), ""]
    lines += ["## The command-line tools", "", *_table(TOOLS), ""]
    for service, declared in declarations.items():
        own = [s for s in declared if s.name not in common_names]
        lines += [f"## {service}", ""]
        lines += [*_table(own), ""] if own else ["Nothing beyond the settings every service reads.", ""]
    return "\n".join(lines)


def _table(settings: Iterable[Setting]) -> list[str]:
    rows = ["| name | default | required in production | secret | what it is |", "|---|---|---|---|---|"]
    for s in settings:
        default = "" if s.default is None else f"`{s.default}`"
        rows.append(
            f"| `{s.name}` | {default} | {'yes' if s.required_in_production else ''} | "
            f"{'yes' if s.secret else ''} | {s.doc}{' (read by nameko)' if s.nameko else ''} |"
        )
    return rows


def all_declarations() -> dict[str, tuple[Setting, ...]]:
    """Every service's SETTINGS, by service name (only their settings.py modules are imported)."""
    from .contracts import SERVICES

    return {service: declarations_for(service) for service in SERVICES}


if __name__ == "__main__":
    sys.stdout.write(markdown(all_declarations()))
