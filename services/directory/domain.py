"""Rules of the directory: revisions of a contact point, what its events carry, how it is shown.

Pure: contact points are plain dicts as validated by `schemas.ContactPointInput`, stored with a
`revision`. A revision changes only when the contact point does, so the same payload twice gives
no new revision and no event.
"""

from datetime import datetime
from typing import Any

from services.common.envelope import iso

from .ports import ContactPoint, Reference

ATTRIBUTION = {
    "municipalities": "© Kartverket (CC BY 4.0)",
    "population": "Kilde: Statistisk sentralbyrå (CC BY 4.0)",
    "postal_codes": "Posten (NLOD)",
    "postal_code_coordinates": "Postnummerdata frå Erik Bolstad (CC BY 3.0), http://www.erikbolstad.no/postnummer/",
}
STORED_ONLY = ("revision", "updated_at")


def input_of(doc: ContactPoint) -> dict[str, Any]:
    """The contact point as it was given, without what the directory adds."""
    return {key: value for key, value in doc.items() if key not in STORED_ONLY}


def next_version(
    current: ContactPoint | None, fields: dict[str, Any], now: datetime | None = None
) -> tuple[ContactPoint, bool]:
    """`(doc, changed)`: the contact point to store after an upsert of `fields`, stamped with the
    time of the change (`updated_at`, the «last updated» of the open directory)."""
    if current is not None and input_of(current) == fields:
        return current, False
    return {**fields, "revision": (current or {}).get("revision", 0) + 1, "updated_at": now}, True


def deactivated(current: ContactPoint, now: datetime | None = None) -> tuple[ContactPoint, bool]:
    """`(doc, changed)`: the contact point after deactivation; deactivating twice changes nothing."""
    if not current["active"]:
        return current, False
    return {**current, "active": False, "revision": current["revision"] + 1, "updated_at": now}, True


def with_changes(current: ContactPoint, changes: dict[str, Any]) -> dict[str, Any]:
    """The payload of an update: the stored contact point with `changes` laid over it."""
    return {**input_of(current), **changes}


def keeping_video_links(current: ContactPoint | None, fields: dict[str, Any]) -> dict[str, Any]:
    """A digital meeting place given without its video link keeps the one stored: nobody outside
    the directory ever sees the link, so an edit cannot send it back."""
    stored = {
        place["meeting_place_id"]: place.get("video_url")
        for place in (current or {}).get("meeting_places", [])
        if place.get("kind") == "digital"
    }
    places = [
        {**place, "video_url": stored.get(place["meeting_place_id"])}
        if place.get("kind") == "digital" and place.get("video_url") is None
        else place
        for place in fields.get("meeting_places", [])
    ]
    return {**fields, "meeting_places": places}


