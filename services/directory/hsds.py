"""Export of the directory in Open Referral's HSDS 3.0 (Human Services Data Specification).

Pure. The export is HSDS's tabular form: one list of rows per table, linked by ids, as JSON and
as one CSV file per table (named as HSDS names them). Ids are UUIDs derived from the directory's
own ids, so the same directory always exports the same ids.

Each contact point is a *service* of its *organization*, offered at its own *location* and at
each meeting place. Staff appear as *contacts* by role and organisational e-mail only: the open
export carries no personal names.
"""

import csv
import io
import uuid

from .domain import ATTRIBUTION, address_view, coordinates_of

NAMESPACE = uuid.UUID("6a0d3c1e-5b8f-4a59-9d8e-2f1c7b4e9a10")
#: table -> (CSV file name, columns in HSDS order)
TABLES = {
    "organization": ("organizations.csv", ("id", "name", "description")),
    "service": (
        "services.csv",
        ("id", "organization_id", "name", "alternate_name", "description", "email", "status", "minimum_age"),
    ),
    "location": (
        "locations.csv",
        ("id", "location_type", "organization_id", "name", "description", "latitude", "longitude"),
    ),
    "address": (
        "addresses.csv",
        ("id", "location_id", "address_1", "city", "state_province", "postal_code", "country", "address_type"),
    ),
    "service_at_location": ("service_at_location.csv", ("id", "service_id", "location_id", "description")),
    "service_area": ("service_areas.csv", ("id", "service_id", "name", "description", "extent", "extent_type")),
    "contact": ("contacts.csv", ("id", "organization_id", "service_id", "title", "email")),
    "phone": ("phones.csv", ("id", "service_id", "number", "type")),
    "schedule": ("schedules.csv", ("id", "location_id", "freq", "wkst", "byday", "opens_at", "closes_at", "notes")),
    "language": ("languages.csv", ("id", "service_id", "name", "code")),
    "accessibility": ("accessibility.csv", ("id", "location_id", "description", "details")),
}
BYDAY = {"mon": "MO", "tue": "TU", "wed": "WE", "thu": "TH", "fri": "FR", "sat": "SA", "sun": "SU"}
LANGUAGE_NAMES = {
    "nb": "Norwegian Bokmål",
    "nn": "Norwegian Nynorsk",
    "no": "Norwegian",
    "en": "English",
    "se": "Northern Sami",
    "sv": "Swedish",
    "da": "Danish",
    "de": "German",
    "pl": "Polish",
    "ar": "Arabic",
    "so": "Somali",
    "uk": "Ukrainian",
    "ru": "Russian",
    "ur": "Urdu",
}
ACCESSIBILITY_LABELS = {
    "step_free": "Step-free access",
    "hearing_loop": "Hearing loop",
    "quiet_room": "Quiet room available",
}
STAFF_TITLES = {
    "starter": "Group starter",
    "coordinator": "Coordinator",
    "contact_person": "Contact person",
    "manager": "Manager",
}


def hsds_id(table, key):
    return str(uuid.uuid5(NAMESPACE, f"{table}:{key}"))


def tables(reference, contact_points):
    """`{table: [rows]}` for the given contact points (each as stored)."""
    out = {name: [] for name in TABLES}
    organisations = sorted({cp["organisation"] for cp in contact_points})
    out["organization"] = [
        {
            "id": hsds_id("organization", name),
            "name": name,
            "description": f"{name}: starts self-organised self-help groups.",
        }
        for name in organisations
    ]
    for cp in sorted(contact_points, key=lambda cp: cp["contact_point_id"]):
        _add_contact_point(out, reference, cp)
    return out


