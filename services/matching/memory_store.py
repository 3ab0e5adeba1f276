"""matching's store in memory: the store port of `ports.MatchingStore`, as `store.MatchingStorage`
keeps it in MongoDB. Production needs it (the replay feeds people through the production path with
no broker and no store); the unit tests use it too.

Faithful to the Mongo store where the use cases can tell:
- a transaction is all or nothing: its writes, the id of the event it applies (the ledger) and the
  events it emits (the outbox, checked against their contracts) are kept together or not at all;
- an event id is applied once; a claim is versioned and raises ClaimLost on a stale version or a
  person already placed; a group update is versioned; a group id is inserted once;
- reads hand out copies, in the order the Mongo queries return them (insertion order; people due
  for widening by the time they are due).

Transactions run one at a time (a lock): what MongoDB's snapshot isolation with retries on write
conflicts amounts to for these changes. No write happens outside the transaction it names.
"""

import copy
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from services.common import clock
from services.common.envelope import Event, build

from . import domain, figures
from .ports import ClaimLost, Doc, MatchingStore, UnitOfWork

log = logging.getLogger(__name__)
T = TypeVar("T")


class DuplicateKey(Exception):
    """An insert of an id that exists (MongoDB's DuplicateKeyError); the transaction is undone."""


class MemoryUnitOfWork:
    def __init__(self, source: str) -> None:
        self.source = source
        self.emitted: list[dict[str, Any]] = []

    def emit(self, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
        """Check the event against its contract and hold it for the outbox (kept on commit)."""
        envelope = build(self.source, event_type, data)
        self.emitted.append(envelope)
        return envelope


class Table:
    """Documents by `_id` in insertion order (a replacement keeps its place, as in MongoDB), with
    indexes on the named fields; a list field indexes each of its items (a multikey index)."""

    def __init__(self, *indexed: str) -> None:
        self.docs: dict[Any, Doc] = {}
        self.indexes: dict[str, dict[Any, dict[Any, None]]] = {name: {} for name in indexed}
        self._position: dict[Any, int] = {}
        self._inserted = 0

    def get(self, key: Any) -> Doc | None:
        return self.docs.get(key)

    def where(self, field: str, value: Any) -> list[Doc]:
        keys = sorted(self.indexes[field].get(value, ()), key=self._position.__getitem__)
        return [self.docs[key] for key in keys]

    def __iter__(self) -> Iterator[Doc]:
        return iter(list(self.docs.values()))

    def __contains__(self, key: Any) -> bool:
        return key in self.docs

    def set(self, key: Any, doc: Doc | None) -> Doc | None:
        """Store `doc` under `key` (None deletes); returns what was there."""
        previous = self.docs.get(key)
        if previous is not None:
            self._unindex(key, previous)
        if doc is None:
            self.docs.pop(key, None)
            self._position.pop(key, None)
            return previous
        if previous is None:
            self._position[key] = self._inserted
            self._inserted += 1
        self.docs[key] = doc
        for field, index in self.indexes.items():
            for value in _index_values(doc.get(field)):
                index.setdefault(value, {})[key] = None
        return previous

    def _unindex(self, key: Any, doc: Doc) -> None:
        for field, index in self.indexes.items():
            for value in _index_values(doc.get(field)):
                keys = index.get(value)
                if keys is not None:
                    keys.pop(key, None)
                    if not keys:
                        del index[value]


def _index_values(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


class MemoryMatchingStore:
    source = "matching"

    def __init__(self) -> None:
        self.waiting = Table("pools", "contact_point_id")
        self.unroutable = Table()
        self.withdrawn = Table()
        self.erased = Table()
        self.groups = Table("contact_point_id")
        self.checkins = Table("group_id")
        self.comments = Table("group_id", "author")
        self.audit_log: list[Doc] = []
        self.acquaintances = Table("pair")
        self.pool_states = Table()
        self.contact_points = Table()
        self.cohorts = Table()
        self.figure_records = Table()
        self.ledger = Table()
        #: Every event emitted by a committed transaction, oldest first (the envelopes).
        self.outbox: list[dict[str, Any]] = []
        self._lock = threading.RLock()
        self._uow: MemoryUnitOfWork | None = None
        self._undo: list[tuple[Table, Any, Doc | None]] = []

    # --- transactions, ledger and outbox -------------------------------------------------------

    def apply(self, event: Event, change: Callable[[UnitOfWork], T]) -> T | None:
        """Run `change(uow)` once per event id, atomically with the ledger and the outbox.
        Returns the change's result, or None when this event was applied before."""
        with self._lock:
            if event.event_id in self.ledger:
                log.info("event already applied", extra={"event_id": event.event_id})
                return None
            return self.transaction(change, event_id=event.event_id)

    def transaction(self, change: Callable[[UnitOfWork], T], event_id: str | None = None) -> T:
        with self._lock:
            if self._uow is not None:
                raise RuntimeError("transactions do not nest")
            uow = self._uow = MemoryUnitOfWork(self.source)
            try:
                if event_id is not None:
                    if event_id in self.ledger:
                        raise DuplicateKey(f"ledger: {event_id}")
                    self._write(uow, self.ledger, event_id, {"_id": event_id, "applied_at": clock.now()})
                result = change(uow)
            except BaseException:
                for table, key, previous in reversed(self._undo):
                    table.set(key, previous)
                raise
            finally:
                self._uow, self._undo = None, []
            self.outbox.extend(uow.emitted)
            return result

    def take_outbox(self) -> list[dict[str, Any]]:
        """The events committed since the last call, oldest first (what a relay would publish)."""
        with self._lock:
            taken, self.outbox = self.outbox, []
            return taken

    def emitted_types(self) -> list[str]:
        return [envelope["event_type"] for envelope in self.outbox]

    def ping(self) -> bool:
        return True

    def _write(self, uow: UnitOfWork, table: Table, key: Any, doc: Doc | None) -> Doc | None:
        """Every write of a transaction goes through here, so that it can be undone."""
        if uow is not self._uow:
            raise RuntimeError("a write outside the transaction it names")
        previous = table.set(key, copy.deepcopy(doc))
        self._undo.append((table, key, previous))
        return previous

    def _write_now(self, table: Table, key: Any, doc: Doc) -> None:
        """A single-document write outside any transaction (atomic on its own, as in MongoDB)."""
        with self._lock:
            table.set(key, doc)

    # --- waiting people --------------------------------------------------------------------------

    def entry(self, registration_id: str, uow: UnitOfWork | None = None) -> Doc | None:
        return _copy(self.waiting.get(registration_id))

    def arrival_entry(self, registration_id: str, tombstone: str, uow: UnitOfWork) -> tuple[Doc | None, bool]:
        return _copy(self.waiting.get(registration_id)), tombstone in self.erased

    def entries(self, registration_ids: Iterable[str], uow: UnitOfWork | None = None) -> list[Doc]:
        wanted = set(registration_ids)
        return [copy.deepcopy(entry) for entry in self.waiting if entry["_id"] in wanted]

    def put_waiting(self, uow: UnitOfWork, entry: Doc) -> None:
        self._write(uow, self.waiting, entry["_id"], entry)

    def update_profile(self, uow: UnitOfWork, registration_id: str, profile: Doc) -> None:
        entry = self.waiting.get(registration_id)
        if entry is not None:
            self._write(uow, self.waiting, registration_id, {**entry, "profile": profile})

    def replace_if_version(self, uow: UnitOfWork, entry: Doc, version: int) -> bool:
        current = self.waiting.get(entry["_id"])
        if current is None or current["version"] != version:
            return False
        self._write(uow, self.waiting, entry["_id"], entry)
        return True

    def remove_waiting(self, uow: UnitOfWork, registration_id: str) -> int:
        if registration_id not in self.waiting:
            return 0
        self._write(uow, self.waiting, registration_id, None)
        return 1

    def pool_entries(self, pool: str) -> list[Doc]:
        """Everyone who can be placed from one pool now (claimed people have no pools)."""
        return [copy.deepcopy(entry) for entry in self.waiting.where("pools", pool)]

    def entries_of_contact_point(self, contact_point_id: str) -> list[Doc]:
        found = self.waiting.where("contact_point_id", contact_point_id)
        return [copy.deepcopy(entry) for entry in found if entry.get("group_id") is None]

    def due_for_widening(self, now: datetime, limit: int = 200) -> list[Doc]:
        due = [entry for entry in self.waiting if entry.get("next_widening_at") is not None]
        due = sorted((entry for entry in due if entry["next_widening_at"] <= now), key=lambda e: e["next_widening_at"])
        return [copy.deepcopy(entry) for entry in due[:limit]]

    def claim(self, uow: UnitOfWork, registration_id: str, version: int, group_id: str) -> None:
        entry = self.waiting.get(registration_id)
        if entry is None or entry["version"] != version or entry.get("group_id") is not None:
            raise ClaimLost(registration_id)
        claimed = {**entry, "group_id": group_id, "pools": [], "next_widening_at": None, "version": version + 1}
        self._write(uow, self.waiting, registration_id, claimed)

    def release(self, uow: UnitOfWork, registration_id: str, widening_days: Mapping[str, int]) -> Doc | None:
        """Back in the pool at the original place in the queue (`queue_since` is kept)."""
        entry = self.waiting.get(registration_id)
        if entry is None:
            return None
        released = {
            **entry,
            "group_id": None,
            "pools": domain.pools_of(entry),
            "next_widening_at": domain.next_widening_at(entry, widening_days),
            "version": entry["version"] + 1,
        }
        self._write(uow, self.waiting, registration_id, released)
        return copy.deepcopy(entry)

    def record_unroutable(
        self, uow: UnitOfWork, registration_id: str, reason: str, now: datetime, profile: Doc | None = None
    ) -> None:
        kept = self.unroutable.get(registration_id) or {"_id": registration_id}
        self._write(uow, self.unroutable, registration_id, {**kept, "reason": reason, "since": now, "profile": profile})

    def keep_withdrawn(self, uow: UnitOfWork, doc: Doc) -> None:
        self._write(uow, self.withdrawn, doc["_id"], doc)

    def withdrawn_entry(self, registration_id: str, uow: UnitOfWork | None = None) -> Doc | None:
        return _copy(self.withdrawn.get(registration_id))

    def drop_withdrawn(self, uow: UnitOfWork, registration_id: str) -> None:
        if registration_id in self.withdrawn:
            self._write(uow, self.withdrawn, registration_id, None)

    def forget(self, uow: UnitOfWork, registration_id: str) -> None:
        for table in (self.waiting, self.unroutable, self.withdrawn):
            if registration_id in table:
                self._write(uow, table, registration_id, None)

    def mark_erased(self, uow: UnitOfWork, tombstone: str) -> None:
        self._write(uow, self.erased, tombstone, {"_id": tombstone})

    def is_erased(self, tombstone: str, uow: UnitOfWork | None = None) -> bool:
        return tombstone in self.erased

    # --- groups ------------------------------------------------------------------------------------

    def group(self, group_id: str, uow: UnitOfWork | None = None) -> Doc | None:
        return _copy(self.groups.get(group_id))

    def insert_group(self, uow: UnitOfWork, group: Doc) -> None:
        if group["_id"] in self.groups:
            raise DuplicateKey(f"groups: {group['_id']}")
        self._write(uow, self.groups, group["_id"], group)

    def update_group(self, uow: UnitOfWork, group: Doc, changes: Doc) -> bool:
        """Versioned: False if the group changed since it was read."""
        current = self.groups.get(group["_id"])
        if current is None or current["version"] != group["version"]:
            return False
        self._write(uow, self.groups, group["_id"], {**current, **changes, "version": current["version"] + 1})
        return True

    def groups_of(self, contact_point_id: str, states: Iterable[str]) -> list[Doc]:
        wanted = set(states)
        found = self.groups.where("contact_point_id", contact_point_id)
        return [copy.deepcopy(group) for group in found if group["state"] in wanted]

    def groups_due_for_checkin(self, now: datetime, limit: int = 100) -> list[Doc]:
        due = [g for g in self.groups if g.get("next_checkin_at") is not None and g["next_checkin_at"] <= now]
        return [copy.deepcopy(group) for group in due[:limit]]

    # --- check-ins and their comments --------------------------------------------------------------

    def checkins_of(self, group_id: str, uow: UnitOfWork | None = None) -> list[Doc]:
        found = sorted(self.checkins.where("group_id", group_id), key=lambda checkin: checkin["number"])
        return [copy.deepcopy(checkin) for checkin in found]

    def checkin(self, checkin_id: str, uow: UnitOfWork | None = None) -> Doc | None:
        return _copy(self.checkins.get(checkin_id))

    def put_checkin(self, uow: UnitOfWork, checkin: Doc) -> None:
        self._write(uow, self.checkins, checkin["_id"], checkin)

    def put_comment(self, uow: UnitOfWork, comment: Doc) -> None:
        self._write(uow, self.comments, comment["_id"], comment)

    def comment(self, checkin_id: str) -> Doc | None:
        return _copy(self.comments.get(checkin_id))

    def drop_comment(self, uow: UnitOfWork, checkin_id: str) -> None:
        if checkin_id in self.comments:
            self._write(uow, self.comments, checkin_id, None)

    def drop_comments_of_group(self, uow: UnitOfWork, group_id: str) -> None:
        for comment in self.comments.where("group_id", group_id):
            self._write(uow, self.comments, comment["_id"], None)

    def drop_comments_by(self, uow: UnitOfWork, registration_id: str) -> None:
        for comment in self.comments.where("author", registration_id):
            self._write(uow, self.comments, comment["_id"], None)

    def audit(self, entry: Doc) -> None:
        with self._lock:
            self.audit_log.append(dict(entry))

    # --- acquaintances and pool state ------------------------------------------------------------

    def acquaintances_among(
        self, registration_ids: Iterable[str], uow: UnitOfWork | None = None
    ) -> list[frozenset[str]]:
        ids = set(registration_ids)
        pairs = {doc["_id"]: doc["pair"] for rid in sorted(ids) for doc in self.acquaintances.where("pair", rid)}
        return list(dict.fromkeys(frozenset(pair) for pair in pairs.values() if set(pair) <= ids))

    def add_acquaintances(self, uow: UnitOfWork, a: str, b: str, now: datetime) -> None:
        pair = sorted((a, b))
        key = "|".join(pair)
        self._write(uow, self.acquaintances, key, {"_id": key, "pair": pair, "at": now})

    def add_flagged_pair(self, uow: UnitOfWork, a: str, b: str, reason: str, now: datetime) -> None:
        key = domain.flagged_pair_key(a, b, reason)
        self._write(uow, self.acquaintances, key, {"_id": key, "pair": sorted((a, b)), "reason": reason, "at": now})

    def clear_flagged_pair(self, uow: UnitOfWork, a: str, b: str, reason: str) -> None:
        key = domain.flagged_pair_key(a, b, reason)
        if key in self.acquaintances:
            self._write(uow, self.acquaintances, key, None)

    def forget_acquaintances(self, uow: UnitOfWork, registration_id: str) -> None:
        for doc in self.acquaintances.where("pair", registration_id):
            self._write(uow, self.acquaintances, doc["_id"], None)

    def pool_state(self, pool: str, uow: UnitOfWork | None = None) -> Doc:
        return {
            "_id": pool,
            "rejected": [],
            "dirty": False,
            "seq": 0,
            **copy.deepcopy(self.pool_states.get(pool) or {}),
        }

    def add_rejected(self, uow: UnitOfWork, pool: str, registration_ids: Iterable[str]) -> None:
        state = self.pool_states.get(pool) or {"_id": pool}
        rejected = [*state.get("rejected", []), sorted(registration_ids)]
        self._write(uow, self.pool_states, pool, {**state, "rejected": rejected})

    def mark_dirty(self, uow: UnitOfWork, pool: str, due_at: datetime | None = None) -> None:
        state = self.pool_states.get(pool) or {"_id": pool}
        if state.get("dirty") is True and (state.get("due_at") is None or (due_at and state["due_at"] <= due_at)):
            due_at = state.get("due_at")
        marked = {**state, "dirty": True, "seq": state.get("seq", 0) + 1, "due_at": due_at}
        self._write(uow, self.pool_states, pool, marked)

    def dirty_pools(
        self, limit: int = 50, now: datetime | None = None, resolved_before: datetime | None = None
    ) -> list[Doc]:
        def ready(state: Doc) -> bool:
            due, resolved = state.get("due_at"), state.get("last_resolved_at")
            return (now is None or due is None or due <= now) and (
                resolved_before is None or resolved is None or resolved <= resolved_before
            )

        dirty = [state for state in self.pool_states if state.get("dirty") is True and ready(state)]
        return [{"_id": state["_id"], "seq": state.get("seq")} for state in dirty[:limit]]

    def note_resolved(self, uow: UnitOfWork, pool: str, now: datetime) -> None:
        state = self.pool_states.get(pool) or {"_id": pool}
        self._write(uow, self.pool_states, pool, {**state, "last_resolved_at": now})

    def clear_dirty(self, pool: str, seq: int) -> None:
        """Only if nothing marked it again meanwhile (no lost wake-up)."""
        state = self.pool_states.get(pool)
        if state is not None and state.get("seq") == seq:
            self._write_now(self.pool_states, pool, {**state, "dirty": False})

    # --- course cohorts ------------------------------------------------------------------------------

    def cohort(self, cohort_id: str, uow: UnitOfWork | None = None) -> Doc | None:
        return _copy(self.cohorts.get(cohort_id))

    def save_cohort(self, uow: UnitOfWork, cohort: Doc) -> None:
        self._write(uow, self.cohorts, cohort["_id"], cohort)

    def cohorts_due(self, now: datetime, limit: int = 50) -> list[Doc]:
        due = [c for c in self.cohorts if c.get("formed") is False and c["deadline"] <= now]
        return [copy.deepcopy(cohort) for cohort in due[:limit]]

    def entries_of_cohort(self, cohort_id: str, uow: UnitOfWork | None = None) -> list[Doc]:
        found = [
            e for e in self.waiting if ((e.get("profile") or {}).get("cohort") or {}).get("cohort_id") == cohort_id
        ]
        return [copy.deepcopy(entry) for entry in found]

    # --- contact points ----------------------------------------------------------------------------

    def contact_point(self, contact_point_id: str, uow: UnitOfWork | None = None) -> Doc | None:
        return _copy(self.contact_points.get(contact_point_id))

    def save_contact_point(self, uow: UnitOfWork, data: Doc) -> None:
        key = data["contact_point_id"]
        self._write(uow, self.contact_points, key, {**data, "_id": key})

    def digital_contact_points(self) -> set[str]:
        return {
            doc["_id"] for doc in self.contact_points if doc.get("digital_groups") is True and doc.get("active") is True
        }

    # --- the national office's queue ------------------------------------------------------------

    def unroutable_entry(self, registration_id: str, uow: UnitOfWork | None = None) -> Doc | None:
        return _copy(self.unroutable.get(registration_id))

    def unroutable_entries(self) -> list[Doc]:
        return [copy.deepcopy(doc) for doc in self.unroutable]

    def remove_unroutable(self, uow: UnitOfWork, registration_id: str) -> int:
        if registration_id not in self.unroutable:
            return 0
        self._write(uow, self.unroutable, registration_id, None)
        return 1

    def note_contact(self, uow: UnitOfWork, registration_id: str, contact: Doc) -> None:
        doc = self.unroutable.get(registration_id)
        if doc is not None:
            self._write(uow, self.unroutable, registration_id, {**doc, "contact": contact})

    # --- figures -------------------------------------------------------------------------------------

    def figure_person(self, key: str, uow: UnitOfWork | None = None) -> Doc | None:
        return _copy(self.figure_records.get(key))

    def put_figure_person(self, uow: UnitOfWork, record: Doc) -> None:
        self._write(uow, self.figure_records, record["_id"], record)

    def register_figure_person(self, uow: UnitOfWork, record: Doc) -> bool:
        previous = self.figure_records.get(record["_id"])
        self._write(uow, self.figure_records, record["_id"], figures.registered_again(record, previous))
        return previous is not None

    def figure_people(self) -> list[Doc]:
        return [copy.deepcopy(record) for record in self.figure_records]

    def group_histories(self) -> list[Doc]:
        return [
            {"_id": g["_id"], "contact_point_id": g["contact_point_id"], "history": copy.deepcopy(g["history"])}
            for g in self.groups
            if g.get("closed_reason") != "superseded"  # a replaced proposal was never a group
        ]

    def checkin_answers(self) -> dict[str, list[Doc]]:
        answers: dict[str, list[Doc]] = {}
        for checkin in self.checkins:
            if checkin.get("answered_at") is not None:
                still = (checkin.get("answer") or {}).get("still_meeting")
                answers.setdefault(checkin["group_id"], []).append(
                    {"answered_at": checkin["answered_at"], "still_meeting": still}
                )
        return answers

    def contact_point_counties(self) -> dict[str, str | None]:
        return {doc["_id"]: doc.get("county_number") for doc in self.contact_points}


def _copy(doc: Doc | None) -> Doc | None:
    return copy.deepcopy(doc) if doc is not None else None


if TYPE_CHECKING:  # mypy checks that the memory store implements the whole store port
    _implements_the_port: MatchingStore = MemoryMatchingStore()
