"""The periodic sweep: widening steps that fell due, then every pool due for a re-solve."""

from functools import partial

from .. import domain
from ..ports import Doc, Ports, UnitOfWork
from .proposals import propose_pool, resolvable_since


def sweep(ports: Ports, limit: int = 200) -> dict[str, int]:
    """Apply due widening steps, then re-solve every pool marked dirty whose time has come (and
    that no re-solve changed in the last hour). Idempotent: a step is applied once per person,
    and the versioned claims stop double placement."""
    now = ports.clock.now()
    digital_contact_points = ports.store.digital_contact_points()
    widened = 0
    for entry in ports.store.due_for_widening(now, limit):
        changed = domain.widen(entry, now, ports.settings.widening_days, digital_contact_points)
        if changed is not None:
            plan = domain.pools_to_plan(entry, changed)
            widened += ports.store.transaction(
                partial(_widen, ports, changed=changed, version=entry["version"], plan=plan)
            )
    proposed = 0
    for doc in ports.store.dirty_pools(now=now, resolved_before=resolvable_since(ports, now)):
        proposed += len(propose_pool(ports, doc["_id"]))
        ports.store.clear_dirty(doc["_id"], doc["seq"])
    return {"widened": widened, "proposed": proposed}


def _widen(ports: Ports, uow: UnitOfWork, changed: Doc, version: int, plan: list[str]) -> bool:
    """Store the widened entry unless it changed since it was read; the pools where it gives new
    options are planned again."""
    if not ports.store.replace_if_version(uow, changed, version):
        return False
    for pool in plan:
        ports.store.mark_dirty(uow, pool)
    return True
