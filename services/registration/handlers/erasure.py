"""Erasure (docs/design.md §5): at a person's request or withdrawn consent, and by the retention sweep.
An erased registration is gone; only a digest of its key and anonymous counts remain."""

from typing import Any

from .. import domain
from ..domain import Actor
from ..ports import Ports, UnitOfWork
from .audit import audited
from .reading import existing


def erase(ports: Ports, registration_id: str, actor: Actor, reason: str) -> dict[str, Any]:
    """At the request of the person (on their page), staff or the referrer. Every personal link
    dies with the registration."""

    def work() -> dict[str, Any]:
        domain.require_may_act_for(actor, existing(ports, registration_id))
        return {
            "registration_id": registration_id,
            "erased": erase_now(ports, registration_id, domain.check_erasure_reason(reason)),
        }

    return audited(ports, "erase", registration_id, actor, work)


def erase_after_retention(ports: Ports, batch: int = 100) -> int:
    """The retention sweep: erase the withdrawn, those whose group closed and the unroutable once
    they were inactive for longer than the retention period (domain.LAST_ACTIVITY says what is
    activity). Idempotent: run it as often as you like; returns how many it erased."""
    cutoff = domain.retention_cutoff(ports.clock.now(), ports.store.retention_days)
    erased = 0
    while True:
        due = ports.store.inactive_since(domain.INACTIVE_STATUSES, domain.RETENTION_REASONS, cutoff, batch)
        erased += sum(erase_now(ports, doc["_id"], "retention") for doc in due)
        if len(due) < batch:
            return erased


def erase_now(ports: Ports, registration_id: str, reason: str) -> bool:
    """Delete the person here and emit registration_erased, once: an erased id is simply gone."""

    def change(uow: UnitOfWork) -> bool:
        current = ports.store.get(registration_id, uow)
        if current is None:
            return False
        ports.store.erase(uow, current, reason)
        uow.emit("registration_erased", {"registration_id": registration_id, "reason": reason})
        return True

    return ports.store.transaction(change)
