"""The ports matching's use cases reach the world through, and the `Ports` bundle they all take
first (docs/architecture.md). The store port is implemented twice: by `store.MatchingStorage`
(MongoDB) and by `memory_store.MemoryMatchingStore` (production's replay and the unit tests)."""

import json
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from services.common.clock import Clock
from services.common.envelope import Event

from . import engine, life

T = TypeVar("T")
#: A stored document (a waiting entry, a group, a contact point, a pool's state): a plain dict.
Doc = dict[str, Any]
#: The directory's answer to `route`: candidates, best first, the national office last.
Candidates = list[Doc]

#: Keys of the nameko config that hold the settings (the days per widening step as JSON, and
#: CP-SAT's work budget per pool and its number of workers).
WIDENING_KEY = "FLOKK_MATCHING_WIDENING_DAYS"
EXACT_BUDGET_KEY = "FLOKK_MATCHING_EXACT_BUDGET"
EXACT_WORKERS_KEY = "FLOKK_MATCHING_EXACT_WORKERS"
CHECKIN_MONTHS_KEY = "FLOKK_CHECKIN_MONTHS"


class ClaimLost(Exception):
    """Someone in the proposal was claimed or changed by another worker meanwhile: recompute."""


class UnitOfWork(Protocol):
    """One transaction as the use cases see it: they write through the store and `emit`."""

    def emit(self, event_type: str, data: dict[str, Any]) -> dict[str, Any]: ...


class Transactions(Protocol):
    def apply(self, event: Event, change: Callable[[UnitOfWork], T]) -> T | None:
        """`change` once per event id, atomically with the ledger; None when applied before."""
        ...

    def transaction(self, change: Callable[[UnitOfWork], T]) -> T:
        """`change` in one transaction with the events it emits; nothing of it if it raises."""
        ...


class WaitingPeople(Protocol):
    def entry(self, registration_id: str, uow: UnitOfWork | None = None) -> Doc | None: ...
    def entries(self, registration_ids: Iterable[str], uow: UnitOfWork | None = None) -> list[Doc]: ...
    def put_waiting(self, uow: UnitOfWork, entry: Doc) -> None: ...
    def update_profile(self, uow: UnitOfWork, registration_id: str, profile: Doc) -> None: ...
    def replace_if_version(self, uow: UnitOfWork, entry: Doc, version: int) -> bool: ...
    def remove_waiting(self, uow: UnitOfWork, registration_id: str) -> int: ...
    def pool_entries(self, pool: str) -> list[Doc]: ...
    def entries_of_contact_point(self, contact_point_id: str) -> list[Doc]: ...
    def due_for_widening(self, now: datetime, limit: int = 200) -> list[Doc]: ...

    def claim(self, uow: UnitOfWork, registration_id: str, version: int, group_id: str) -> None:
        """Place the person in `group_id` if unclaimed and still at `version`, or ClaimLost."""
        ...

    def release(self, uow: UnitOfWork, registration_id: str, widening_days: Mapping[str, int]) -> Doc | None: ...

    def record_unroutable(
        self, uow: UnitOfWork, registration_id: str, reason: str, now: datetime, profile: Doc | None = None
    ) -> None:
        """Nobody can take the person; their profile is kept for a return after withdrawal."""
        ...

    def unroutable_entry(self, registration_id: str, uow: UnitOfWork | None = None) -> Doc | None: ...

    def keep_withdrawn(self, uow: UnitOfWork, doc: Doc) -> None:
        """What a withdrawn person's return needs (`_id`, profile, queue_since, paused_seconds, at),
        out of every pool and figure."""
        ...

    def withdrawn_entry(self, registration_id: str, uow: UnitOfWork | None = None) -> Doc | None: ...
    def drop_withdrawn(self, uow: UnitOfWork, registration_id: str) -> None: ...

    def forget(self, uow: UnitOfWork, registration_id: str) -> None:
        """Out of the waiting, unroutable and withdrawn people."""
        ...

    def mark_erased(self, uow: UnitOfWork, tombstone: str) -> None: ...
    def is_erased(self, tombstone: str, uow: UnitOfWork | None = None) -> bool: ...

    def arrival_entry(self, registration_id: str, tombstone: str, uow: UnitOfWork) -> tuple[Doc | None, bool]:
        """The person's waiting entry, and whether `tombstone` (their erasure) is kept: one read."""
        ...


