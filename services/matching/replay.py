"""Replay people as they really arrive through matching's production code, with simulated time:
`python -m services.matching.replay PEOPLE.jsonl [--contact-point-settings FILE] [--sweep-every HOURS]`.

Each line of PEOPLE.jsonl is the `data` of a registration_created event (the matching profile: no
names, no contact details), in order of `registered_at`, plus `acquaintances` (registration ids)
and `route` (what `directory.route` would answer first: contact_point_id, kind,
municipality_number, distance_km, reason). `--contact-point-settings` is a JSON map from
contact_point_id to {min_size, max_size, municipalities, digital_groups} (5, 8, none and false
when a contact point is not named).

Every arrival goes through `handlers.waitlist`, and a sweep (`handlers.sweep`: widening and the
re-solves of the online policy) runs every `--sweep-every` hours of simulated time, on matching's
in-memory store; no broker, no store. No staff take part: a proposal counts as placed. The replay
ends one day after the last arrival. It prints JSON: the groups proposed at the end, sorted by
(proposed_at, group_id); the ids of everyone still waiting (unroutable people included); and the
90th percentile (nearest rank) of everyone's wait in days, up to their first proposal or to the
end. The same input gives the same bytes, whatever the hash seed. The CPU spent on arrivals and on
re-solves goes to stderr, on a line each. The exact solver's budget and workers come from
FLOKK_MATCHING_EXACT_BUDGET and FLOKK_MATCHING_EXACT_WORKERS, as in production.
"""

import argparse
import json
import math
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from services.common import clock
from services.common import settings as declared_settings
from services.common.contracts import ROUTE_KINDS
from services.common.envelope import ContractViolation, Event, build, iso, parse

from . import engine, handlers
from .memory_store import MemoryMatchingStore
from .ports import Candidates, Doc, Ports, Settings
from .settings import SETTINGS

T = TypeVar("T")
#: The replay runs on after the last arrival, so that the re-solves it calls for can run.
TAIL = timedelta(days=1)
ROUTE_FIELDS = ("contact_point_id", "kind", "municipality_number", "distance_km", "reason")
DEFAULT_CONTACT_POINT = {"min_size": 5, "max_size": 8, "municipalities": [], "digital_groups": False}
NAMESPACE = uuid.UUID("0b6f2d3c-5e4a-4c1b-9f7e-2a8d6c4b1e90")


class ReplayInputError(ValueError):
    """A line or a setting that the replay cannot use: names where (line, field) and why."""


@dataclass
class Replay:
    """What a replay produced, and what it cost."""

    groups: list[Doc]
    waiting: list[str]
    waited_days: dict[str, float]  # everyone: up to their first proposal, or to the end
    end: datetime
    arrivals: int = 0
    arrival_cpu: float = 0.0
    resolves: int = 0
    resolve_cpu: float = 0.0
    superseded: int = 0
    events: list[Doc] = field(default_factory=list)  # every event matching emitted, in order

    def output(self) -> Doc:
        return {"groups": self.groups, "waiting": self.waiting, "p90_wait_days": p90(self.waited_days.values())}


