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


class UnitOfWork(Protocol):
    """One store transaction, as the use cases see it: they only emit into its outbox."""

    def emit(self, event_type: str, data: dict[str, Any]) -> dict[str, Any]: ...


class Digests(Protocol):
    """Keyed digests of contact details and payloads (the vault): comparable, not reversible."""

    def fingerprint(self, data: dict[str, Any]) -> str: ...

    def same_person_lookups(self, contact: dict[str, Any]) -> list[str]: ...


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

    def contact(self, registration_id: str) -> Contact | None: ...

    def by_referrer(self, referrer_id: str) -> list[Registration]: ...

    def inactive_since(self, statuses: Iterable[str], cutoff: datetime, limit: int = 100) -> list[dict[str, Any]]:
        """Up to `limit` ids (`{"_id": ...}`) of those in `statuses` not updated since `cutoff`."""
        ...

    def add(self, uow: UnitOfWork, registration: Registration, contact: Contact) -> Registration: ...

    def update(self, uow: UnitOfWork, registration_id: str, changes: dict[str, Any]) -> None: ...

    def erase(self, uow: UnitOfWork, registration: Registration, reason: str) -> int: ...

    def rotate_contacts(self) -> int: ...

    def counts(self) -> dict[str, int]: ...


@dataclass(frozen=True)
class Ports:
    store: RegistrationStore
    directory: Directory
    clock: Clock
