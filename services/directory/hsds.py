"""Export of the directory in Open Referral's HSDS 3.0 (Human Services Data Specification).

Pure. The export is HSDS's tabular form: one list of rows per table, linked by ids, as JSON and
as one CSV file per table (named as HSDS names them). Ids are UUIDs derived from the directory's
own ids, so the same directory always exports the same ids.

Each contact point is a *service* of its *organization*, offered at its own *location* and at
each meeting place, and, if it runs digital groups, at a *virtual* location. Taking part is free
(a *cost option* «Gratis», 0 NOK). Schedules say how one attends: «Oppmøte» or «Digitalt (video)».
An organisation whose contact point names a parent (`parent_contact_point_id`) has the parent's
organisation as its `parent_organization_id`. The descriptions are in Norwegian (bokmål).

Staff appear as *contacts* by role and organisational e-mail only, and only in the export for the
signed-in: the open export (`open_only`, what anyone may read) has active contact points and no
contacts at all. No export names a person, a video link, the example flag or the group sizes.
"""

import csv
import io
import uuid

from services.common.envelope import iso

from .domain import ATTRIBUTION, address_view, coordinates_of

NAMESPACE = uuid.UUID("6a0d3c1e-5b8f-4a59-9d8e-2f1c7b4e9a10")
#: table -> (CSV file name, columns in HSDS order)
TABLES = {
    "organization": ("organizations.csv", ("id", "name", "description", "parent_organization_id")),
    "service": (
        "services.csv",
        (
            "id",
            "organization_id",
            "name",
            "alternate_name",
            "description",
            "email",
            "status",
            "minimum_age",
            "last_modified",
        ),
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
    "schedule": (
        "schedules.csv",
        (
            "id",
            "service_id",
            "location_id",
            "freq",
            "wkst",
            "byday",
            "opens_at",
            "closes_at",
            "description",
            "attending_type",
            "notes",
        ),
    ),
    "language": ("languages.csv", ("id", "service_id", "name", "code")),
    "accessibility": ("accessibility.csv", ("id", "location_id", "description", "details")),
    "cost_option": ("cost_options.csv", ("id", "service_id", "option", "amount", "currency", "amount_description")),
}
IN_PERSON, DIGITAL = "Oppmøte", "Digitalt (video)"
BYDAY = {"mon": "MO", "tue": "TU", "wed": "WE", "thu": "TH", "fri": "FR", "sat": "SA", "sun": "SU"}
LANGUAGE_NAMES = {
    "nb": "Norsk bokmål",
    "nn": "Norsk nynorsk",
    "no": "Norsk",
    "en": "Engelsk",
    "se": "Nordsamisk",
    "sv": "Svensk",
    "da": "Dansk",
    "de": "Tysk",
    "pl": "Polsk",
    "ar": "Arabisk",
    "so": "Somali",
    "uk": "Ukrainsk",
    "ru": "Russisk",
    "ur": "Urdu",
}
ACCESSIBILITY_LABELS = {
    "step_free": "Trinnfri adkomst",
    "hearing_loop": "Teleslynge",
    "quiet_room": "Stille rom",
}
STAFF_TITLES = {
    "starter": "Igangsetter",
    "coordinator": "Koordinator",
    "contact_person": "Kontaktperson",
    "manager": "Leder",
}


def hsds_id(table, key):
    return str(uuid.uuid5(NAMESPACE, f"{table}:{key}"))


def tables(reference, contact_points, open_only=False):
    """`{table: [rows]}` for the given contact points (each as stored); `open_only`: the open
    export, of active contact points and without contacts."""
    shown = [cp for cp in contact_points if cp["active"] or not open_only]
    by_id = {cp["contact_point_id"]: cp for cp in contact_points}
    out = {name: [] for name in TABLES}
    out["organization"] = _organizations(shown, by_id)
    for cp in sorted(shown, key=lambda cp: cp["contact_point_id"]):
        _add_contact_point(out, reference, cp, open_only)
    return out


def _organizations(contact_points, by_id):
    """One per organisation; its parent is the organisation of a parent its contact points name."""
    parents = {}
    for cp in sorted(contact_points, key=lambda cp: cp["contact_point_id"]):
        parent = by_id.get(cp.get("parent_contact_point_id") or "")
        if parent is not None and parent["organisation"] != cp["organisation"]:
            parents.setdefault(cp["organisation"], parent["organisation"])
    return [
        {
            "id": hsds_id("organization", name),
            "name": name,
            "description": f"{name} starter selvorganiserte selvhjelpsgrupper.",
            **({"parent_organization_id": hsds_id("organization", parents[name])} if name in parents else {}),
        }
        for name in sorted({cp["organisation"] for cp in contact_points})
    ]


def _service_description(cp):
    digital = " Kontaktpunktet har også digitale grupper over video." if cp["digital_groups"] else ""
    return (
        f"Selvorganiserte selvhjelpsgrupper for voksne som vil møte andre i samme situasjon, "
        f"startet av {cp['name']}. Det er gratis å delta.{digital}"
    )


def _add_contact_point(out, reference, cp, open_only):
    cp_id = cp["contact_point_id"]
    organization_id = hsds_id("organization", cp["organisation"])
    service_id = hsds_id("service", cp_id)
    out["service"].append(
        {
            "id": service_id,
            "organization_id": organization_id,
            "name": f"Selvhjelpsgrupper: {cp['name']}",
            "alternate_name": cp["name"],
            **({"email": cp["email"]} if cp.get("email") else {}),
            "description": _service_description(cp),
            "status": "active" if cp["active"] else "inactive",
            "minimum_age": 18,
            **({"last_modified": iso(cp["updated_at"])} if cp.get("updated_at") else {}),
        }
    )
    out["cost_option"].append(
        {
            "id": hsds_id("cost_option", cp_id),
            "service_id": service_id,
            "option": "Gratis",
            "amount": 0,
            "currency": "NOK",
            "amount_description": "Det er gratis å delta i en selvhjelpsgruppe.",
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
            "description": f"Kommunenummer {number}",
            "extent": number,
            "extent_type": "text",
        }
        for number in cp["municipalities"]
    ]
    if not open_only:
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
        "description": f"Lokalene til {cp['name']}.",
    }
    places = [own_place] + [
        {
            "key": f"{cp_id}:{place['meeting_place_id']}",
            "name": place["name"],
            "address": place["address"],
            "coordinates": None,
            "accessibility": place["accessibility"],
            "opening_hours": place["opening_hours"],
            "description": f"Møtested for grupper fra {cp['name']}.",
        }
        for place in cp["meeting_places"]
    ]
    for place in places:
        if place["address"] is None:  # a contact point with no premises given has no location
            continue
        _add_location(out, reference, cp, organization_id, service_id, place)
    if cp["digital_groups"]:
        _add_virtual_location(out, cp, organization_id, service_id)