def p90(values: Iterable[float]) -> float:
    """The nearest-rank 90th percentile, in days to three decimals (0 for nobody)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return round(ordered[math.ceil(0.9 * len(ordered)) - 1], 3)


class _Directory:
    """`directory.route` as the input says: the route of the person being replayed."""

    def __init__(self) -> None:
        self.current: Candidates = []

    def route(self, municipality_number: str, preferences: Mapping[str, bool]) -> Candidates:
        return list(self.current)

    def get_contact_point(self, contact_point_id: str) -> Doc:
        return {"contact_point_id": contact_point_id, "meeting_places": []}


class _NoCache:
    """Each arrival asks for its own route: the input gives one per person."""

    def get_or_load(self, key: Any, load: Callable[[], Any]) -> Any:
        return load()

    def put(self, key: Any, value: Any) -> None:
        return None

    def clear(self) -> None:
        return None


@dataclass
class _Meter:
    """Runs the re-solves (the Offload port) and counts their CPU."""

    calls: int = 0
    cpu: float = 0.0

    def __call__(self, fn: Callable[..., T], *args: Any) -> T:
        start = time.process_time()
        try:
            return fn(*args)
        finally:
            self.calls += 1
            self.cpu += time.process_time() - start


def run(
    lines: Sequence[Doc],
    contact_points: Mapping[str, Doc] | None = None,
    sweep_every: timedelta = timedelta(hours=1),
    settings: Settings | None = None,
) -> Replay:
    """Replay validated input lines (see `read_lines`) through the production path."""
    settings = settings or Settings()
    if not lines:
        raise ReplayInputError("no people to replay")
    events = [_event(n, line) for n, line in enumerate(lines, 1)]
    start = events[0].data["registered_at"]
    end = events[-1].data["registered_at"] + TAIL
    simulated = clock.FixedClock(start)
    store, directory, meter = MemoryMatchingStore(), _Directory(), _Meter()
    ports = Ports(
        store=store, directory=directory, routes=_NoCache(), clock=simulated, settings=settings, offload=meter
    )
    known = _acquaintances(lines)
    placed_at: dict[str, datetime] = {}
    emitted: list[Doc] = []
    arrived: set[str] = set()
    arrival_cpu, superseded = 0.0, 0
    with clock.use(simulated):
        _save_contact_points(store, lines, contact_points or {})
        next_sweep = start + sweep_every

        def sweep_until(moment: datetime) -> None:
            nonlocal next_sweep, superseded
            while next_sweep <= moment:
                simulated.moment = next_sweep
                handlers.sweep(ports)
                superseded += _note_placements(store, placed_at, emitted)
                next_sweep += sweep_every

        for line, event in zip(lines, events, strict=True):
            sweep_until(event.data["registered_at"])
            simulated.moment = event.data["registered_at"]
            rid = line["registration_id"]
            _record_acquaintances(store, rid, sorted(known.get(rid, set()) & arrived), simulated.moment)
            directory.current = [line["route"]]
            began = time.process_time()
            handlers.waitlist(ports, event)
            arrival_cpu += time.process_time() - began
            arrived.add(rid)
            superseded += _note_placements(store, placed_at, emitted)
        sweep_until(end)
        simulated.moment = end
    result = _result(store, events, placed_at, end, arrival_cpu, meter, superseded)
    result.events = emitted
    return result


def _event(n: int, line: Doc) -> Event:
    profile = {key: value for key, value in line.items() if key not in ("acquaintances", "route")}
    event_id = str(uuid.uuid5(NAMESPACE, f"{line.get('registration_id')}|{n}"))
    try:
        return parse(
            build("registration", "registration_created", profile, event_id=event_id),
            "registration",
            "registration_created",
        )
    except ContractViolation as violation:
        raise ReplayInputError(f"line {n}: not a registration_created profile: {_fields(violation.errors)}") from None


def _fields(errors: Mapping[str, Any], prefix: str = "") -> str:
    parts = []
    for key, value in sorted(errors.items()):
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            parts.append(_fields(value, f"{name}."))
        else:
            parts.append(f"{name}: {' '.join(map(str, value))}")
    return "; ".join(parts)


def _acquaintances(lines: Sequence[Doc]) -> dict[str, set[str]]:
    pairs: dict[str, set[str]] = {}
    for line in lines:
        for other in line["acquaintances"]:
            pairs.setdefault(line["registration_id"], set()).add(other)
            pairs.setdefault(other, set()).add(line["registration_id"])
    return pairs


def _record_acquaintances(store: MemoryMatchingStore, rid: str, others: Sequence[str], now: datetime) -> None:
    """The pairs of a newcomer with those who arrived before (as staff would record them)."""

    def change(uow: Any) -> None:
        for other in others:
            store.add_acquaintances(uow, rid, other, now)

    if others:
        store.transaction(change)


def _save_contact_points(store: MemoryMatchingStore, lines: Sequence[Doc], contact_points: Mapping[str, Doc]) -> None:
    named = sorted({line["route"]["contact_point_id"] for line in lines} | set(contact_points))

    def change(uow: Any) -> None:
        for contact_point_id in named:
            chosen = {**DEFAULT_CONTACT_POINT, **contact_points.get(contact_point_id, {})}
            doc = {"contact_point_id": contact_point_id, "revision": 1, "active": True, **chosen}
            store.save_contact_point(uow, doc)

    store.transaction(change)


def _note_placements(store: MemoryMatchingStore, placed_at: dict[str, datetime], emitted: list[Doc]) -> int:
    """Record everyone's first proposal from the events just committed; counts the supersessions."""
    superseded = 0
    for envelope in store.take_outbox():
        emitted.append(envelope)
        if envelope["event_type"] == "group_proposed":
            moment = datetime.fromisoformat(envelope["occurred_at"])
            for rid in envelope["data"]["registration_ids"]:
                placed_at.setdefault(rid, moment)
        elif envelope["event_type"] == "group_closed" and envelope["data"]["reason"] == "superseded":
            superseded += 1
    return superseded


