"""Routing a person to contact points (docs/design.md §4.1). Pure: contact points come in as dicts.

Order: the contact points serving the person's municipality (unless they asked not to be placed
there); the nearest in the same county by centroid distance; contact points running digital groups
(if the person accepts digital); the national office, always last.
"""

NATIONAL_OFFICE_ID = "national-office"


def _candidate(kind, contact_point_id, municipality_number, distance_km, reason):
    return {
        "kind": kind,
        "contact_point_id": contact_point_id,
        "municipality_number": municipality_number,
        "distance_km": None if distance_km is None else round(distance_km, 1),
        "reason": reason,
    }


def route(reference, contact_points, municipality_number, *, not_in_own_municipality=False, digital_ok=False):
    active = [cp for cp in contact_points if cp.get("active", True)]
    local = [cp for cp in active if cp["kind"] != "national_office"]
    national = next((cp for cp in active if cp["kind"] == "national_office"), None)
    candidates, seen = [], set()

    def add(candidate):
        if candidate["contact_point_id"] not in seen:
            seen.add(candidate["contact_point_id"])
            candidates.append(candidate)

    def add_each(kind, cps, order, reason):
        for cp in sorted(cps, key=order):
            add(_candidate(kind, cp["contact_point_id"], cp["municipality_number"], distance_to(cp), reason))

    def distance_to(cp):
        if municipality_number is None:
            return None
        return reference.distance_km(municipality_number, cp["municipality_number"])

    def nearest_first(cp):
        return (distance_to(cp), cp["contact_point_id"])

    if municipality_number is not None:
        home = reference.municipality(municipality_number)
        serving_home = [cp for cp in local if municipality_number in cp["municipalities"]]
        if not not_in_own_municipality:
            add_each("contact_point", serving_home, nearest_first, f"serves {home.name}")
        excluded = {cp["contact_point_id"] for cp in serving_home} if not_in_own_municipality else set()
        in_county = [
            cp
            for cp in local
            if cp["municipality_number"][:2] == home.county_number and cp["contact_point_id"] not in excluded
        ]
        why = (
            "asked not to be placed in own municipality"
            if not_in_own_municipality
            else f"no contact point in {home.name}"
        )
        add_each("contact_point", in_county, nearest_first, f"nearest in {home.county_name}: {why}")
    if digital_ok:
        digital = [
            cp
            for cp in local
            if cp.get("digital_groups")
            and not (not_in_own_municipality and municipality_number in cp["municipalities"])
        ]
        order = nearest_first if municipality_number else (lambda cp: cp["contact_point_id"])
        add_each("digital", digital, order, "runs digital groups, which the person accepts")
    add(
        _candidate(
            "national_office",
            national["contact_point_id"] if national else NATIONAL_OFFICE_ID,
            national["municipality_number"] if national else None,
            None,
            "no local or digital contact point can take the person",
        )
    )
    return candidates
