"""The JSON API of the directory: find a contact point by postal code, read and change contact
points, coverage and its map, and the HSDS export. Anyone may read the directory: a caller who is
not signed in gets the open directory (the directory's allow-list, and HSDS without staff); the
signed-in get what they always got."""

from werkzeug.wrappers import Response

from services.common.contact_point_input import ContactPointInput
from services.common.errors import InvalidInput, NotFound

from .. import domain
from ..context import Context
from ..i18n import translator
from ..ports import Ports
from ..responses import json_response
from ..routes import ADMIN, EVERYONE, STAFF, route
from ..schemas import ContactPointQuery, MapQuery

CP = {"contact_point_id": "link-bergen"}


@route(
    "GET",
    "/api/postal-codes/<postal_code>/contact-points",
    roles=EVERYONE,
    rate_limited=True,
    tag="directory",
    path_example={"postal_code": "5003"},
    summary="Find your contact point by postal code.",
)
def find_contact_point(ports: Ports, ctx: Context, postal_code: str) -> Response:
    if not domain.is_postal_code(postal_code):
        raise InvalidInput({"postal_code": ["Must be a 4-digit postal code."]})
    place = ports.directory.municipality_for_postal_code(postal_code)
    candidates = ports.directory.route(place.get("municipality_number"), {})
    return json_response({"place": place, "candidates": candidates})


def is_open(ctx: Context) -> bool:
    """Nobody signed in: the open directory."""
    return ctx.account is None


@route(
    "GET",
    "/api/contact-points",
    roles=EVERYONE,
    query=ContactPointQuery,
    tag="directory",
    summary="The directory's contact points, optionally by municipality, county or kind "
    "(without signing in: the active ones, each as the open directory shows it).",
)
def list_contact_points(ports: Ports, ctx: Context) -> Response:
    q = ctx.query
    listing = ports.directory.open_contact_points if is_open(ctx) else ports.directory.list_contact_points
    return json_response(listing(q.get("municipality_number"), q.get("county_number"), q.get("kind")))


@route(
    "GET",
    "/api/contact-points/<contact_point_id>",
    roles=EVERYONE,
    tag="directory",
    path_example=CP,
    summary="One contact point (without signing in: how to reach it and what it offers, nothing more).",
)
def get_contact_point(ports: Ports, ctx: Context, contact_point_id: str) -> Response:
    read = ports.directory.open_contact_point if is_open(ctx) else ports.directory.get_contact_point
    return json_response(read(contact_point_id))


@route(
    "PUT",
    "/api/contact-points/<contact_point_id>",
    roles=STAFF,
    scope="contact_point",
    audit="contact_point",
    body=ContactPointInput,
    tag="directory",
    path_example=CP,
    example={
        "contact_point_id": "link-bergen",
        "kind": "link_centre",
        "name": "LINK Bergen og omegn",
        "municipality_number": "4601",
        "municipalities": ["4601"],
    },
    summary="Create or change a contact point (staff: their own only).",
)
def upsert_contact_point(ports: Ports, ctx: Context, contact_point_id: str) -> Response:
    if ctx.body["contact_point_id"] != contact_point_id:
        raise InvalidInput({"contact_point_id": ["Must be the contact point of the path."]})
    return json_response(ports.directory.upsert_contact_point(ctx.raw_body, ctx.actor))


@route(
    "DELETE",
    "/api/contact-points/<contact_point_id>",
    roles=ADMIN,
    audit="contact_point",
    tag="directory",
    path_example=CP,
    summary="Deactivate a contact point.",
)
def deactivate_contact_point(ports: Ports, ctx: Context, contact_point_id: str) -> Response:
    return json_response(ports.directory.deactivate_contact_point(contact_point_id, ctx.actor))


@route("GET", "/api/coverage", roles=EVERYONE, tag="directory", summary="Which municipalities have a contact point.")
def coverage(ports: Ports, ctx: Context) -> Response:
    return json_response(ports.directory.coverage())


#: The coverage map's own words, by the keys the directory draws them under.
MAP_TEXTS = ("title", "heading", "headline", "covered", "uncovered", "nobody", "sources")


@route(
    "GET",
    "/api/coverage/map.svg",
    roles=EVERYONE,
    query=MapQuery,
    tag="directory",
    summary="The coverage map (SVG); `lang` words its title and legend in bokmål, nynorsk or English.",
)
def coverage_map(ports: Ports, ctx: Context) -> Response:
    lang = ctx.query.get("lang")
    labels = None
    if lang:
        t = translator(lang)
        labels = {key: t(f"map_{key}") for key in MAP_TEXTS} | {"decimal_comma": lang != "en"}
    return Response(ports.directory.coverage_map_svg(labels), content_type="image/svg+xml")


@route(
    "GET",
    "/api/hsds",
    roles=EVERYONE,
    tag="directory",
    summary="The directory as HSDS 3.0 JSON (without signing in: active contact points, no staff).",
)
def hsds_export(ports: Ports, ctx: Context) -> Response:
    return json_response(ports.directory.hsds_export(is_open(ctx)))


@route(
    "GET",
    "/api/hsds/<file_name>",
    roles=EVERYONE,
    tag="directory",
    path_example={"file_name": "services.csv"},
    summary="One HSDS 3.0 table as CSV, by its HSDS file name (organizations.csv, services.csv, ...).",
)
def hsds_table(ports: Ports, ctx: Context, file_name: str) -> Response:
    files = ports.directory.hsds_export_csv(is_open(ctx))
    if file_name not in files:
        raise NotFound(f"no HSDS table {file_name!r}; the tables are {', '.join(sorted(files))}")
    return Response(files[file_name], content_type="text/csv; charset=utf-8")
