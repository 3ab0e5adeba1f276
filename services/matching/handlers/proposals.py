"""Planning a pool and claiming the people of each proposal (versioned claims, a few attempts
when another worker got there first).

The online policy (design §4.13): an arrival is placed at once if a group with the newcomer can
be formed (as before); otherwise the pool is marked for a re-solve. The re-solve (in the sweep,
off the arrival path) plans the pool's waiting people together with its unconfirmed proposals: a
proposal that a better plan replaces is closed as `superseded` before the new proposals go out,
in the same transaction. A pool is re-solved with a change at most once an hour, so a proposal
staff are looking at is replaced at most once an hour.
"""

from datetime import datetime, timedelta
from functools import partial

from .. import cohorts, domain, engine
from ..ports import ClaimLost, Doc, Ports, UnitOfWork

CLAIM_ATTEMPTS = 3
#: A pool's re-solve changes its proposals at most once in this time.
RESOLVE_INTERVAL = timedelta(hours=1)
#: A re-solve waits this long after the first change that calls for it, so that changes close
#: together are planned together.
RESOLVE_DELAY = timedelta(minutes=10)


def propose_pool(ports: Ports, pool: str, newcomer: str | None = None) -> list[engine.Proposal]:
    """Propose what the pool allows now: only a group with `newcomer` if given (incremental),
    otherwise a re-solve of the whole pool (its unconfirmed proposals too, under the online
    policy). Returns the new proposals."""
    if cohorts.is_cohort_pool(pool):  # a course cohort is proposed whole (handlers/cohorts.py)
        return []
    with ports.pool_lock(pool):
        for _ in range(CLAIM_ATTEMPTS):
            try:
                if newcomer is not None:
                    return _place_newcomer(ports, pool, newcomer)
                return _resolve(ports, pool)
            except ClaimLost:
                continue
        return []


def resolvable_since(ports: Ports, now: datetime) -> datetime | None:
    """Pools re-solved with a change after this moment wait (None: none wait, without the
    online policy)."""
    return now - RESOLVE_INTERVAL if ports.settings.online else None


def _place_newcomer(ports: Ports, pool: str, newcomer: str) -> list[engine.Proposal]:
    """A group with the newcomer, if one can be formed now. A pool with fewer people than the
    smallest group is told by its count: its acquaintances and rejected sets are not read."""
    now = ports.clock.now()
    entries = ports.store.pool_entries(pool)
    if len(entries) < engine.smallest_group(_pool_settings(ports, pool)):
        return []
    settings, people, acquaintances, avoid = _load_pool(ports, pool, entries, now)
    one = engine.place_one(newcomer, people, settings, now, acquaintances, avoid)
    if one is None:
        return []
    versions = {entry["_id"]: entry["version"] for entry in entries}
    claim = partial(_claim, ports, proposals=[one], superseded=[], versions=versions, pool=pool, settings=settings)
    return ports.store.transaction(partial(claim, now=now, resolved=False))


def _resolve(ports: Ports, pool: str) -> list[engine.Proposal]:
    now = ports.clock.now()
    entries = ports.store.pool_entries(pool)
    proposed = _unconfirmed(ports, pool) if ports.settings.online else []
    members = ports.store.entries([rid for group in proposed for rid in group["members"]]) if proposed else []
    settings, people, acquaintances, avoid = _load_pool(ports, pool, entries + members, now)
    outcome = ports.offload(
        engine.propose, people, settings, now, acquaintances, avoid, True, [_as_proposal(g) for g in proposed]
    )
    known = {group["_id"] for group in proposed}
    fresh = [p for p in outcome.proposals if p.group_id not in known]
    superseded = [group for group in proposed if group["_id"] in set(outcome.superseded)]
    if not fresh and not superseded:
        return []
    versions = {entry["_id"]: entry["version"] for entry in entries}
    versions.update({entry["_id"]: entry["version"] + 1 for entry in members})  # after their release
    claim = partial(_claim, ports, proposals=fresh, superseded=superseded, versions=versions, pool=pool)
    return ports.store.transaction(partial(claim, settings=settings, now=now, resolved=ports.settings.online))


def _unconfirmed(ports: Ports, pool: str) -> list[Doc]:
    groups = ports.store.groups_of(domain.contact_point_of(pool), ["proposed"])
    return sorted((g for g in groups if g["pool"] == pool), key=lambda g: (g["proposed_at"], g["_id"]))


def _as_proposal(group: Doc) -> engine.Proposal:
    return engine.Proposal(
        group_id=group["_id"],
        contact_point_id=group["contact_point_id"],
        slot=group["slot"],
        theme=group["theme"],
        members=list(group["members"]),
        relaxed=list(group["explanation"].get("relaxed", [])),
        explanation=group["explanation"],
    )


def _load_pool(
    ports: Ports, pool: str, entries: list[Doc], now: datetime
) -> tuple[engine.PoolSettings, list[engine.Person], list[frozenset[str]], list[frozenset[str]]]:
    settings = _pool_settings(ports, pool)
    people = [domain.person(entry, pool, now, ports.settings.widening_days) for entry in entries]
    acquaintances = ports.store.acquaintances_among([entry["_id"] for entry in entries])
    avoid = [frozenset(ids) for ids in ports.store.pool_state(pool)["rejected"]]
    return settings, people, acquaintances, avoid


def _pool_settings(ports: Ports, pool: str) -> engine.PoolSettings:
    contact_point = ports.store.contact_point(domain.contact_point_of(pool))
    return domain.pool_settings(
        pool, contact_point, ports.settings.widening_days, ports.settings.exact_budget, ports.settings.exact_workers
    )


def _claim(
    ports: Ports,
    uow: UnitOfWork,
    proposals: list[engine.Proposal],
    superseded: list[Doc],
    versions: dict[str, int],
    pool: str,
    settings: engine.PoolSettings,
    now: datetime,
    resolved: bool,
) -> list[engine.Proposal]:
    """Close the replaced proposals (`group_closed`, superseded) and release their people, then
    claim everyone of each new proposal and announce it (`group_proposed`). `resolved`: a re-solve
    under the online policy, which the pool's state records (one an hour)."""
    replaced_by = {rid: p.group_id for p in proposals for rid in p.members}
    for group in superseded:
        successors = sorted({replaced_by[rid] for rid in group["members"] if rid in replaced_by})
        changes = {
            **domain.transition(group, "closed", now),
            "closed_reason": "superseded",
            "superseded_by": successors,
        }
        if not ports.store.update_group(uow, group, changes):
            raise ClaimLost(group["_id"])  # staff acted on it meanwhile: plan again
        for rid in group["members"]:
            ports.store.release(uow, rid, ports.settings.widening_days)
        uow.emit("group_closed", domain.group_event(group, reason="superseded"))
    for proposal in proposals:
        for rid in proposal.members:
            ports.store.claim(uow, rid, versions[rid], proposal.group_id)
        group = domain.group_document(proposal, pool, settings, now)
        ports.store.insert_group(uow, group)
        uow.emit("group_proposed", domain.group_event(group, explanation=proposal.explanation))
    if resolved:
        ports.store.note_resolved(uow, pool, now)
    return proposals
