"""The public's pages: the registration form (it works without JavaScript; with a course cohort's
code too), "find your contact point" with how to reach each one, a page per contact point, and
coverage. They show the open directory (what anyone may read of a contact point), whoever is
signed in."""

import uuid
from typing import Any

from werkzeug.wrappers import Response

from services.common.errors import InvalidInput, NotFound

from .. import content, domain
from ..context import Context
from ..pages import field_messages, optional, render, send_form
from ..ports import Ports
from ..routes import EVERYONE, route
from .cohorts import cohort_for_code
from .registrations import register


def idempotency_key(prefix: str) -> str:
    """A new form's key: sending it twice registers the person once."""
    return f"{prefix}-{uuid.uuid4().hex}"


def consent_values(ports: Ports, ctx: Context) -> dict[str, Any]:
    """The consent text the form shows now, in the page's language, and its version."""
    terms = ports.consent
    version = content.CURRENT_CONSENT
    return {
        "consent_version": version,
        "consent_text": content.consent_text(version, ctx.lang, terms.controller, terms.retention_days),
    }


@route("GET", "/", roles=EVERYONE, kind="page")
def home(ports: Ports, ctx: Context) -> Response:
    return render(ctx, "home.html")


@route("GET", "/register", roles=EVERYONE, kind="page")
def register_form(ports: Ports, ctx: Context) -> Response:
    """The form; `?cohort=CODE` makes it a course participant's own registration with the cohort."""
    form = {"idempotency_key": idempotency_key("web")}
    cohort, problem = None, None
    if "cohort" in ctx.request.args:
        cohort, problem = cohort_for_code(ports, ctx.request.args["cohort"])
    return render(
        ctx,
        "register.html",
        status=404 if problem else 200,
        form=form,
        errors={},
        cohort=cohort,
        cohort_problem=problem,
        **domain.register_choices(),
        **consent_values(ports, ctx),
    )


@route("POST", "/register", roles=EVERYONE, kind="page", rate_limited=True)
def register_submit(ports: Ports, ctx: Context) -> Response:
    form = ctx.request.form
    payload, errors = domain.intake_from_form(form, ctx.lang, ports.clock.now(), idempotency_key("web"))
    cohort, problem = cohort_for_code(ports, form["cohort"]) if form.get("cohort") else (None, None)
    if cohort:
        payload["cohort"] = {"cohort_id": cohort["cohort_id"], "keep_together": cohort["keep_together"]}
    elif problem:
        errors["cohort"] = [problem]
    result, errors = send_form(field_messages(errors), lambda: register(ports, ctx, payload))
    if result is not None:
        return render(ctx, "thanks.html", registration=result, status=201 if result["created"] else 200)
    return render(
        ctx,
        "register.html",
        status=400,
        form=form.to_dict(),
        errors=errors,
        chosen=domain.chosen(form),
        cohort=cohort,
        **domain.register_choices(),
        **consent_values(ports, ctx),
    )


@route("GET", "/find", roles=EVERYONE, kind="page", rate_limited=True)
def find(ports: Ports, ctx: Context) -> Response:
    code = ctx.request.args.get("postal_code", "").strip()
    result, error = None, None
    if code and not domain.is_postal_code(code):
        error = "postal_code_format"
    elif code:
        try:
            place = ports.directory.municipality_for_postal_code(code)
            candidates = ports.directory.route(place.get("municipality_number"), {})
        except (NotFound, InvalidInput):  # an unknown postal code, however the directory words it
            error = "postal_code_unknown"
        else:
            result = {"place": place, "candidates": candidates, "contact_points": _reachable(ports, candidates)}
    return render(ctx, "find.html", status=400 if error else 200, postal_code=code, result=result, error=error)


def _reachable(ports: Ports, candidates: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """How to reach each contact point among the candidates (the open directory); one that closed
    since the route was given is left out."""
    found: dict[str, dict[str, Any]] = {}
    for candidate in candidates:
        cp_id = candidate.get("contact_point_id")
        if candidate.get("kind") in ("contact_point", "digital") and cp_id and cp_id not in found:
            shown = optional_found(ports.directory.open_contact_point, cp_id)
            if shown is not None:
                found[cp_id] = shown
    return found


def optional_found(read: Any, *args: Any) -> dict[str, Any] | None:
    """What another service answers, or None when it has no such thing or cannot answer now."""
    try:
        return optional(read, *args)
    except NotFound:
        return None


@route("GET", "/contact-points/<contact_point_id>", roles=EVERYONE, kind="page")
def contact_point_page(ports: Ports, ctx: Context, contact_point_id: str) -> Response:
    """A contact point's public page: how to reach it, where it meets, that taking part is free."""
    return render(ctx, "contact_point.html", cp=ports.directory.open_contact_point(contact_point_id))


@route("GET", "/coverage", roles=EVERYONE, kind="page")
def coverage_page(ports: Ports, ctx: Context) -> Response:
    return render(ctx, "coverage.html", coverage=optional(ports.directory.coverage))
