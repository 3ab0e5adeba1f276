"""The ports registration's use cases need, and the `Ports` bundle they all take first.

Adapters: `store.RegistrationStorage` (MongoDB), `directory.DirectoryPlaces` (the directory's RPC
proxy), `services.common.clock` (the clock). In-memory implementations for unit tests:
tests/fakes/registration.py.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from services.common.clock import Clock
from services.common.envelope import Event
from services.common.errors import NotFound

from .domain import Contact, Place, Registration

T = TypeVar("T")


class UnknownPostalCode(NotFound):
    """The directory knows no such postal code."""


class UnknownMunicipality(NotFound):
    """The directory knows no such municipality number."""


class UnknownContactPoint(NotFound):
    """The directory knows no such contact point."""


class KeyTaken(Exception):
    """Another registration holds this idempotency key: a concurrent worker stored it first."""


class Directory(Protocol):
    """Where a person lives, from the directory's reference data."""

    def municipality_for_postal_code(self, postal_code: str) -> Place:
        """Raises UnknownPostalCode."""
        ...

    def municipality(self, municipality_number: str) -> Place:
        """Raises UnknownMunicipality."""
        ...

    def contact_point(self, contact_point_id: str) -> dict[str, Any]:
        """The contact point as the directory shows it; raises UnknownContactPoint."""
        ...


class UnitOfWork(Protocol):
    """One store transaction, as the use cases see it: they only emit into its outbox."""

    def emit(self, event_type: str, data: dict[str, Any]) -> dict[str, Any]: ...


class Digests(Protocol):
    """Keyed digests of contact details and payloads, and personal links (the vault)."""

    def fingerprint(self, data: dict[str, Any]) -> str: ...

    def same_person_lookups(self, contact: dict[str, Any]) -> list[str]: ...

    def contact_lookup(self, kind: str, normalised: str) -> str:
        """The same-person digest of one address ("email" or "phone", as vault.parse_contact gives it)."""
        ...

    def mint_link(self, registration_id: str, purpose: str, issued_at: datetime) -> str: ...

    def read_link(self, token: object, purpose: str, now: datetime) -> tuple[str, int]:
        """`(registration_id, issued_at)` of a good token, or links.BadLink."""
        ...


class ChangedMeanwhile(Exception):
    """A registration kept changing between the read and the write of `follow`: the event is
    handled again later (the shared delivery retries it)."""


class RegistrationStore(Protocol):
    """Registrations, their sealed contact records, erased-key tombstones and anonymous counts.

    `transaction(change)` runs `change(uow)` in one transaction with its emitted events;
    `apply(event, change)` does so once per event id (None when applied before). Both raise
    KeyTaken when the change stored an idempotency key another registration took meanwhile."""

    vault: Digests
    retention_days: float

    def transaction(self, change: Callable[[UnitOfWork], T]) -> T: ...

    def apply(self, event: Event, change: Callable[[UnitOfWork], T]) -> T | None: ...

    def by_idempotency_key(self, key: str, uow: UnitOfWork | None = None) -> Registration | None: ...

    def key_was_erased(self, key: str) -> bool: ...

    def get(self, registration_id: str, uow: UnitOfWork | None = None) -> Registration | None: ...

    def follow(
        self,
        event_id: str,
        registration_id: str,
        changes_for: Callable[[Registration], dict[str, Any]],
        likely: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """Apply one event's `changes_for(registration)` once, without a transaction (the ledger
        entry is in the registration); None when applied before, unknown, or nothing changes.
        `likely`: domain.FOLLOW_READS as the registration most likely has them, tried first
        without reading it (the outcome is the same either way)."""
        ...

    def contact(self, registration_id: str) -> Contact | None: ...

    def by_referrer(self, referrer_id: str) -> list[Registration]: ...

    def by_id_prefix(self, prefix: str, limit: int = 20) -> list[Registration]: ...

    def inactive_since(
        self, statuses: Iterable[str], reasons: Iterable[str], cutoff: datetime, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Up to `limit` ids (`{"_id": ...}`) of those in `statuses` or with a `retention_reason` in
        `reasons` whose last activity (`last_activity_at`; `updated_at` for a registration stored
        before the field was kept) is before `cutoff`."""
        ...

    def note_activity(self, registration_id: str, at: datetime) -> None:
        """The person acted on their own page: `last_activity_at` (outside any transaction)."""
        ...

    def add(self, uow: UnitOfWork, registration: Registration, contact: Contact) -> Registration: ...

    def update(self, uow: UnitOfWork, registration_id: str, changes: dict[str, Any]) -> None:
        """Set `changes` and `updated_at`; a change that names `status` is activity, and sets
        `last_activity_at` too (domain.LAST_ACTIVITY)."""
        ...

    def update_all(self, uow: UnitOfWork, registration_ids: Iterable[str], changes: dict[str, Any]) -> None:
        """`update` of several registrations with the same `changes`, as one write."""
        ...

    def erase(self, uow: UnitOfWork, registration: Registration, reason: str) -> int: ...

    def rotate_contacts(self) -> int: ...

    def record_contact_read(self, entry: dict[str, Any]) -> None:
        """One entry of the log of contact_details calls (kept two years, never erased)."""
        ...

    def counts(self) -> dict[str, int]: ...

    # --- the person's own page (issue 13) ------------------------------------------------------

    def by_ids(self, registration_ids: Iterable[str], uow: UnitOfWork | None = None) -> list[Registration]: ...

    def with_lookups(self, digests: Iterable[str], uow: UnitOfWork | None = None) -> list[Registration]:
        """Registrations whose same-person digests include one of `digests`."""
        ...

    def avoiding(self, digests: Iterable[str], uow: UnitOfWork | None = None) -> list[Registration]:
        """Registrations whose list of people not to meet holds one of `digests`."""
        ...

    def add_avoid_flag(self, uow: UnitOfWork, registration_id: str, other_id: str) -> None:
        """Note that the person's list matched `other_id` (no activity: `updated_at` stays)."""
        ...

    def due_pauses(self, now: datetime, limit: int = 100) -> list[dict[str, Any]]:
        """Up to `limit` ids (`{"_id": ...}`) of paused registrations whose pause ended by `now`."""
        ...

    def audit(self, entry: dict[str, Any]) -> None:
        """One entry of the participants' audit (at, registration_id, action, outcome), outside any
        transaction: a refused action is recorded too."""
        ...

    def count_attempts(self, kind: str, key: str, since: datetime) -> int:
        """Attempts of `kind` under `key` since then (the throttles: new links, cohort codes)."""
        ...

    def record_attempt(self, kind: str, key: str, at: datetime) -> None:
        """Count one attempt; attempts older than a day are dropped on the way."""
        ...

    # --- course cohorts ---------------------------------------------------------------------------

    def add_cohort(self, uow: UnitOfWork, cohort: dict[str, Any]) -> None: ...

    def cohort(self, cohort_id: str) -> dict[str, Any] | None: ...

    def cohort_with_code(self, code: str) -> dict[str, Any] | None: ...

    def cohorts_of(self, referrer_id: str) -> list[dict[str, Any]]: ...

    def registered_in_cohort(self, cohort_id: str) -> int:
        """How many registrations name the cohort (a count only)."""
        ...


@dataclass(frozen=True)
class Ports:
    store: RegistrationStore
    directory: Directory
    clock: Clock
