"""The periodic sweep: widening steps that fell due, then every pool that changed is planned again."""

from functools import partial

from .. import domain
from ..ports import Doc, Ports, UnitOfWork
from .proposals import propose_pool


def sweep(ports: Ports, limit: int = 200) -> dict[str, int]:
    """Apply due widening steps, then re-propose every pool marked dirty. Idempotent: a step is
    applied once per person, and the versioned claims stop double placement."""
    now = ports.clock.now()
    digital_contact_points = ports.store.digital_contact_points()
    widened = 0
    for entry in ports.store.due_for_widening(now, limit):
        changed = domain.widen(entry, now, ports.settings.widening_days, digital_contact_points)
        if changed is not None:
            widened += ports.store.transaction(partial(_widen, ports, changed=changed, version=entry["version"]))
    proposed = 0
    for doc in ports.store.dirty_pools():
        proposed += len(propose_pool(ports, doc["_id"]))
        ports.store.clear_dirty(doc["_id"], doc["seq"])
    return {"widened": widened, "proposed": proposed}


def _widen(ports: Ports, uow: UnitOfWork, changed: Doc, version: int) -> bool:
    """Store the widened entry unless it changed since it was read; its pools are planned again."""
    if not ports.store.replace_if_version(uow, changed, version):
        return False
    for pool in domain.pools_of(changed):
        ports.store.mark_dirty(uow, pool)
    return True
