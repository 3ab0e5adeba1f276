"""Planning a pool and claiming the people of each proposal (versioned claims, a few attempts
when another worker got there first)."""

from datetime import datetime
from functools import partial

from .. import cohorts, domain, engine
from ..ports import ClaimLost, Doc, Ports, UnitOfWork

CLAIM_ATTEMPTS = 3


def propose_pool(ports: Ports, pool: str, newcomer: str | None = None) -> list[engine.Proposal]:
    """Propose what the pool allows now (only groups with `newcomer`, if given: incremental)."""
    if cohorts.is_cohort_pool(pool):  # a course cohort is proposed whole (handlers/cohorts.py)
        return []
    with ports.pool_lock(pool):
        for _ in range(CLAIM_ATTEMPTS):
            now = ports.clock.now()
            entries = ports.store.pool_entries(pool)
            settings, people, acquaintances, avoid = _load_pool(ports, pool, entries, now)
            if newcomer is not None:
                one = engine.place_one(newcomer, people, settings, now, acquaintances, avoid)
                proposals = [one] if one else []
            else:
                proposals = ports.offload(engine.propose, people, settings, now, acquaintances, avoid).proposals
            if not proposals:
                return []
            versions = {entry["_id"]: entry["version"] for entry in entries}
            claim = partial(
                _claim, ports, proposals=proposals, versions=versions, pool=pool, settings=settings, now=now
            )
            try:
                return ports.store.transaction(claim)
            except ClaimLost:
                continue
        return []


def _load_pool(
    ports: Ports, pool: str, entries: list[Doc], now: datetime
) -> tuple[engine.PoolSettings, list[engine.Person], list[frozenset[str]], list[frozenset[str]]]:
    widening_days = ports.settings.widening_days
    contact_point = ports.store.contact_point(domain.contact_point_of(pool))
    settings = domain.pool_settings(pool, contact_point, widening_days, ports.settings.exact_budget)
    people = [domain.person(entry, pool, now, widening_days) for entry in entries]
    acquaintances = ports.store.acquaintances_among([entry["_id"] for entry in entries])
    avoid = [frozenset(ids) for ids in ports.store.pool_state(pool)["rejected"]]
    return settings, people, acquaintances, avoid


def _claim(
    ports: Ports,
    uow: UnitOfWork,
    proposals: list[engine.Proposal],
    versions: dict[str, int],
    pool: str,
    settings: engine.PoolSettings,
    now: datetime,
) -> list[engine.Proposal]:
    for proposal in proposals:
        for rid in proposal.members:
            ports.store.claim(uow, rid, versions[rid], proposal.group_id)
        group = domain.group_document(proposal, pool, settings, now)
        ports.store.insert_group(uow, group)
        uow.emit("group_proposed", domain.group_event(group, explanation=proposal.explanation))
    return proposals
