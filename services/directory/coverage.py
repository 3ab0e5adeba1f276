"""Coverage: which municipalities have an active local contact point, per county and nationwide.

Pure. A municipality is covered when an active contact point other than the national office lists
it among the municipalities it serves. Population is SSB's for 2024-01-01.
"""

from .domain import ATTRIBUTION, is_local


def _share(part, whole):
    return round(part / whole, 4) if whole else 0.0


def _totals(rows):
    municipalities = len(rows)
    covered = [row for row in rows if row["covered"]]
    population = sum(row["population"] for row in rows)
    covered_population = sum(row["population"] for row in covered)
    return {
        "municipalities": municipalities,
        "covered_municipalities": len(covered),
        "municipality_share": _share(len(covered), municipalities),
        "population": population,
        "covered_population": covered_population,
        "population_share": _share(covered_population, population),
    }


def serving(contact_points):
    """municipality number -> ids of the active local contact points serving it."""
    by_municipality = {}
    for contact_point in sorted(contact_points, key=lambda cp: cp["contact_point_id"]):
        if contact_point["active"] and is_local(contact_point):
            for number in contact_point["municipalities"]:
                by_municipality.setdefault(number, []).append(contact_point["contact_point_id"])
    return by_municipality


def coverage(reference, contact_points):
    """`{"municipalities": [...], "counties": [...], "national": {...}, "attribution": {...}}`."""
    by_municipality = serving(contact_points)
    rows = [
        {
            "municipality_number": m.number,
            "name": m.name,
            "county_number": m.county_number,
            "population": m.population,
            "covered": m.number in by_municipality,
            "contact_point_ids": by_municipality.get(m.number, []),
        }
        for m in sorted(reference.municipalities.values(), key=lambda m: m.number)
    ]
    counties = [
        {"county_number": number, "name": name, **_totals([row for row in rows if row["county_number"] == number])}
        for number, name in sorted(reference.counties.items())
    ]
    return {
        "municipalities": rows,
        "counties": counties,
        "national": _totals(rows),
        "attribution": {key: ATTRIBUTION[key] for key in ("municipalities", "population")},
    }
