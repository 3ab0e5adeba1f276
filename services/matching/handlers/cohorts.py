"""Course cohorts (issue 13; rules in cohorts.py): registration announces a cohort
(cohort_created); its members who asked to be kept together wait in the cohort's own pool; the
cohort is proposed as one group (or several of even size) once everyone expected has come, or at
its deadline with those who have. Fewer than three at the deadline wait in the contact point's
own pools."""

from datetime import datetime
from functools import partial

from services.common.envelope import Event

from .. import cohorts, domain, engine
from ..ports import ClaimLost, Doc, Ports, UnitOfWork


def cohort_created(ports: Ports, event: Event) -> int:
    """Keep the cohort; members who arrived before it (separate queues) move into its pool."""
    data = event.data
    cohort = {
        "_id": data["cohort_id"],
        "contact_point_id": data["contact_point_id"],
        "expected_size": data["expected_size"],
        "slot": data["slot"],
        "deadline": domain.moment(data["deadline"]),
        "formed": False,
    }

    def change(uow: UnitOfWork) -> None:
        if ports.store.cohort(cohort["_id"], uow) is not None:
            return
        ports.store.save_cohort(uow, cohort)
        for entry in ports.store.entries_of_cohort(cohort["_id"], uow):
            if cohorts.kept_together(entry["profile"]) == cohort["_id"] and entry["group_id"] is None:
                ports.store.put_waiting(uow, cohorts.in_cohort_pool(entry, cohort))

    ports.store.apply(event, change)
    return form_if_complete(ports, cohort["_id"])


def gathering(ports: Ports, profile: Doc) -> Doc | None:
    """The cohort a newcomer joins, if they asked to be kept together with one still gathering."""
    cohort_id = cohorts.kept_together(profile)
    cohort = ports.store.cohort(cohort_id) if cohort_id else None
    return cohort if cohort is not None and not cohort["formed"] else None


def form_due_cohorts(ports: Ports) -> int:
    """The timer: every cohort whose deadline came is formed with those who registered."""
    return sum(form_if_complete(ports, c["_id"], at_deadline=True) for c in ports.store.cohorts_due(ports.clock.now()))


def form_if_complete(ports: Ports, cohort_id: str, at_deadline: bool = False) -> int:
    """Propose the cohort's group(s) when everyone expected waits in its pool (or at the deadline);
    returns how many groups were proposed. A claim lost to another worker waits for the next try."""
    cohort = ports.store.cohort(cohort_id)
    if cohort is None or cohort["formed"]:
        return 0
    pool = cohorts.cohort_pool(cohort["contact_point_id"], cohort["_id"])
    entries = ports.store.pool_entries(pool)
    if len(entries) < cohort["expected_size"] and not at_deadline:
        return 0
    now = ports.clock.now()
    settings = cohorts.group_settings(
        ports.store.contact_point(cohort["contact_point_id"]), pool, ports.settings.widening_days
    )
    if len(entries) < cohorts.SMALLEST_COHORT_GROUP:
        ports.store.transaction(partial(_disband, ports, cohort=cohort, entries=entries, now=now))
        return 0
    proposals = cohorts.proposals(cohort, entries, settings.max_size, now)
    change = partial(_propose, ports, cohort=cohort, entries=entries, proposals=proposals, now=now, settings=settings)
    try:
        return ports.store.transaction(change)
    except ClaimLost:
        return 0


def _propose(
    ports: Ports,
    uow: UnitOfWork,
    cohort: Doc,
    entries: list[Doc],
    proposals: list[engine.Proposal],
    now: datetime,
    settings: engine.PoolSettings,
) -> int:
    versions = {entry["_id"]: entry["version"] for entry in entries}
    pool = cohorts.cohort_pool(cohort["contact_point_id"], cohort["_id"])
    for proposal in proposals:
        for rid in proposal.members:
            ports.store.claim(uow, rid, versions[rid], proposal.group_id)
        group = {**domain.group_document(proposal, pool, settings, now), "cohort_id": cohort["_id"]}
        ports.store.insert_group(uow, group)
        uow.emit("group_proposed", domain.group_event(group, explanation=proposal.explanation))
    ports.store.save_cohort(uow, {**cohort, "formed": True, "formed_at": now})
    return len(proposals)


def _disband(ports: Ports, uow: UnitOfWork, cohort: Doc, entries: list[Doc], now: datetime) -> None:
    for entry in entries:
        released = cohorts.out_of_cohort_pool(entry, ports.settings.widening_days, now)
        ports.store.put_waiting(uow, released)
        for pool in released["pools"]:
            ports.store.mark_dirty(uow, pool)
    ports.store.save_cohort(uow, {**cohort, "formed": True, "formed_at": now, "too_few": True})