def _add_virtual_location(out, cp, organization_id, service_id):
    """Digital groups meet over video: a virtual location, with no link (a group gets its own)."""
    key = f"{cp['contact_point_id']}:digital"
    location_id = hsds_id("location", key)
    description = f"Digitale selvhjelpsgrupper over video fra {cp['name']}."
    out["location"].append(
        {
            "id": location_id,
            "location_type": "virtual",
            "organization_id": organization_id,
            "name": f"{cp['name']}: digitale grupper",
            "description": description,
        }
    )
    out["service_at_location"].append(
        {
            "id": hsds_id("service_at_location", key),
            "service_id": service_id,
            "location_id": location_id,
            "description": description,
        }
    )
    out["schedule"].append(
        {
            "id": hsds_id("schedule", key),
            "service_id": service_id,
            "location_id": location_id,
            "description": "Gruppen avtaler selv når den møtes.",
            "attending_type": DIGITAL,
            "notes": "Lenken til møtet får bare gruppens deltakere.",
        }
    )


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
            "description": "Åpningstid",
            "attending_type": IN_PERSON,
            "notes": "Norsk tid (Europe/Oslo).",
        }
        for i, hours in enumerate(place["opening_hours"])
    ]


def _county_of(reference, postal_code, fallback_municipality):
    number = reference.postal_codes[postal_code].municipality_number
    municipality = reference.municipalities.get(number) or reference.municipality(fallback_municipality)
    return municipality.county_name


def export(reference, contact_points, open_only=False):
    """The JSON export: HSDS version, attribution and the tables (`open_only`: see `tables`)."""
    return {
        "hsds_version": "3.0",
        "profile": "tabular",
        "attribution": {
            "format": "Human Services Data Specification: an Open Referral resource (https://openreferral.org/)",
            **ATTRIBUTION,
        },
        "tables": tables(reference, contact_points, open_only),
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