def _result(
    store: MemoryMatchingStore,
    events: Sequence[Event],
    placed_at: dict[str, datetime],
    end: datetime,
    arrival_cpu: float,
    meter: _Meter,
    superseded: int,
) -> Replay:
    live = sorted((g for g in store.groups if g["state"] == "proposed"), key=lambda g: (g["proposed_at"], g["_id"]))
    placed = {rid for group in live for rid in group["members"]}
    groups = [
        {
            "group_id": group["_id"],
            "contact_point_id": group["contact_point_id"],
            "registration_ids": list(group["members"]),
            "slot": engine.slot_dict(group["slot"]),
            "theme": group["theme"],
            "mixed": group["theme"] is None,
            "size": len(group["members"]),
            "proposed_at": iso(group["proposed_at"]),
        }
        for group in live
    ]
    waited = {}
    for event in events:
        rid = event.data["registration_id"]
        until = placed_at.get(rid, end) if rid in placed else end
        waited[rid] = (until - event.data["registered_at"]).total_seconds() / 86_400
    return Replay(
        groups=groups,
        waiting=sorted(rid for rid in waited if rid not in placed),
        waited_days=waited,
        end=end,
        arrivals=len(events),
        arrival_cpu=arrival_cpu,
        resolves=meter.calls,
        resolve_cpu=meter.cpu,
        superseded=superseded,
    )


# --- input -----------------------------------------------------------------------------------------


def read_lines(text: str) -> list[Doc]:
    """The people of a PEOPLE.jsonl, checked: each line a JSON object with `acquaintances` and
    `route`, ids unique, `registered_at` never going back. The profile itself is checked against
    the registration_created contract when it is replayed."""
    lines: list[Doc] = []
    seen: set[str] = set()
    previous = None
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ReplayInputError(f"line {n}: not JSON ({exc.msg})") from None
        if not isinstance(line, dict):
            raise ReplayInputError(f"line {n}: must be a JSON object")
        rid = line.get("registration_id")
        if not isinstance(rid, str) or not rid:
            raise ReplayInputError(f"line {n}: registration_id: must be a non-empty string")
        if rid in seen:
            raise ReplayInputError(f"line {n}: registration_id: {rid!r} appears twice")
        seen.add(rid)
        _check_route(n, line.get("route"))
        acquaintances = line.get("acquaintances")
        if not isinstance(acquaintances, list) or not all(isinstance(a, str) and a for a in acquaintances):
            raise ReplayInputError(f"line {n}: acquaintances: must be a list of registration ids")
        moment = _moment(n, line.get("registered_at"))
        if previous is not None and moment < previous:
            raise ReplayInputError(f"line {n}: registered_at: earlier than the line before; sort by registered_at")
        previous = moment
        lines.append(line)
    for n, line in enumerate(lines, 1):
        unknown = sorted(set(line["acquaintances"]) - seen)
        if unknown:
            raise ReplayInputError(
                f"person {n} ({line['registration_id']}): acquaintances: {unknown[0]!r} is not in the file"
            )
    return lines


