"""The figures as tables, CSV and a chart. Pure.

Matching owns every figure it serves and applies the small-number rule itself: a count below 5 is
None and every other count is rounded to 5, with further blanks where totals, years or quarters
would give a blank away. The gateway adds no suppression of its own; it shows None as a blank, adds
the directory's coverage, and formats.

The inputs are the real shapes (docs/rpc.md): `matching.figures(period)` → `{"period", "counties":
{county_number: row}, "outside_counties": row, "national": row}`, `matching.contact_point_figures(
contact_point_id, year, actor)` → `{"contact_point_id", "year", "rows": [row per period]}`, and
`directory.coverage()` → `{"counties": [{"county_number", "name", "municipality_share",
"population_share", …}], "national": {…}}`."""

import csv
import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

from services.common import figure_columns as columns

#: Matching's small-number rule, as the pages and the API tell their readers.
THRESHOLD = columns.SMALLEST_SHOWN
ROUNDED_TO = columns.ROUNDED_TO
#: The columns of the national CSV: those it always had, then the figures per period.
KEPT = ("area", "county_number", *columns.STOCKS, "coverage_percent")
PER_PERIOD = ("period", *columns.PEOPLE_FLOWS, *columns.WAITING_DAYS, *columns.GROUP_FLOWS, *columns.SHARES)
COLUMNS = (*KEPT, *PER_PERIOD, "population_coverage_percent")
#: A contact point's CSV: one row per period of its year, no coverage (that is a county's).
CONTACT_POINT_COLUMNS = ("period", "contact_point_id", *KEPT[2:-1], *PER_PERIOD[1:])
#: The national page shows the columns in three tables, by topic (the CSV has them all in one).
PAGE_TABLES = {
    "people": (
        *columns.STOCKS[:2],
        *columns.PEOPLE_FLOWS,
        *columns.WAITING_DAYS,
        "coverage_percent",
        "population_coverage_percent",
    ),
    "groups": (*columns.STOCKS[2:], *columns.GROUP_FLOWS),
    "shares": columns.SHARES,
}
NATIONAL, OUTSIDE_COUNTIES = "national", "outside_counties"
PERIOD = re.compile(r"^\d{4}(?:-Q[1-4]|-(?:0[1-9]|1[0-2]))?$")
Row = dict[str, Any]


def _percent(share: Any) -> float | None:
    return round(100.0 * share, 1) if isinstance(share, (int, float)) else None


def table(figures: Mapping[str, Any] | None, coverage: Mapping[str, Any] | None) -> list[Row]:
    """Rows per county (every county of the directory's coverage, and any matching counts), the
    people outside the counties (Svalbard, Jan Mayen), then the nationwide row."""
    figures, coverage = figures or {}, coverage or {}
    counted = figures.get("counties") or {}
    covered = {row.get("county_number"): row for row in coverage.get("counties") or []}
    numbers = sorted(set(covered) | set(counted), key=str)
    period = figures.get("period")
    rows = [
        _row(counted.get(n) or {}, covered.get(n) or {}, covered.get(n, {}).get("name") or n, n, period)
        for n in numbers
    ]
    rows.append(_row(figures.get("outside_counties") or {}, {}, OUTSIDE_COUNTIES, None, period))
    rows.append(_row(figures.get("national") or {}, coverage.get("national") or {}, NATIONAL, None, period))
    return rows


def _row(counts: Mapping[str, Any], coverage: Mapping[str, Any], area: str, county: str | None, period: Any) -> Row:
    row: Row = {column: counts.get(column) for column in COLUMNS}
    row.update(area=area, county_number=county, period=period)
    row["coverage_percent"] = _percent(coverage.get("municipality_share"))
    row["population_coverage_percent"] = _percent(coverage.get("population_share"))
    return row


def contact_point_rows(figures: Mapping[str, Any] | None) -> list[Row]:
    figures = figures or {}
    return [
        {**{c: row.get(c) for c in CONTACT_POINT_COLUMNS}, "contact_point_id": figures.get("contact_point_id")}
        for row in figures.get("rows") or []
    ]


def to_csv(
    rows: Sequence[Row],
    columns: Sequence[str] = COLUMNS,
    header_labels: Mapping[str, str] | None = None,
    area_labels: Mapping[str, str] | None = None,
) -> str:
    """The rows as CSV; the nationwide row and Svalbard's are named by `area_labels` when given
    (the page's words, as the page names them), never by their keys."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([(header_labels or {}).get(c, c) for c in columns])
    for row in rows:
        area = row.get("area")
        if area_labels and isinstance(area, str) and area in area_labels:
            row = {**row, "area": area_labels[area]}
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return out.getvalue()


def periods_to_offer(year: int) -> list[str]:
    """The periods a reader can choose: this year and last, each as a year, quarters and months."""
    offered = []
    for y in (year, year - 1):
        offered += [str(y), *(f"{y}-Q{q}" for q in range(1, 5)), *(f"{y}-{m:02d}" for m in range(1, 13))]
    return offered


# --- the chart of waiting time per county ------------------------------------------------------------

CHART_WIDTH, LABEL_WIDTH, BAR_HEIGHT, GAP = 640, 190, 22, 6


def waiting_chart(rows: Sequence[Row]) -> dict[str, Any]:
    """The bars of the chart «median waiting days per county» (the nationwide row last): each
    with its label, value (None where matching shows no median) and geometry, for an SVG drawn
    by the page (no script)."""
    shown = [row for row in rows if row["area"] != OUTSIDE_COUNTIES]
    largest = max((row["median_waiting_days"] or 0 for row in shown), default=0) or 1
    room = CHART_WIDTH - LABEL_WIDTH - 60
    bars = []
    for index, row in enumerate(shown):
        value = row["median_waiting_days"]
        bars.append(
            {
                "area": row["area"],
                "value": value,
                "y": GAP + index * (BAR_HEIGHT + GAP),
                "width": round(room * value / largest, 1) if value is not None else 0,
                "total": row["area"] == NATIONAL,
            }
        )
    return {
        "bars": bars,
        "width": CHART_WIDTH,
        "height": GAP + len(bars) * (BAR_HEIGHT + GAP),
        "label_width": LABEL_WIDTH,
        "bar_height": BAR_HEIGHT,
    }