def meeting_place(contact_point: ContactPoint, meeting_place_id: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = next(
        (p for p in contact_point["meeting_places"] if p["meeting_place_id"] == meeting_place_id), None
    )
    return found


def video_link(place: dict[str, Any] | None) -> str | None:
    """The place's video link, if it is a digital place that has one."""
    if place is None or place.get("kind") != "digital":
        return None
    link: str | None = place.get("video_url")
    return link


def is_local(contact_point: ContactPoint) -> bool:
    """Serves people where they live (the national office only catches those nobody else can)."""
    return contact_point["kind"] != "national_office"


def upserted_event(doc: ContactPoint, reference: Reference) -> dict[str, Any]:
    """`contact_point_upserted` data: no addresses, phones, e-mail or staff."""
    return {
        "contact_point_id": doc["contact_point_id"],
        "revision": doc["revision"],
        "kind": doc["kind"],
        "name": doc["name"],
        "county_number": reference.municipality(doc["municipality_number"]).county_number,
        "municipalities": doc["municipalities"],
        "digital_groups": doc["digital_groups"],
        "languages": doc["languages"],
        "min_size": doc["min_size"],
        "max_size": doc["max_size"],
        "active": doc["active"],
        "meeting_places": [
            {
                "meeting_place_id": place["meeting_place_id"],
                "kind": place.get("kind", "physical"),
                "capacity": place["capacity"],
                "accessibility": place["accessibility"],
            }
            for place in doc["meeting_places"]
        ],
    }


def deactivated_event(doc: ContactPoint) -> dict[str, Any]:
    return {"contact_point_id": doc["contact_point_id"], "revision": doc["revision"]}


def coordinates_of(
    address: dict[str, Any] | None,
    given: dict[str, float] | None,
    reference: Reference,
    municipality_number: str,
) -> dict[str, float]:
    """The given coordinates, else the postal code's point, else the municipality's centroid."""
    if given:
        return given
    postal = reference.postal_codes.get(address["postal_code"]) if address else None
    if postal is not None and postal.lat is not None and postal.lon is not None:
        return {"lat": postal.lat, "lon": postal.lon}
    municipality = reference.municipality(municipality_number)
    return {"lat": municipality.lat, "lon": municipality.lon}


def address_view(address: dict[str, Any] | None, reference: Reference) -> dict[str, Any] | None:
    """The address with its city from the postal register when none was given."""
    if address is None:
        return None
    postal = reference.postal_codes[address["postal_code"]]
    return {
        "street": address["street"],
        "postal_code": address["postal_code"],
        "city": address.get("city") or postal.place,
    }


#: What anyone may read of a contact point, signed in or not (the open directory): how to reach
#: it and what it offers. Never its staff, the example flag or the group sizes.
OPEN_FIELDS = (
    "contact_point_id",
    "name",
    "kind",
    "address",
    "phone",
    "email",
    "opening_hours",
    "languages",
    "accessibility",
    "digital_groups",
    "free_of_charge",
    "updated_at",
    "meeting_places",
)
OPEN_MEETING_PLACE_FIELDS = ("name", "address", "accessibility")


def open_view(doc: ContactPoint, reference: Reference) -> dict[str, Any]:
    """A contact point as the open directory shows it: the allow-list OPEN_FIELDS, each meeting
    place by OPEN_MEETING_PLACE_FIELDS. Taking part is always free."""
    shown = {
        **doc,
        "address": address_view(doc.get("address"), reference),
        "free_of_charge": True,
        "updated_at": iso(doc["updated_at"]) if doc.get("updated_at") else None,
        "meeting_places": [
            {
                **{key: place[key] for key in OPEN_MEETING_PLACE_FIELDS if key != "address"},
                "address": address_view(place["address"], reference),
            }
            for place in doc.get("meeting_places") or []
        ],
    }
    return {key: shown.get(key) for key in OPEN_FIELDS}


def public_view(doc: ContactPoint, reference: Reference) -> dict[str, Any]:
    """What `get_contact_point` answers to the signed-in and to other services: the stored contact
    point plus county, coordinates and meeting places that name their owner."""
    home = reference.municipality(doc["municipality_number"])
    view = {
        **doc,
        "updated_at": iso(doc["updated_at"]) if doc.get("updated_at") else None,
        "county_number": home.county_number,
        "address": address_view(doc["address"], reference),
        "coordinates": coordinates_of(doc["address"], doc.get("coordinates"), reference, home.number),
    }
    view["meeting_places"] = [public_place(doc, place, reference, home.number) for place in doc["meeting_places"]]
    return view


def public_place(doc: ContactPoint, place: dict[str, Any], reference: Reference, home: str) -> dict[str, Any]:
    """A meeting place as anyone may see it: never its video link (`has_video_url` says whether
    the directory holds one); a digital place has no address and no coordinates."""
    kind = place.get("kind", "physical")
    shown = {key: value for key, value in place.items() if key != "video_url"}
    return {
        **shown,
        "kind": kind,
        "contact_point_id": doc["contact_point_id"],
        "address": address_view(place.get("address"), reference),
        "coordinates": coordinates_of(place["address"], None, reference, home) if kind == "physical" else None,
        "has_video_url": video_link(place) is not None,
    }


def matches(
    contact_point: ContactPoint,
    reference: Reference,
    municipality_number: str | None = None,
    county_number: str | None = None,
    kind: str | None = None,
) -> bool:
    """The filters of list_contact_points. By county: located in it or serving a municipality in it."""
    if kind is not None and contact_point["kind"] != kind:
        return False
    if municipality_number is not None and municipality_number not in contact_point["municipalities"]:
        return False
    if county_number is not None:
        numbers = [contact_point["municipality_number"], *contact_point["municipalities"]]
        if county_number not in {reference.municipality(number).county_number for number in numbers}:
            return False
    return True
