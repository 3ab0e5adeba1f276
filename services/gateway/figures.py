"""National figures without singling anyone out: no number of people (and no waiting time derived
from them) is shown for fewer than 5 people, and when only one county in a column is hidden, the
next smallest is hidden too, so the nationwide total cannot give it away. Pure."""
import csv
import io

THRESHOLD = 5
PEOPLE = ("waiting",)
DERIVED = {"waiting": ("median_wait_days", "p90_wait_days")}
GROUPS = ("groups_proposed", "groups_confirmed", "groups_running")
COLUMNS = ("area", "county_number", "waiting", "median_wait_days", "p90_wait_days", *GROUPS, "coverage_percent")


def _coverage_percent(row):
    if row.get("coverage_percent") is not None:
        return row["coverage_percent"]
    total, covered = row.get("municipalities"), row.get("covered")
    if isinstance(total, (int, float)) and total and isinstance(covered, (int, float)):
        return round(100.0 * covered / total, 1)
    return None


def _people(value):
    return value if isinstance(value, (int, float)) and value >= THRESHOLD else None


def table(figures, coverage):
    """Rows per county, then "Norge"/nationwide, from matching.figures() and directory.coverage()."""
    figures, coverage = figures or {}, coverage or {}
    covered = {row.get("county_number"): row for row in coverage.get("counties") or []}
    rows = []
    for source in sorted(figures.get("counties") or [], key=lambda r: str(r.get("county_number"))):
        number = source.get("county_number")
        cov = covered.get(number, {})
        rows.append(_row(source, cov, source.get("name") or cov.get("name") or number, number))
    rows = _hide_complements(rows, figures.get("national") or {})
    rows.append(_row(figures.get("national") or {}, coverage.get("national") or {}, "national", None))
    return rows


def _row(source, coverage, area, county_number):
    row = {"area": area, "county_number": county_number}
    for column in PEOPLE:
        shown = _people(source.get(column))
        row[column] = shown
        for derived in DERIVED[column]:
            row[derived] = source.get(derived) if shown is not None else None
    for column in GROUPS:
        value = source.get(column)
        row[column] = value if isinstance(value, int) else None
    row["coverage_percent"] = _coverage_percent(coverage)
    return row


def _hide_complements(rows, national):
    for column in PEOPLE:
        if _people(national.get(column)) is None:
            continue
        hidden = [r for r in rows if r[column] is None]
        shown = sorted((r for r in rows if r[column] is not None), key=lambda r: r[column])
        if len(hidden) == 1 and shown:
            shown[0][column] = None
            for derived in DERIVED[column]:
                shown[0][derived] = None
    return rows


def to_csv(rows, header_labels=None):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([(header_labels or {}).get(c, c) for c in COLUMNS])
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in COLUMNS])
    return out.getvalue()
