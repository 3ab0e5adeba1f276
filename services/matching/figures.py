"""The figures matching serves, for the Directorate of Health and for each contact point (issue 15).
Pure: plain dicts in, plain dicts out, the time passed in.

The inputs are anonymous: one *figure record* per person who registered (`person_record`:
county, the contact point that has them, role, themes, referred or not, when they registered, were
placed and left; no registration id), the groups with their history, and the answers to check-ins.

Figures are per period: a whole month, quarter or year in Norwegian time (`parse_period`). A
*flow* counts what happened in the period (registered, placed, groups started ...), so a year is
the sum of its quarters and a quarter the sum of its months; a *stock* counts what was so at the
end of the period (or now, for a period not yet over). Every count goes through the small-number
rule (small_numbers.py) together with every count it adds up with, so no difference a reader can
take gives a blank away; the shares are computed from the counts as shown.
"""

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.common import figure_columns as columns
from services.common.clock import OSLO

from . import small_numbers

Doc = dict[str, Any]

NATIONAL = "national"
#: People with no county (Svalbard, Jan Mayen) and groups of a contact point matching has no
#: county for: a row of their own, so the national total less the counties hides nothing.
OUTSIDE_COUNTIES = "outside_counties"

#: Counts of what happened in the period (what was so at its end: columns.STOCKS).
FLOWS = (*columns.PEOPLE_FLOWS, *columns.GROUP_FLOWS)
#: The numerators of the shares: counted and protected like the rest, shown only as shares.
SHARES = {share: share.removeprefix("share_") for share in columns.SHARES}
SHARE_COUNTS = tuple(SHARES.values())
COUNTS = (*columns.STOCKS, *FLOWS)
#: The stock a group in each state counts in (running: started or run by its members).
GROUP_STOCKS = {
    "proposed": "groups_proposed",
    "confirmed": "groups_confirmed",
    "started": "groups_running",
    "self_run": "groups_running",
}
ADDITIVE_OVER_TIME = frozenset((*FLOWS, *SHARE_COUNTS))
#: Group survival: months after the start at which a check-in that says «still meeting» counts.
MILESTONE_MONTHS = (6, 12, 24)
#: Fewest people behind a median or a 90th percentile of waiting days.
FEWEST_FOR_MEDIAN, FEWEST_FOR_P90 = 5, 10

PERIOD_FORMAT = re.compile(r"^(?P<year>\d{4})(?:-Q(?P<quarter>[1-4])|-(?P<month>0[1-9]|1[0-2]))?$")
PERIOD_HELP = "Use a year (2026), a quarter (2026-Q4) or a month (2026-11)."


