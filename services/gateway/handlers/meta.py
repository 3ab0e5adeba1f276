"""Probes and documents: liveness, readiness, metrics, /openapi.json, /asyncapi.yaml, the stylesheet."""

from werkzeug.wrappers import Response

from services.common.health import health_report

from ..context import Context
from ..openapi import asyncapi_text, spec
from ..pages import HERE
from ..pipeline import METRICS
from ..ports import Directory, Matching, Notification, Ports, Registration
from ..responses import json_response
from ..routes import EVERYONE, route
from ..schemas import Health


@route("GET", "/static/style.css", roles=EVERYONE, kind="asset", tag="meta", summary="The stylesheet.")
def stylesheet(ports: Ports, ctx: Context) -> Response:
    return Response(
        (HERE / "static" / "style.css").read_text(encoding="utf-8"),
        content_type="text/css",
        headers={"Cache-Control": "max-age=3600"},
    )


@route(
    "GET",
    "/healthz",
    roles=EVERYONE,
    kind="meta",
    response=Health,
    tag="meta",
    summary="Liveness: the gateway's own store and broker.",
)
def healthz(ports: Ports, ctx: Context) -> Response:
    report = health_report("gateway", ports.store, ports.store.broker)
    return json_response(report, 200 if report["status"] == "ok" else 503)


@route(
    "GET",
    "/readyz",
    roles=EVERYONE,
    kind="meta",
    tag="meta",
    summary="Readiness: the gateway's store, and every service it calls answers health().",
)
def readyz(ports: Ports, ctx: Context) -> Response:
    report = {"gateway": health_report("gateway", ports.store, ports.store.broker)["status"]}
    backends: dict[str, Registration | Matching | Directory | Notification] = {
        "registration": ports.registration,
        "matching": ports.matching,
        "directory": ports.directory,
        "notification": ports.notification,
    }
    for name, backend in backends.items():
        try:
            report[name] = backend.health().get("status", "down")
        except Exception:  # any failure to answer means not ready; the reason is not the caller's
            report[name] = "down"
    ready = all(status == "ok" for status in report.values())
    return json_response({"status": "ready" if ready else "not_ready", "checks": report}, 200 if ready else 503)


@route("GET", "/metrics", roles=EVERYONE, kind="meta", tag="meta", summary="Prometheus text format.")
def metrics(ports: Ports, ctx: Context) -> Response:
    return Response(METRICS.render(label="route"), mimetype="text/plain", content_type="text/plain; version=0.0.4")


@route("GET", "/openapi.json", roles=EVERYONE, kind="meta", tag="meta", summary="This document.")
def openapi(ports: Ports, ctx: Context) -> Response:
    return json_response(spec())


@route("GET", "/asyncapi.yaml", roles=EVERYONE, kind="meta", tag="meta", summary="The event contracts.")
def asyncapi(ports: Ports, ctx: Context) -> Response:
    return Response(asyncapi_text(), content_type="application/yaml; charset=utf-8")
