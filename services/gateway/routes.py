"""The gateway's one route table. Every endpoint — JSON API, web page or probe — is declared here
with the roles that may call it, whether it reads personal data (and so is audited), whether it is
rate limited, and its schemas. The dispatcher, /openapi.json and the authorisation-matrix tests all
read this table, so they cannot drift apart."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .auth import PARTICIPANT, PUBLIC, ROLES

EVERYONE = (PUBLIC, *ROLES)
SIGNED_IN = ROLES
STAFF = ("national_admin", "contact_point_staff")
ADMIN = ("national_admin",)
# The personal pages (/me…): the person their link opened, known by the flokk_me cookie alone.
PERSON = (PARTICIPANT,)
PERSON_OR_PUBLIC = (PUBLIC, PARTICIPANT)


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    path: str  # werkzeug rule: /api/contact-points/<contact_point_id>/pool
    handler: Callable[..., Any]  # handler(ports, ctx, **path values) -> Response
    roles: tuple
    kind: str = "api"  # api | page | meta (probes, documents) | asset (CSS)
    scope: str | None = None  # "contact_point": the path's contact_point_id must be the actor's
    audit: str | None = None  # kind of subject whose personal data this reads ("registration", ...)
    purpose: str | None = None  # the default "why" written to the audit log
    body: type | None = None  # marshmallow schema of the JSON body
    query: type | None = None  # marshmallow schema of the query string
    response: type | None = None
    response_many: bool = False
    summary: str = ""
    tag: str = "api"
    rate_limited: bool = False
    # A personal page: the caller is the participant of the flokk_me cookie or the public (accounts
    # are not looked at), and every answer carries no-store and no-referrer.
    personal: bool = False
    status: int = 200  # the success status (OpenAPI)
    example: dict | None = field(default=None, hash=False, compare=False)  # a valid body, for docs and tests
    path_example: dict | None = field(default=None, hash=False, compare=False)


ROUTES: list[Route] = []


def route(method, path, **options):
    def register(handler):
        ROUTES.append(Route(name=handler.__name__, method=method, path=path, handler=handler, **options))
        return handler

    return register


def openapi_path(path):
    """/api/x/<contact_point_id> -> /api/x/{contact_point_id}"""
    import re

    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", path)
