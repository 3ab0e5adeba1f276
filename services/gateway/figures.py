"""The national figures as a table and as CSV. Pure.

Matching owns every figure it serves and applies the small-number rule itself: a count of people it
hides is None. The gateway adds no suppression of its own; it shows None (and a county matching
does not count) as a blank, and formats.

The inputs are the real shapes (docs/rpc.md): `matching.figures()` →
`{"counties": {county_number: {"waiting", "in_group"}}, "national": {"waiting", "in_group",
"unroutable", "groups": {state: count}}}` and `directory.coverage()` → `{"counties": [{"county_number",
"name", "municipalities", "covered_municipalities", "municipality_share", …}], "national": {…}}`."""

import csv
import io
from collections.abc import Mapping
from typing import Any

#: Matching's small-number rule, as the pages and the API tell their readers.
THRESHOLD = 5
PEOPLE = ("waiting", "in_group")
GROUPS = {
    "groups_proposed": ("proposed",),
    "groups_confirmed": ("confirmed",),
    "groups_running": ("started", "self_run"),
}
COLUMNS = ("area", "county_number", *PEOPLE, *GROUPS, "coverage_percent")
#: Columns matching counts nationwide only: empty (not hidden) in a county's row.
NATIONAL_ONLY = tuple(GROUPS)
Row = dict[str, Any]


def _coverage_percent(row: Mapping[str, Any]) -> float | None:
    share = row.get("municipality_share")
    if isinstance(share, (int, float)):
        return round(100.0 * share, 1)
    total, covered = row.get("municipalities"), row.get("covered_municipalities")
    if isinstance(total, int) and total and isinstance(covered, int):
        return round(100.0 * covered / total, 1)
    return None


def table(figures: Mapping[str, Any] | None, coverage: Mapping[str, Any] | None) -> list[Row]:
    """Rows per county (every county of the directory's coverage), then the nationwide row."""
    figures, coverage = figures or {}, coverage or {}
    counted = figures.get("counties") or {}
    covered = {row.get("county_number"): row for row in coverage.get("counties") or []}
    numbers = sorted(set(covered) | set(counted), key=str)
    rows = [_row(counted.get(number) or {}, covered.get(number) or {}, number) for number in numbers]
    national = figures.get("national") or {}
    row = _row(national, coverage.get("national") or {}, None)
    groups = national.get("groups") or {}
    row.update({column: sum(groups.get(state, 0) for state in states) for column, states in GROUPS.items()})
    return rows + [row]


def _row(counts: Mapping[str, Any], coverage: Mapping[str, Any], county_number: str | None) -> Row:
    row: Row = {
        "area": coverage.get("name") or county_number if county_number else "national",
        "county_number": county_number,
    }
    row.update({column: counts.get(column) for column in PEOPLE})
    row.update({column: None for column in GROUPS})
    row["coverage_percent"] = _coverage_percent(coverage)
    return row


def to_csv(rows: list[Row], header_labels: Mapping[str, str] | None = None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([(header_labels or {}).get(c, c) for c in COLUMNS])
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in COLUMNS])
    return out.getvalue()
