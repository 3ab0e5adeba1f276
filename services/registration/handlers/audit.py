"""The participants' audit: every action a person takes on their own page is recorded here, in
registration's own collection `audit` (at, registration_id, action, outcome; never a value), the
refused ones too. An erased person's entries keep no id (the store's erase)."""

from collections.abc import Callable
from typing import TypeVar

from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound

from ..domain import Actor
from ..ports import Ports

T = TypeVar("T")

OUTCOMES: tuple[tuple[type[Exception], str], ...] = (
    (Forbidden, "forbidden"),
    (NotFound, "not_found"),
    (InvalidInput, "invalid_input"),
    (Conflict, "conflict"),
)


def audited(ports: Ports, action: str, registration_id: str, actor: Actor, work: Callable[[], T]) -> T:
    """Run `work`; when a participant acts, record what they tried and how it ended. An action
    that succeeded is activity, which the retention period counts from."""
    if (actor or {}).get("role") != "participant":
        return work()
    try:
        result = work()
    except Exception as exc:
        record(ports, action, registration_id, _outcome(exc))
        raise
    if action == "erase":
        record(ports, action, None, "ok")
    else:
        record(ports, action, registration_id, "ok")
        ports.store.note_activity(registration_id, ports.clock.now())
    return result


def record(ports: Ports, action: str, registration_id: str | None, outcome: str) -> None:
    ports.store.audit(
        {"at": ports.clock.now(), "registration_id": registration_id, "action": action, "outcome": outcome}
    )


def _outcome(exc: Exception) -> str:
    return next((name for kind, name in OUTCOMES if isinstance(exc, kind)), "error")