def _add_contact_point(out, reference, cp):
    cp_id = cp["contact_point_id"]
    organization_id = hsds_id("organization", cp["organisation"])
    service_id = hsds_id("service", cp_id)
    digital = " Also runs digital groups." if cp["digital_groups"] else ""
    out["service"].append(
        {
            "id": service_id,
            "organization_id": organization_id,
            "name": f"Self-help groups: {cp['name']}",
            "alternate_name": cp["name"],
            **({"email": cp["email"]} if cp.get("email") else {}),
            "description": (
                f"Self-organised self-help groups of {cp['min_size']}-{cp['max_size']} adults, "
                f"started by {cp['name']}.{digital}"
            ),
            "status": "active" if cp["active"] else "inactive",
            "minimum_age": 18,
        }
    )
    if cp.get("phone"):
        out["phone"].append(
            {"id": hsds_id("phone", cp_id), "service_id": service_id, "number": cp["phone"], "type": "voice"}
        )
    out["language"] += [
        {
            "id": hsds_id("language", f"{cp_id}:{code}"),
            "service_id": service_id,
            "name": LANGUAGE_NAMES.get(code, code),
            "code": code,
        }
        for code in cp["languages"]
    ]
    out["service_area"] += [
        {
            "id": hsds_id("service_area", f"{cp_id}:{number}"),
            "service_id": service_id,
            "name": reference.municipality(number).name,
            "description": f"Municipality {number}",
            "extent": number,
            "extent_type": "text",
        }
        for number in cp["municipalities"]
    ]
    out["contact"] += [
        {
            "id": hsds_id("contact", f"{cp_id}:{staff['staff_id']}"),
            "organization_id": organization_id,
            "service_id": service_id,
            "title": STAFF_TITLES[staff["role"]],
            "email": staff["email"],
        }
        for staff in cp["staff"]
    ]
    own_place = {
        "key": cp_id,
        "name": cp["name"],
        "address": cp["address"],
        "coordinates": cp.get("coordinates"),
        "accessibility": cp["accessibility"],
        "opening_hours": cp["opening_hours"],
        "description": f"The premises of {cp['name']}.",
    }
    places = [own_place] + [
        {
            "key": f"{cp_id}:{place['meeting_place_id']}",
            "name": place["name"],
            "address": place["address"],
            "coordinates": None,
            "accessibility": place["accessibility"],
            "opening_hours": place["opening_hours"],
            "description": f"Meeting place of {cp['name']}, room for {place['capacity']}.",
        }
        for place in cp["meeting_places"]
    ]
    for place in places:
        if place["address"] is None:  # a contact point with no premises given has no location
            continue
        _add_location(out, reference, cp, organization_id, service_id, place)


def _add_location(out, reference, cp, organization_id, service_id, place):
    location_id = hsds_id("location", place["key"])
    point = coordinates_of(place["address"], place["coordinates"], reference, cp["municipality_number"])
    address = address_view(place["address"], reference)
    county = _county_of(reference, place["address"]["postal_code"], cp["municipality_number"])
    out["location"].append(
        {
            "id": location_id,
            "location_type": "physical",
            "organization_id": organization_id,
            "name": place["name"],
            "description": place["description"],
            "latitude": point["lat"],
            "longitude": point["lon"],
        }
    )
    out["address"].append(
        {
            "id": hsds_id("address", place["key"]),
            "location_id": location_id,
            "address_1": address["street"],
            "city": address["city"],
            "state_province": county,
            "postal_code": address["postal_code"],
            "country": "NO",
            "address_type": "physical",
        }
    )
    out["service_at_location"].append(
        {
            "id": hsds_id("service_at_location", place["key"]),
            "service_id": service_id,
            "location_id": location_id,
            "description": place["description"],
        }
    )
    out["accessibility"] += [
        {
            "id": hsds_id("accessibility", f"{place['key']}:{key}"),
            "location_id": location_id,
            "description": ACCESSIBILITY_LABELS[key],
            "details": key,
        }
        for key in place["accessibility"]
    ]
    out["schedule"] += [
        {
            "id": hsds_id("schedule", f"{place['key']}:{i}"),
            "location_id": location_id,
            "freq": "WEEKLY",
            "wkst": "MO",
            "byday": BYDAY[hours["weekday"]],
            "opens_at": hours["opens"],
            "closes_at": hours["closes"],
            "notes": "Local time in Norway (Europe/Oslo).",
        }
        for i, hours in enumerate(place["opening_hours"])
    ]


def _county_of(reference, postal_code, fallback_municipality):
    number = reference.postal_codes[postal_code].municipality_number
    municipality = reference.municipalities.get(number) or reference.municipality(fallback_municipality)
    return municipality.county_name


def export(reference, contact_points):
    """The JSON export: HSDS version, attribution and the tables."""
    return {
        "hsds_version": "3.0",
        "profile": "tabular",
        "attribution": {
            "format": "Human Services Data Specification: an Open Referral resource (https://openreferral.org/)",
            **ATTRIBUTION,
        },
        "tables": tables(reference, contact_points),
    }


def to_csv(table_rows):
    """`{file name: CSV text}`, one file per HSDS table, columns in HSDS order."""
    files = {}
    for name, (file_name, columns) in TABLES.items():
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(table_rows[name])
        files[file_name] = buffer.getvalue()
    return files
