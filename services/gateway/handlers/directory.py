"""The JSON API of the directory: find a contact point by postal code, read and change contact
points, coverage and its map, and the HSDS export."""

from werkzeug.wrappers import Response

from services.common.contact_point_input import ContactPointInput
from services.common.errors import InvalidInput

from .. import domain
from ..context import Context
from ..ports import Ports
from ..responses import json_response
from ..routes import ADMIN, DIRECTORY_READERS, EVERYONE, STAFF, route
from ..schemas import ContactPointQuery

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


@route(
    "GET",
    "/api/contact-points",
    roles=DIRECTORY_READERS,
    query=ContactPointQuery,
    tag="directory",
    summary="The directory's contact points, optionally by municipality, county or kind.",
)
def list_contact_points(ports: Ports, ctx: Context) -> Response:
    q = ctx.query
    return json_response(
        ports.directory.list_contact_points(q.get("municipality_number"), q.get("county_number"), q.get("kind"))
    )


@route(
    "GET",
    "/api/contact-points/<contact_point_id>",
    roles=DIRECTORY_READERS,
    tag="directory",
    path_example=CP,
    summary="One contact point.",
)
def get_contact_point(ports: Ports, ctx: Context, contact_point_id: str) -> Response:
    return json_response(ports.directory.get_contact_point(contact_point_id))


@route(
    "PUT",
    "/api/contact-points/<contact_point_id>",
    roles=STAFF,
    scope="contact_point",
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
    tag="directory",
    path_example=CP,
    summary="Deactivate a contact point.",
)
def deactivate_contact_point(ports: Ports, ctx: Context, contact_point_id: str) -> Response:
    return json_response(ports.directory.deactivate_contact_point(contact_point_id, ctx.actor))


@route("GET", "/api/coverage", roles=EVERYONE, tag="directory", summary="Which municipalities have a contact point.")
def coverage(ports: Ports, ctx: Context) -> Response:
    return json_response(ports.directory.coverage())


@route("GET", "/api/coverage/map.svg", roles=EVERYONE, tag="directory", summary="The coverage map (SVG).")
def coverage_map(ports: Ports, ctx: Context) -> Response:
    return Response(ports.directory.coverage_map_svg(), content_type="image/svg+xml")


@route("GET", "/api/hsds", roles=DIRECTORY_READERS, tag="directory", summary="The directory as HSDS 3.0 JSON.")
def hsds_export(ports: Ports, ctx: Context) -> Response:
    return json_response(ports.directory.hsds_export())