# --- periods ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A whole month, quarter or year in Norwegian time: `start` <= moment < `end` (UTC)."""

    label: str
    start: datetime
    end: datetime

    def holds(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment < self.end


def _oslo_midnight(year: int, month: int) -> datetime:
    """The first moment of a month in Norway, in UTC."""
    if month > 12:
        year, month = year + 1, month - 12
    return datetime(year, month, 1, tzinfo=OSLO).astimezone(UTC)


def _months(year: int, first: int, count: int, label: str) -> Period:
    return Period(label, _oslo_midnight(year, first), _oslo_midnight(year, first + count))


def parse_period(text: str) -> Period:
    """`2026`, `2026-Q4` or `2026-11`; ValueError (with PERIOD_HELP) for anything else."""
    found = PERIOD_FORMAT.match(text or "")
    if not found or not 2000 <= int(found["year"]) <= 2100:
        raise ValueError(PERIOD_HELP)
    year = int(found["year"])
    if found["quarter"]:
        return _months(year, 3 * int(found["quarter"]) - 2, 3, text)
    if found["month"]:
        return _months(year, int(found["month"]), 1, text)
    return _months(year, 1, 12, text)


def year_of(period: Period) -> int:
    return int(period.label[:4])


def quarters(year: int) -> list[Period]:
    return [parse_period(f"{year}-Q{q}") for q in range(1, 5)]


def months_of(quarter: Period) -> list[Period]:
    first = int(quarter.label[-1]) * 3 - 2
    return [parse_period(f"{quarter.label[:4]}-{month:02d}") for month in range(first, first + 3)]


def lattice(year: int, with_months: bool = True) -> dict[Period, list[Period]]:
    """The year's periods, each with the sub-periods it is the sum of: the year and its quarters,
    and (with months) each quarter and its months, each month with none."""
    whole = parse_period(str(year))
    tree: dict[Period, list[Period]] = {whole: quarters(year)}
    for quarter in quarters(year):
        tree[quarter] = months_of(quarter) if with_months else []
        for month in tree[quarter]:
            tree[month] = []
    return tree


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` later (the last day of a shorter month)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    for day in range(moment.day, 27, -1):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return moment.replace(year=year, month=month, day=min(moment.day, 28))


# --- what is kept per person -----------------------------------------------------------------------


def record_key(registration_id: str) -> str:
    """The key of a person's figure record: a digest, so the record holds no registration id
    and stays, as an anonymous count, when the person is erased."""
    return hashlib.sha256(f"figures:{registration_id}".encode()).hexdigest()


#: What a person's record keeps when they are registered again (updated) without having left, with
#: the value a new wait starts from. The store writes a registration without reading the record
#: (`register_figure_person`: one update that applies `registered_again`).
KEPT_UNTIL_LEFT: dict[str, Any] = {
    "placed_at": None,
    "placed_contact_point_id": None,
    "placed_group_id": None,
    "paused_seconds": 0,
}


def person_record(profile: Doc, contact_point_id: str | None, previous: Doc | None = None) -> Doc:
    """The record of a person as registered (created or updated): a person who comes back after
    leaving starts a new wait, still counted from when they registered."""
    number = profile.get("municipality_number")
    record = {
        "_id": record_key(profile["registration_id"]),
        "county_number": number[:2] if number else None,
        "contact_point_id": contact_point_id,
        "role": profile["role"],
        "themes": list(profile["themes"]),
        "referred": bool(profile.get("referred")),
        "registered_at": _moment(profile["registered_at"]),
        **KEPT_UNTIL_LEFT,
        "left_at": None,
    }
    return registered_again(record, previous)


def registered_again(record: Doc, previous: Doc | None) -> Doc:
    """`record` (a fresh person_record) over `previous`: what KEPT_UNTIL_LEFT names is kept from a
    record whose person has not left (a missing or null value counts as the fresh one)."""
    if previous is None or previous.get("left_at") is not None:
        return record
    kept = {name: fresh if previous.get(name) is None else previous[name] for name, fresh in KEPT_UNTIL_LEFT.items()}
    return {**record, **kept}


def paused_seconds(entry: Doc, now: datetime) -> float:
    """The seconds a waiting person has spent paused (issue 13's breaks), which count toward no
    waiting time: a waiting entry carries the seconds of past pauses (`paused_seconds`) and, while
    paused, since when (`held_since`); without pauses both are absent and this is 0."""
    seconds = float(entry.get("paused_seconds") or 0)
    if entry.get("held") and entry.get("held_since"):
        seconds += max(0.0, (now - entry["held_since"]).total_seconds())
    return seconds


def waited_days(registered_at: datetime, until: datetime, paused: float = 0) -> int:
    """Whole days from registration to `until`, less the time paused."""
    return max(0, int(((until - registered_at).total_seconds() - paused) // 86400))


def _moment(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value.replace("Z", "+00:00"))


# --- who counts where ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Which row each person, placement and group counts in. `areas` are the rows; `total`, if
    any, is the row that sums them (national). A function answering None leaves it out."""

    areas: tuple[str, ...]
    person_area: Callable[[Doc], str | None]
    placement_area: Callable[[Doc], str | None]
    group_area: Callable[[Doc], str | None]
    total: str | None = None


def national_scope(county_numbers: Iterable[str], county_of_contact_point: Mapping[str, str | None]) -> Scope:
    """Rows per county, one for people and groups outside the counties, and the national total.
    The county is the person's for people, the contact point's for groups."""
    counties = tuple(sorted(county_numbers))

    def county(number: str | None) -> str:
        return number if number in counties else OUTSIDE_COUNTIES

    return Scope(
        areas=(*counties, OUTSIDE_COUNTIES),
        person_area=lambda record: county(record.get("county_number")),
        placement_area=lambda record: county(record.get("county_number")),
        group_area=lambda group: county(county_of_contact_point.get(group["contact_point_id"])),
        total=NATIONAL,
    )


def contact_point_scope(contact_point_id: str) -> Scope:
    """One contact point: the people it has, the people placed in its groups, its groups."""

    def only(value: str | None) -> str | None:
        return contact_point_id if value == contact_point_id else None

    return Scope(
        areas=(contact_point_id,),
        person_area=lambda record: only(record.get("contact_point_id")),
        placement_area=lambda record: only(record.get("placed_contact_point_id")),
        group_area=lambda group: only(group["contact_point_id"]),
    )


# --- counting --------------------------------------------------------------------------------------


@dataclass
class Tally:
    """Raw counts by (column, period label, area) and waiting days by (kind, period label, area)."""

    counts: dict[tuple[str, str, str], int]
    days: dict[tuple[str, str, str], list[int]]

    def add(self, column: str, period: Period, area: str | None, by: int = 1) -> None:
        if area is not None:
            key = (column, period.label, area)
            self.counts[key] = self.counts.get(key, 0) + by

    def wait(self, kind: str, period: Period, area: str | None, days: int) -> None:
        if area is not None:
            self.days.setdefault((kind, period.label, area), []).append(days)


def state_at(group: Doc, moment: datetime) -> str | None:
    """The group's state at `moment` from its history; None before it was proposed."""
    state = None
    for step in group.get("history") or []:
        if step["at"] < moment:
            state = step["state"]
    return state


def _first_time(group: Doc, state: str) -> datetime | None:
    return next((step["at"] for step in group.get("history") or [] if step["state"] == state), None)


def milestones(group: Doc, checkins: Sequence[Doc]) -> dict[int, datetime]:
    """When the group was first known to be still meeting 6, 12 and 24 months after it started:
    the first answer `still_meeting` at or after each mark. The check-ins are issue 13's
    (`group_checkin_recorded`): `{"answered_at", "still_meeting"}` each."""
    started = _first_time(group, "started")
    if started is None:
        return {}
    answers = sorted((c["answered_at"], c["still_meeting"]) for c in checkins if c.get("answered_at") is not None)
    found = {}
    for months in MILESTONE_MONTHS:
        mark = add_months(started, months)
        first = next((at for at, still in answers if still and at >= mark), None)
        if first is not None:
            found[months] = first
    return found


def tally(
    records: Iterable[Doc],
    groups: Sequence[Doc],
    checkins: Mapping[str, Sequence[Doc]],
    scope: Scope,
    periods: Sequence[Period],
    now: datetime,
) -> Tally:
    counted = Tally({}, {})
    closed_at = {group["_id"]: _first_time(group, "closed") for group in groups}
    for record in records:
        _count_person(counted, record, closed_at, scope, periods, now)
    for group in groups:
        _count_group(counted, group, checkins.get(group["_id"], ()), scope, periods, now)
    return counted


def _count_person(
    counted: Tally,
    record: Doc,
    closed_at: Mapping[str, datetime | None],
    scope: Scope,
    periods: Sequence[Period],
    now: datetime,
) -> None:
    area, placed_area = scope.person_area(record), scope.placement_area(record)
    registered, placed, left = record["registered_at"], record.get("placed_at"), record.get("left_at")
    for period in periods:
        if period.holds(registered):
            counted.add("registered", period, area)
            counted.add("relatives", period, area, record["role"] == "relative")
            counted.add("referred", period, area, bool(record.get("referred")))
            for theme in record["themes"]:
                counted.add(f"theme_{theme}", period, area)
        if placed is not None and period.holds(placed):
            counted.add("placed", period, placed_area)
            counted.wait(
                "placed", period, placed_area, waited_days(registered, placed, record.get("paused_seconds", 0))
            )
        moment = min(period.end, now)
        if period.start > now or registered >= moment or (left is not None and left < moment):
            continue
        if placed is not None and placed < moment:
            group_closed = closed_at.get(record.get("placed_group_id") or "")
            if group_closed is None or group_closed >= moment:
                counted.add("in_group", period, placed_area)
        else:
            counted.add("waiting", period, area)
            counted.wait("waiting", period, area, waited_days(registered, moment, record.get("paused_seconds", 0)))


def _count_group(
    counted: Tally, group: Doc, checkins: Sequence[Doc], scope: Scope, periods: Sequence[Period], now: datetime
) -> None:
    area = scope.group_area(group)
    confirmed = _first_time(group, "confirmed")
    reached = milestones(group, checkins)
    for period in periods:
        for step, column in (("started", "groups_started"), ("self_run", "groups_self_run")):
            counted.add(column, period, area, period.holds(_first_time(group, step)))
        counted.add("groups_closed", period, area, confirmed is not None and period.holds(_first_time(group, "closed")))
        for months, at in reached.items():
            counted.add(f"groups_meeting_{months}m", period, area, period.holds(at))
        state = state_at(group, min(period.end, now)) if period.start <= now else None
        if state in GROUP_STOCKS:
            counted.add(GROUP_STOCKS[state], period, area)


# --- the tables ------------------------------------------------------------------------------------


def relations(tree: Mapping[Period, Sequence[Period]], scope: Scope, column: str) -> list[small_numbers.Relation]:
    """Everything that adds up in one column: the total of each period and its rows, and, for a
    count of what happened, each period and its sub-periods (in every row)."""
    areas = (*scope.areas, *((scope.total,) if scope.total else ()))
    found = []
    for period, subs in tree.items():
        if scope.total:
            cells = tuple((column, period.label, area) for area in scope.areas)
            found.append(small_numbers.Relation((column, period.label, scope.total), cells))
        if subs and column in ADDITIVE_OVER_TIME:
            for area in areas:
                parts = tuple((column, sub.label, area) for sub in subs)
                found.append(small_numbers.Relation((column, period.label, area), parts))
    return found


def percentile(values: Sequence[int], share: float) -> int:
    """The nearest-rank percentile: the smallest value with at least `share` of them at or below."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


def median(values: Sequence[int]) -> float:
    ordered, middle = sorted(values), len(values) // 2
    return float(ordered[middle]) if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _waiting_figures(days: Mapping[tuple[str, str, str], list[int]], label: str, area: str) -> Doc:
    placed, waiting = days.get(("placed", label, area), []), days.get(("waiting", label, area), [])
    return {
        "median_waiting_days": median(placed) if len(placed) >= FEWEST_FOR_MEDIAN else None,
        "p90_waiting_days": percentile(placed, 0.9) if len(placed) >= FEWEST_FOR_P90 else None,
        "waiting_now_median_days": median(waiting) if len(waiting) >= FEWEST_FOR_MEDIAN else None,
    }


def _share(part: int | None, whole: int | None) -> float | None:
    if part is None or not whole:
        return None
    return round(100.0 * part / whole, 1)


def tables(
    records: Iterable[Doc],
    groups: Sequence[Doc],
    checkins: Mapping[str, Sequence[Doc]],
    scope: Scope,
    tree: Mapping[Period, Sequence[Period]],
    now: datetime,
) -> dict[str, dict[str, Doc]]:
    """`{period label: {area: row}}` for every period of `tree` and every row of `scope`: the
    counts as the small-number rule lets them be shown (None for a blank), the waiting days and
    the shares."""
    periods = list(tree)
    counted = tally(records, groups, checkins, scope, periods, now)
    if scope.total:
        _add_totals(counted, scope, periods)
    areas = (*scope.areas, *((scope.total,) if scope.total else ()))
    shown: dict[tuple[str, str, str], int | None] = {}
    for column in (*COUNTS, *SHARE_COUNTS):
        cells = {
            (column, p.label, area): counted.counts.get((column, p.label, area), 0) for p in periods for area in areas
        }
        shown.update(small_numbers.protect(cells, relations(tree, scope, column)))
    result: dict[str, dict[str, Doc]] = {}
    for period in periods:
        rows = result.setdefault(period.label, {})
        for area in areas:
            row: Doc = {"period": period.label, "area": area}
            row.update({column: shown[(column, period.label, area)] for column in COUNTS})
            row.update(_waiting_figures(counted.days, period.label, area))
            registered = shown[("registered", period.label, area)]
            row.update({name: _share(shown[(c, period.label, area)], registered) for name, c in SHARES.items()})
            rows[area] = row
    return result


def _add_totals(counted: Tally, scope: Scope, periods: Sequence[Period]) -> None:
    assert scope.total is not None
    for (column, label, area), count in list(counted.counts.items()):
        if area in scope.areas:
            key = (column, label, scope.total)
            counted.counts[key] = counted.counts.get(key, 0) + count
    for (kind, label, area), days in list(counted.days.items()):
        if area in scope.areas:
            counted.days.setdefault((kind, label, scope.total), []).extend(days)


def default_period(now: datetime) -> str:
    """The current year in Norway."""
    return str(now.astimezone(OSLO).year)
