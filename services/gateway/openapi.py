"""/openapi.json (OpenAPI 3.1) generated with apispec from the route table and its marshmallow
schemas, and /asyncapi.yaml (the event contracts)."""

from functools import lru_cache
from pathlib import Path

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from .routes import ROUTES, openapi_path
from .schemas import Error

REPO_ASYNCAPI = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"
ERRORS = {
    "400": "Invalid input, with the errors per field",
    "401": "Not signed in",
    "403": "Not allowed",
    "404": "Not found",
    "409": "Conflict",
    "415": "Not JSON",
    "429": "Too many requests",
    "503": "A service did not answer",
}


def _schema_name(schema):
    cls = schema if isinstance(schema, type) else type(schema)
    return cls.__name__


@lru_cache(maxsize=1)
def spec():
    from .pipeline import routing

    routing()  # fills ROUTES
    doc = APISpec(
        "Flokk gateway",
        "1.0.0",
        "3.1.0",
        plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
        info={"description": "The HTTP API of Flokk. Errors have one shape: {error: {code, message, fields}}."},
    )
    doc.components.schema("Error", schema=Error)
    doc.components.security_scheme("token", {"type": "http", "scheme": "bearer"})
    doc.components.security_scheme("session", {"type": "apiKey", "in": "cookie", "name": "flokk_session"})
    paths = {}
    for route in ROUTES:
        if route.kind in ("page", "asset"):  # HTML and CSS for browsers, not the API
            continue
        paths.setdefault(openapi_path(route.path), {})[route.method.lower()] = _operation(route)
    for path, operations in paths.items():
        doc.path(path=path, operations=operations)
    return doc.to_dict()


def _operation(route):
    op = {
        "operationId": route.name,
        "summary": route.summary or route.name,
        "tags": [route.tag],
        "x-roles": list(route.roles),
        "responses": {},
    }
    params = [
        {"in": "path", "name": name, "required": True, "schema": {"type": "string", "minLength": 1}}
        for name in _path_names(route.path)
    ]
    if route.query is not None:
        params.append({"in": "query", "schema": route.query})
    if params:
        op["parameters"] = params
    if route.body is not None:
        media = {"schema": route.body}
        if route.example:
            media["example"] = route.example
        op["requestBody"] = {"required": True, "content": {"application/json": media}}
    ok = str(route.status)
    content = {}
    if route.response is not None:
        schema = {"type": "array", "items": route.response} if route.response_many else route.response
        content = {"content": {"application/json": {"schema": schema}}}
    op["responses"][ok] = {"description": "OK", **content}
    if "public" not in route.roles:
        op["security"] = [{"token": []}, {"session": []}]
    for status in _error_statuses(route):
        op["responses"][status] = {"description": ERRORS[status], "content": {"application/json": {"schema": "Error"}}}
    return op


def _path_names(path):
    import re

    return re.findall(r"<(?:[a-z]+:)?([a-z_]+)>", path)


def _error_statuses(route):
    statuses = ["503"] if route.kind != "meta" else []
    if route.kind == "meta":
        return ["503"] if route.name in ("healthz", "readyz") else []
    statuses += ["400", "404", "409"]
    if route.body is not None:
        statuses.append("415")
    if "public" not in route.roles:
        statuses += ["401", "403"]
    if route.rate_limited:
        statuses.append("429")
    return sorted(set(statuses))


def asyncapi_text():
    """docs/asyncapi.yaml from the repository; an installed package without it generates the same."""
    if REPO_ASYNCAPI.is_file():
        return REPO_ASYNCAPI.read_text(encoding="utf-8")
    from services.common.asyncapi import render

    return render()