class Groups(Protocol):
    def group(self, group_id: str, uow: UnitOfWork | None = None) -> Doc | None: ...
    def insert_group(self, uow: UnitOfWork, group: Doc) -> None: ...

    def update_group(self, uow: UnitOfWork, group: Doc, changes: Doc) -> bool:
        """Versioned: False if the group changed since it was read."""
        ...

    def groups_of(self, contact_point_id: str, states: Iterable[str]) -> list[Doc]: ...

    def groups_due_for_checkin(self, now: datetime, limit: int = 100) -> list[Doc]:
        """Self-run groups whose next scheduled check-in (`next_checkin_at`) is due by `now`."""
        ...


class Checkins(Protocol):
    """A self-run group's check-ins, and their comments: the one free text matching holds, kept
    apart from the check-in (docs/design.md §5), erased with the group's data or its author."""

    def checkins_of(self, group_id: str, uow: UnitOfWork | None = None) -> list[Doc]:
        """Oldest first."""
        ...

    def checkin(self, checkin_id: str, uow: UnitOfWork | None = None) -> Doc | None: ...
    def put_checkin(self, uow: UnitOfWork, checkin: Doc) -> None: ...
    def put_comment(self, uow: UnitOfWork, comment: Doc) -> None: ...
    def comment(self, checkin_id: str) -> Doc | None: ...
    def drop_comment(self, uow: UnitOfWork, checkin_id: str) -> None: ...
    def drop_comments_of_group(self, uow: UnitOfWork, group_id: str) -> None: ...
    def drop_comments_by(self, uow: UnitOfWork, registration_id: str) -> None: ...

    def audit(self, entry: Doc) -> None:
        """One read of a comment by staff (at, action, checkin_id, group_id, account_id)."""
        ...


class Pools(Protocol):
    def acquaintances_among(
        self, registration_ids: Iterable[str], uow: UnitOfWork | None = None
    ) -> list[frozenset[str]]: ...
    def add_acquaintances(self, uow: UnitOfWork, a: str, b: str, now: datetime) -> None: ...

    def add_flagged_pair(self, uow: UnitOfWork, a: str, b: str, reason: str, now: datetime) -> None:
        """A pair registration flagged (a person's list of people not to meet): kept apart from
        those staff recorded, so clearing it never removes theirs."""
        ...

    def clear_flagged_pair(self, uow: UnitOfWork, a: str, b: str, reason: str) -> None: ...
    def forget_acquaintances(self, uow: UnitOfWork, registration_id: str) -> None: ...
    def pool_state(self, pool: str, uow: UnitOfWork | None = None) -> Doc: ...
    def add_rejected(self, uow: UnitOfWork, pool: str, registration_ids: Iterable[str]) -> None: ...

    def mark_dirty(self, uow: UnitOfWork, pool: str, due_at: datetime | None = None) -> None:
        """The pool is to be planned again, from `due_at` on (None: at once); a pool marked
        already keeps its earlier time."""
        ...

    def dirty_pools(
        self, limit: int = 50, now: datetime | None = None, resolved_before: datetime | None = None
    ) -> list[Doc]:
        """Pools marked to be planned again: due by `now`, and not re-solved since
        `resolved_before` (each condition only when given)."""
        ...

    def clear_dirty(self, pool: str, seq: int) -> None: ...

    def note_resolved(self, uow: UnitOfWork, pool: str, now: datetime) -> None:
        """A re-solve changed the pool's proposals now (`last_resolved_at`: one an hour)."""
        ...


class Cohorts(Protocol):
    """Course cohorts as registration announced them (cohort_created)."""

    def cohort(self, cohort_id: str, uow: UnitOfWork | None = None) -> Doc | None: ...
    def save_cohort(self, uow: UnitOfWork, cohort: Doc) -> None: ...

    def cohorts_due(self, now: datetime, limit: int = 50) -> list[Doc]:
        """Cohorts not yet formed whose deadline has come."""
        ...

    def entries_of_cohort(self, cohort_id: str, uow: UnitOfWork | None = None) -> list[Doc]:
        """Waiting entries whose profile names the cohort."""
        ...


class ContactPoints(Protocol):
    def contact_point(self, contact_point_id: str, uow: UnitOfWork | None = None) -> Doc | None: ...
    def save_contact_point(self, uow: UnitOfWork, data: Doc) -> None: ...
    def digital_contact_points(self) -> set[str]: ...


