"""What the directory's use cases need: its store and Norway's reference data, as small ports.

The store's one implementation is `store.DirectoryStorage` (in-memory for the unit tests:
tests/fakes/directory.py). The reference data is read-only and the same everywhere:
`reference.ReferenceData`, loaded once per process from data/.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from services.common.clock import CURRENT, Clock

from .reference import Municipality, PostalCode

T = TypeVar("T")

#: A contact point as the directory stores it: the validated input and its `revision`.
ContactPoint = dict[str, Any]


class UnitOfWork(Protocol):
    """One transaction of the store; what it emits is published after the commit (the outbox)."""

    def emit(self, event_type: str, data: dict[str, Any]) -> dict[str, Any]: ...


class DirectoryStore(Protocol):
    def contact_points(self) -> list[ContactPoint]: ...

    def contact_point(self, contact_point_id: str) -> ContactPoint | None: ...

    def current(self, uow: UnitOfWork, contact_point_id: str) -> ContactPoint | None:
        """The stored contact point, read inside the unit of work's transaction."""
        ...

    def save(self, uow: UnitOfWork, doc: ContactPoint) -> None: ...

    def transaction(self, change: Callable[[UnitOfWork], T]) -> T: ...


class Reference(Protocol):
    """Norway's municipalities, counties and postal codes (data/SOURCES.md)."""

    @property
    def municipalities(self) -> Mapping[str, Municipality]: ...

    @property
    def counties(self) -> Mapping[str, str]:
        """county number -> name"""
        ...

    @property
    def postal_codes(self) -> Mapping[str, PostalCode]: ...

    def municipality(self, number: str) -> Municipality:
        """The municipality, or UnknownMunicipality."""
        ...

    def place_for_postal_code(self, code: str) -> dict[str, Any]:
        """`{"municipality_number", "name", "county_number", "area"}`, or UnknownPostalCode."""
        ...

    def distance_km(self, number_a: str, number_b: str) -> float: ...


class Matching(Protocol):
    """matching's RPC the directory asks: whether a participant's group meets at a place."""

    def person_status(self, registration_id: str, actor: dict[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Ports:
    store: DirectoryStore
    reference: Reference
    matching: Matching | None = None
    clock: Clock = CURRENT
