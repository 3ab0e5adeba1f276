"""The national office's figures: per county and nationwide, as JSON, as a page and as CSV. Matching
hides the small numbers; these only show them (figures.py)."""

from werkzeug.wrappers import Response

from .. import figures
from ..context import Context
from ..pages import render
from ..ports import Ports
from ..responses import json_response
from ..routes import ADMIN, route
from ..schemas import Figures


def figure_rows(ports: Ports) -> list[figures.Row]:
    return figures.table(ports.matching.figures(), ports.directory.coverage())


def csv_response(text: str) -> Response:
    return Response(
        text,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="flokk-figures.csv"'},
    )


@route(
    "GET",
    "/api/figures",
    roles=ADMIN,
    response=Figures,
    tag="figures",
    summary="Anonymous figures per county and nationwide; none for fewer than 5 people.",
)
def national_figures(ports: Ports, ctx: Context) -> Response:
    return json_response({"rows": figure_rows(ports), "suppressed_below": figures.THRESHOLD})


@route("GET", "/api/figures.csv", roles=ADMIN, tag="figures", summary="The same figures as CSV.")
def national_figures_csv(ports: Ports, ctx: Context) -> Response:
    return csv_response(figures.to_csv(figure_rows(ports)))


@route("GET", "/national", roles=ADMIN, kind="page")
def national(ports: Ports, ctx: Context) -> Response:
    return render(
        ctx,
        "national.html",
        rows=figure_rows(ports),
        threshold=figures.THRESHOLD,
        columns=[c for c in figures.COLUMNS if c not in ("area", "county_number")],
        national_only=figures.NATIONAL_ONLY,
    )


@route("GET", "/national/figures.csv", roles=ADMIN, kind="page")
def national_csv(ports: Ports, ctx: Context) -> Response:
    labels = {c: ctx.t(f"col_{c}") for c in figures.COLUMNS}
    return csv_response(figures.to_csv(figure_rows(ports), labels))
