"""The figures: per county and nationwide for the national office (JSON, a page with a chart of
waiting time per county, CSV), and per contact point and year for its own staff (a page and CSV).
Matching hides and rounds the small numbers; these only show them (figures.py). The national
office sees counties and never a contact point's table, so no caller can subtract a county's
contact points from the county."""

from typing import Any

from werkzeug.wrappers import Response

from services.common.clock import OSLO
from services.common.errors import InvalidInput

from .. import figures
from ..context import Context
from ..pages import render
from ..ports import Ports
from ..responses import json_response
from ..routes import ADMIN, route
from ..schemas import ContactPointFigures, Figures, PeriodQuery, YearQuery
from .staff import CP_PAGES, render_staff

#: Only a contact point's own staff see its figures (not the national office: see above).
OWN_STAFF = ("contact_point_staff",)


def figure_rows(ports: Ports, period: str | None) -> tuple[str, list[figures.Row]]:
    answer = ports.matching.figures(period)
    return answer.get("period") or period or "", figures.table(answer, ports.directory.coverage())


def csv_response(text: str, name: str) -> Response:
    return Response(
        text, content_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def page_period(ctx: Context, name: str = "period") -> str | None:
    """A page's period (or year) from its query string, checked as the API's schema checks it."""
    value = ctx.request.args.get(name, "").strip() or None
    schema = PeriodQuery if name == "period" else YearQuery
    errors = schema().validate({name: value} if value else {})
    if errors:
        raise InvalidInput(errors)
    return value


def rules() -> dict[str, Any]:
    return {"suppressed_below": figures.THRESHOLD, "rounded_to": figures.ROUNDED_TO}


@route(
    "GET",
    "/api/figures",
    roles=ADMIN,
    query=PeriodQuery,
    response=Figures,
    tag="figures",
    summary="Anonymous figures per county and nationwide for a month, quarter or year (?period=2026-Q4); "
    "no count below 5, every other rounded to 5.",
)
def national_figures(ports: Ports, ctx: Context) -> Response:
    period, rows = figure_rows(ports, ctx.query.get("period"))
    return json_response({"period": period, "rows": rows, **rules()})


@route("GET", "/api/figures.csv", roles=ADMIN, query=PeriodQuery, tag="figures", summary="The same figures as CSV.")
def national_figures_csv(ports: Ports, ctx: Context) -> Response:
    period, rows = figure_rows(ports, ctx.query.get("period"))
    return csv_response(figures.to_csv(rows), f"flokk-figures-{period}.csv")


@route("GET", "/national", roles=ADMIN, kind="page")
def national(ports: Ports, ctx: Context) -> Response:
    period, rows = figure_rows(ports, page_period(ctx))
    offered = figures.periods_to_offer(ports.clock.now().astimezone(OSLO).year)
    return render(
        ctx,
        "national.html",
        period=period,
        periods=offered if period in offered else [period, *offered],
        rows=rows,
        chart=figures.waiting_chart(rows),
        tables=figures.PAGE_TABLES,
        threshold=figures.THRESHOLD,
        rounded_to=figures.ROUNDED_TO,
    )


@route("GET", "/national/figures.csv", roles=ADMIN, kind="page")
def national_csv(ports: Ports, ctx: Context) -> Response:
    period, rows = figure_rows(ports, page_period(ctx))
    labels = {c: ctx.t(f"col_{c}") for c in figures.COLUMNS}
    areas = {figures.NATIONAL: ctx.t("national_total"), figures.OUTSIDE_COUNTIES: ctx.t("outside_counties")}
    return csv_response(figures.to_csv(rows, header_labels=labels, area_labels=areas), f"flokk-figures-{period}.csv")


# --- one contact point's year ----------------------------------------------------------------------


def contact_point_table(ports: Ports, ctx: Context, contact_point_id: str, year: str | None) -> dict[str, Any]:
    return ports.matching.contact_point_figures(contact_point_id, year, ctx.actor)


@route(
    "GET",
    "/api/contact-points/<contact_point_id>/figures",
    roles=OWN_STAFF,
    scope="contact_point",
    query=YearQuery,
    response=ContactPointFigures,
    tag="figures",
    path_example={"contact_point_id": "link-bergen"},
    summary="A contact point's figures for a year and its quarters (?year=2026), for its own staff.",
)
def contact_point_figures(ports: Ports, ctx: Context, contact_point_id: str) -> Response:
    answer = contact_point_table(ports, ctx, contact_point_id, ctx.query.get("year"))
    rows = figures.contact_point_rows(answer)
    return json_response({"contact_point_id": contact_point_id, "year": answer.get("year"), "rows": rows, **rules()})


@route(
    "GET",
    "/api/contact-points/<contact_point_id>/figures.csv",
    roles=OWN_STAFF,
    scope="contact_point",
    query=YearQuery,
    tag="figures",
    path_example={"contact_point_id": "link-bergen"},
    summary="The same as CSV.",
)
def contact_point_figures_csv(ports: Ports, ctx: Context, contact_point_id: str) -> Response:
    answer = contact_point_table(ports, ctx, contact_point_id, ctx.query.get("year"))
    text = figures.to_csv(figures.contact_point_rows(answer), figures.CONTACT_POINT_COLUMNS)
    return csv_response(text, f"flokk-{contact_point_id}-{answer.get('year')}.csv")


@route("GET", f"{CP_PAGES}/figures", roles=OWN_STAFF, kind="page", scope="contact_point")
def staff_figures(ports: Ports, ctx: Context, contact_point_id: str) -> Response:
    answer = contact_point_table(ports, ctx, contact_point_id, page_period(ctx, "year"))
    year = answer.get("year") or str(ports.clock.now().astimezone(OSLO).year)
    return render_staff(
        ports,
        ctx,
        "staff_figures.html",
        contact_point_id,
        "figures",
        year=year,
        years=[str(int(year) - back) for back in range(3)],
        rows=figures.contact_point_rows(answer),
        columns=[c for c in figures.CONTACT_POINT_COLUMNS if c not in ("period", "contact_point_id")],
        threshold=figures.THRESHOLD,
        rounded_to=figures.ROUNDED_TO,
    )