class Figures(Protocol):
    """What the figures are counted from (figures.py): anonymous records, one per person, keyed
    by a digest; the groups with their history; the answers to check-ins."""

    def figure_person(self, key: str, uow: UnitOfWork | None = None) -> Doc | None: ...
    def put_figure_person(self, uow: UnitOfWork, record: Doc) -> None: ...

    def register_figure_person(self, uow: UnitOfWork, record: Doc) -> bool:
        """Write `record` (a fresh figures.person_record) as figures.registered_again does over the
        record there, with one write and no read; returns whether a record was there."""
        ...

    def figure_people(self) -> Iterable[Doc]: ...

    def group_histories(self) -> list[Doc]:
        """Every group's `_id`, `contact_point_id` and `history`."""
        ...

    def checkin_answers(self) -> dict[str, list[Doc]]:
        """group id -> its answered check-ins `{"answered_at", "still_meeting"}` (the `checkins`
        collection, group_life.py)."""
        ...

    def contact_point_counties(self) -> dict[str, str | None]: ...


class Queue(Protocol):
    """The people only the national office can take (design §4.1): their profile, why, since when."""

    def unroutable_entries(self) -> list[Doc]: ...
    def remove_unroutable(self, uow: UnitOfWork, registration_id: str) -> int: ...
    def note_contact(self, uow: UnitOfWork, registration_id: str, contact: Doc) -> None: ...


class MatchingStore(
    Transactions, WaitingPeople, Groups, Checkins, Pools, Cohorts, ContactPoints, Figures, Queue, Protocol
):
    """matching's own database (services/matching/store.py, services/matching/memory_store.py)."""


class Directory(Protocol):
    """The directory service's RPCs that matching calls."""

    def route(self, municipality_number: str, preferences: Mapping[str, bool]) -> Candidates: ...
    def get_contact_point(self, contact_point_id: str) -> Doc: ...


class RouteCache(Protocol):
    """The directory's route answers, reused for a while (services.common.cache.TtlCache)."""

    def get_or_load(self, key: Any, load: Callable[[], Any]) -> Any: ...
    def put(self, key: Any, value: Any) -> None: ...
    def clear(self) -> None: ...


class PoolLock(Protocol):
    """`with pool_lock(pool):` one worker of this process plans a pool at a time (locks.KeyedLocks)."""

    def __call__(self, pool: str) -> AbstractContextManager[Any]: ...


class Offload(Protocol):
    """Runs `fn(*args)`; the service passes a real thread, so CP-SAT does not block the hub."""

    def __call__(self, fn: Callable[..., T], *args: Any) -> T: ...


def run_here(fn: Callable[..., T], *args: Any) -> T:
    return fn(*args)


def no_lock(pool: str) -> AbstractContextManager[None]:
    return nullcontext()


@dataclass(frozen=True)
class Settings:
    """What the deployment tunes: the days of waiting that earn each widening step, the work
    budget (deterministic seconds) and workers of the exact solver per pool, and the months after
    a group's start its check-ins fall due. `online` is the policy of design §4.13 (re-solving
    unconfirmed proposals); off, matching plans as it did before it (the replay compares the two)."""

    widening_days: Mapping[str, int] = field(default_factory=lambda: dict(engine.DEFAULT_WIDENING_DAYS))
    exact_budget: float = engine.DEFAULT_EXACT_BUDGET
    exact_workers: int = engine.DEFAULT_EXACT_WORKERS
    checkin_months: tuple[int, ...] = life.DEFAULT_CHECKIN_MONTHS
    online: bool = True

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "Settings":
        """The defaults, overridden by the nameko config (widening days as JSON or a mapping)."""
        widening = dict(engine.DEFAULT_WIDENING_DAYS)
        configured = config.get(WIDENING_KEY)
        if configured:
            widening.update(json.loads(configured) if isinstance(configured, str) else configured)
        budget = float(config.get(EXACT_BUDGET_KEY) or engine.DEFAULT_EXACT_BUDGET)
        workers = int(config.get(EXACT_WORKERS_KEY) or engine.DEFAULT_EXACT_WORKERS)
        if budget <= 0:
            raise ValueError(f"{EXACT_BUDGET_KEY}: must be above 0 deterministic seconds (got {budget})")
        if workers < 1:
            raise ValueError(f"{EXACT_WORKERS_KEY}: must be at least 1 (got {workers})")
        return cls(widening, budget, workers, life.checkin_months(config.get(CHECKIN_MONTHS_KEY)))


@dataclass(frozen=True)
class Ports:
    store: MatchingStore
    directory: Directory
    routes: RouteCache
    clock: Clock
    settings: Settings = field(default_factory=Settings)
    offload: Offload = run_here
    pool_lock: PoolLock = no_lock
