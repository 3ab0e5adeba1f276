"""Places: what a postal code or municipality number is, and the contact points that serve it."""

from typing import Any

from .. import routing
from ..ports import Ports
from ..schemas import RoutePreferences
from .payloads import load


def municipality_for_postal_code(ports: Ports, postal_code: str) -> dict[str, Any]:
    return ports.reference.place_for_postal_code(postal_code)


def municipality(ports: Ports, municipality_number: str) -> dict[str, str]:
    m = ports.reference.municipality(municipality_number)
    return {"municipality_number": m.number, "name": m.name, "county_number": m.county_number}


def route(ports: Ports, municipality_number: str | None, preferences: object = None) -> list[dict[str, Any]]:
    """The candidate contact points for a person in `municipality_number` (None: Svalbard, Jan
    Mayen), best first (routing.py)."""
    chosen = load(RoutePreferences(), preferences or {})
    if municipality_number is not None:
        ports.reference.municipality(municipality_number)  # UnknownMunicipality for a wrong number
    return routing.route(ports.reference, ports.store.contact_points(), municipality_number, **chosen)
