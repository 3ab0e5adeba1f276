"""Another service's nameko RPC proxy as one of the gateway's ports: every call has a deadline, and
what the service answers with an error reaches the use cases as Flokk's own exceptions."""

import json
from collections.abc import Callable
from typing import Any

import eventlet
from nameko.exceptions import IncorrectSignature, MethodNotFound, RemoteError, UnknownService

from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound

from .ports import ServiceFailed, ServiceUnavailable

RPC_TIMEOUT_KEY = "FLOKK_RPC_TIMEOUT"
# What nameko raises locally for a service that is missing or lacks the method.
MISSING = (UnknownService, MethodNotFound, IncorrectSignature)
# Remote exception type -> the gateway's own; any other type is a ServiceFailed (no detail).
SAME_MEANING: dict[str, Callable[[str], Exception]] = {
    "NotFound": NotFound,
    "UnknownPostalCode": NotFound,
    "UnknownMunicipality": NotFound,
    "Forbidden": Forbidden,
    "Conflict": Conflict,
}


class Remote:
    """`Remote("directory", proxy, 10.0).coverage()` calls `directory.coverage` within 10 s."""

    def __init__(self, service_name: str, proxy: Any, seconds: float) -> None:
        self._service_name, self._proxy, self._seconds = service_name, proxy, seconds

    def __getattr__(self, method: str) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            what = f"{self._service_name}.{method}"
            try:
                with eventlet.Timeout(self._seconds, ServiceUnavailable(what, "UpstreamTimeout")):
                    return getattr(self._proxy, method)(*args)
            except RemoteError as exc:
                raise translated(exc) from None
            except MISSING as exc:
                raise ServiceUnavailable(what, type(exc).__name__) from None

        return call


class Unreachable:
    """The services as the command line sees them: it reaches none of them."""

    def __getattr__(self, method: str) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            raise ServiceUnavailable(method, "no RPC from the command line")

        return call


def translated(exc: RemoteError) -> Exception:
    if exc.exc_type == "InvalidInput":
        return InvalidInput(field_errors(exc.value))
    same = SAME_MEANING.get(exc.exc_type)
    return same(exc.value) if same else ServiceFailed(exc.exc_type)


def field_errors(value: Any) -> dict[str, Any]:
    """The {field: [messages]} a remote InvalidInput carries as JSON."""
    try:
        errors = json.loads(value)
    except (TypeError, ValueError):
        return {"_schema": [str(value)]}
    return errors if isinstance(errors, dict) else {"_schema": errors}
