"""Use cases of the directory: plain functions, `ports` first (docs/architecture.md), one module
per topic. service.py calls one of them per entrypoint."""

from .contact_points import (
    create_contact_point,
    deactivate_contact_point,
    get_contact_point,
    list_contact_points,
    open_contact_point,
    open_contact_points,
    update_contact_point,
    upsert_contact_point,
)
from .meeting_links import meeting_link
from .places import municipality, municipality_for_postal_code, route
from .reports import coverage, coverage_map_svg, hsds_export, hsds_export_csv

__all__ = [
    "coverage",
    "coverage_map_svg",
    "create_contact_point",
    "deactivate_contact_point",
    "get_contact_point",
    "hsds_export",
    "hsds_export_csv",
    "list_contact_points",
    "meeting_link",
    "municipality",
    "municipality_for_postal_code",
    "open_contact_point",
    "open_contact_points",
    "route",
    "update_contact_point",
    "upsert_contact_point",
]