def _moment(n: int, value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        raise ReplayInputError(
            f"line {n}: registered_at: must be an ISO time with a zone, such as 2026-03-02T07:00:00Z"
        ) from None
    if moment.tzinfo is None:
        raise ReplayInputError(f"line {n}: registered_at: must say its time zone (Z or an offset)")
    return moment


def _check_route(n: int, route: Any) -> None:
    if not isinstance(route, dict) or sorted(route) != sorted(ROUTE_FIELDS):
        raise ReplayInputError(f"line {n}: route: must be an object with exactly {', '.join(ROUTE_FIELDS)}")
    if not isinstance(route["contact_point_id"], str) or not route["contact_point_id"]:
        raise ReplayInputError(f"line {n}: route.contact_point_id: must be a non-empty string")
    if route["kind"] not in ROUTE_KINDS:
        raise ReplayInputError(f"line {n}: route.kind: must be one of {', '.join(ROUTE_KINDS)}")
    if not isinstance(route["reason"], str) or not route["reason"]:
        raise ReplayInputError(f"line {n}: route.reason: must be a non-empty string")


def read_contact_points(text: str) -> dict[str, Doc]:
    """{contact_point_id: {min_size, max_size, municipalities, digital_groups}}, checked."""
    try:
        settings = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReplayInputError(f"contact point settings: not JSON ({exc.msg})") from None
    if not isinstance(settings, dict):
        raise ReplayInputError("contact point settings: must be a JSON object keyed by contact_point_id")
    checked = {}
    for contact_point_id, given in sorted(settings.items()):
        where = f"contact point settings: {contact_point_id}"
        if not isinstance(given, dict) or set(given) - set(DEFAULT_CONTACT_POINT):
            raise ReplayInputError(f"{where}: must be an object with some of {', '.join(DEFAULT_CONTACT_POINT)}")
        chosen = {**DEFAULT_CONTACT_POINT, **given}
        for size in ("min_size", "max_size"):
            if not isinstance(chosen[size], int) or isinstance(chosen[size], bool) or not 3 <= chosen[size] <= 12:
                raise ReplayInputError(f"{where}.{size}: must be a whole number from 3 to 12")
        if chosen["min_size"] > chosen["max_size"]:
            raise ReplayInputError(f"{where}.min_size: must not be above max_size")
        if not isinstance(chosen["municipalities"], list) or not all(
            isinstance(m, str) and len(m) == 4 and m.isdigit() for m in chosen["municipalities"]
        ):
            raise ReplayInputError(f"{where}.municipalities: must be a list of 4-digit municipality numbers")
        if not isinstance(chosen["digital_groups"], bool):
            raise ReplayInputError(f"{where}.digital_groups: must be true or false")
        checked[contact_point_id] = chosen
    return checked


def _environment_settings() -> Mapping[str, str]:
    """matching's own settings (the exact solver's budget and workers, the widening days) from the
    environment, as the service reads them; none of the broker's or store's."""
    common = {setting.name for setting in declared_settings.COMMON}
    return declared_settings.Settings.load("matching", [s for s in SETTINGS if s.name not in common])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.matching.replay", description=__doc__.split("\n")[0])
    parser.add_argument("people", type=Path, help="PEOPLE.jsonl, one registration_created profile a line")
    parser.add_argument("--contact-point-settings", type=Path, help="JSON: contact_point_id -> settings")
    parser.add_argument("--sweep-every", type=float, default=1.0, metavar="HOURS", help="default 1")
    parser.add_argument(
        "--policy",
        choices=("online", "incremental"),
        default="online",
        help="online: design §4.13 (default); incremental: each arrival placed on its own, as before it",
    )
    args = parser.parse_args(argv)
    try:
        if args.sweep_every <= 0:
            raise ReplayInputError("--sweep-every: must be above 0 hours")
        settings = replace(Settings.from_config(_environment_settings()), online=args.policy == "online")
        lines = read_lines(args.people.read_text(encoding="utf-8"))
        contact_points = (
            read_contact_points(args.contact_point_settings.read_text(encoding="utf-8"))
            if args.contact_point_settings
            else {}
        )
        result = run(lines, contact_points, timedelta(hours=args.sweep_every), settings)
    except (ReplayInputError, ValueError, OSError) as error:
        print(f"replay: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result.output(), sort_keys=True, separators=(",", ":")))
    print(f"arrivals: {result.arrivals}, CPU {result.arrival_cpu:.2f} s", file=sys.stderr)
    print(
        f"re-solves: {result.resolves}, CPU {result.resolve_cpu:.2f} s, {result.superseded} proposals superseded",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
