"""The figures for the Directorate of Health (per county and nationwide, per period) and for each
contact point (its year), with the small-number rule applied here (figures.py); and what matching
notes for them, in the same transaction, as people are registered, routed, placed and leave."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from services.common.access import require_contact_point, require_role
from services.common.envelope import iso
from services.common.errors import InvalidInput

from .. import figures
from ..ports import Doc, Ports, UnitOfWork

# --- what is noted per person ----------------------------------------------------------------------


def note_registered(ports: Ports, uow: UnitOfWork, profile: Doc, contact_point_id: str | None) -> bool:
    """A registration created or updated, waiting at `contact_point_id` (None: the national office).
    Returns whether matching had seen the person arrive before (every arrival writes a figure
    record, whatever became of it, and it outlives withdrawal and erasure). One write, no read."""
    return ports.store.register_figure_person(uow, figures.person_record(profile, contact_point_id))


def _change(ports: Ports, uow: UnitOfWork, registration_id: str, **changes: Any) -> None:
    record = ports.store.figure_person(figures.record_key(registration_id), uow)
    if record is not None:
        ports.store.put_figure_person(uow, {**record, **changes})


def note_routed(ports: Ports, uow: UnitOfWork, registration_id: str, contact_point_id: str | None) -> None:
    _change(ports, uow, registration_id, contact_point_id=contact_point_id)


def note_paused(ports: Ports, uow: UnitOfWork, registration_id: str, paused_seconds: float) -> None:
    """A pause ended: the seconds paused so far count toward no waiting time (`waiting_now`)."""
    _change(ports, uow, registration_id, paused_seconds=paused_seconds)


def note_placed(ports: Ports, uow: UnitOfWork, entries: Iterable[Doc], group: Doc, now: datetime) -> None:
    """The people of a confirmed group (or added to one) are placed now; their wait ends here."""
    for entry in entries:
        record = ports.store.figure_person(figures.record_key(entry["_id"]), uow)
        if record is not None and record.get("placed_at") is None:
            placed = {
                "placed_at": now,
                "placed_contact_point_id": group["contact_point_id"],
                "placed_group_id": group["_id"],
                "paused_seconds": figures.paused_seconds(entry, now),
            }
            ports.store.put_figure_person(uow, {**record, **placed})


def note_left(ports: Ports, uow: UnitOfWork, registration_id: str, now: datetime) -> None:
    """Withdrawn, erased or out of their group: neither waiting nor in a group from now on. An
    erased person's record stays: it holds no id, only what the counts need."""
    record = ports.store.figure_person(figures.record_key(registration_id), uow)
    if record is not None and record.get("left_at") is None:
        ports.store.put_figure_person(uow, {**record, "left_at": now})


# --- the tables ------------------------------------------------------------------------------------


def _period(text: Any, now: datetime, field: str = "period") -> figures.Period:
    """The period asked for (the current year by default), or InvalidInput on `field`."""
    try:
        return figures.parse_period(figures.default_period(now) if text in (None, "") else str(text))
    except ValueError as refused:
        raise InvalidInput({field: [str(refused)]}) from None


def _inputs(ports: Ports) -> tuple[list[Doc], list[Doc], dict[str, list[Doc]]]:
    return list(ports.store.figure_people()), ports.store.group_histories(), ports.store.checkin_answers()


def national_figures(ports: Ports, period: Any = None) -> Doc:
    """The figures per county and nationwide for one month, quarter or year (the current year by
    default). They are counted and protected with every other period of that year, so that no
    year less its quarters, or quarter less its months, gives a blank away."""
    now = ports.clock.now()
    wanted = _period(period, now)
    records, groups, checkins = _inputs(ports)
    counties_of = ports.store.contact_point_counties()
    counties = {r["county_number"] for r in records if r.get("county_number")} | {c for c in counties_of.values() if c}
    scope = figures.national_scope(counties, counties_of)
    rows = figures.tables(records, groups, checkins, scope, figures.lattice(figures.year_of(wanted)), now)
    shown = rows[wanted.label]
    return {
        "period": wanted.label,
        "start": iso(wanted.start),
        "end": iso(wanted.end),
        "counties": {county: shown[county] for county in sorted(counties)},
        "outside_counties": shown[figures.OUTSIDE_COUNTIES],
        "national": shown[figures.NATIONAL],
        **RULES,
    }


def contact_point_figures(ports: Ports, contact_point_id: str, year: Any, actor: Any) -> Doc:
    """The same figures for one contact point and a year, with its quarters: for its own staff.
    The national office sees counties, never contact points, so that no caller can subtract a
    county's contact points from the county."""
    require_role(actor, "contact_point_staff")
    require_contact_point(actor, contact_point_id)
    now = ports.clock.now()
    wanted = _period(year, now, "year")
    if len(wanted.label) != 4:
        raise InvalidInput({"year": ["invalid_year"]})
    records, groups, checkins = _inputs(ports)
    tree = figures.lattice(figures.year_of(wanted), with_months=False)
    rows = figures.tables(records, groups, checkins, figures.contact_point_scope(contact_point_id), tree, now)
    return {
        "contact_point_id": contact_point_id,
        "year": wanted.label,
        "rows": [rows[period.label][contact_point_id] for period in tree],
        **RULES,
    }


#: The small-number rule, as the readers of the tables are told it.
RULES = {
    "smallest_shown": figures.small_numbers.SMALLEST_SHOWN,
    "rounded_to": figures.small_numbers.ROUND_TO,
    "fewest_for_median": figures.FEWEST_FOR_MEDIAN,
    "fewest_for_p90": figures.FEWEST_FOR_P90,
}
