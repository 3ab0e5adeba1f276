"""The public's pages: the registration form (it works without JavaScript), "find your contact
point", and coverage."""

import uuid

from werkzeug.wrappers import Response

from services.common.errors import InvalidInput, NotFound

from .. import domain
from ..context import Context
from ..pages import field_messages, optional, render, send_form
from ..ports import Ports
from ..routes import EVERYONE, route
from .registrations import register


def idempotency_key(prefix: str) -> str:
    """A new form's key: sending it twice registers the person once."""
    return f"{prefix}-{uuid.uuid4().hex}"


@route("GET", "/", roles=EVERYONE, kind="page")
def home(ports: Ports, ctx: Context) -> Response:
    return render(ctx, "home.html")


@route("GET", "/register", roles=EVERYONE, kind="page")
def register_form(ports: Ports, ctx: Context) -> Response:
    form = {"idempotency_key": idempotency_key("web")}
    return render(ctx, "register.html", form=form, errors={}, **domain.register_choices())


@route("POST", "/register", roles=EVERYONE, kind="page", rate_limited=True)
def register_submit(ports: Ports, ctx: Context) -> Response:
    form = ctx.request.form
    payload, errors = domain.intake_from_form(form, ctx.lang, ports.clock.now(), idempotency_key("web"))
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
        **domain.register_choices(),
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
            names = {}
            for candidate in candidates:
                cp_id = candidate.get("contact_point_id")
                if candidate.get("kind") == "contact_point" and cp_id and cp_id not in names:
                    names[cp_id] = ports.directory.get_contact_point(cp_id).get("name", cp_id)
            result = {"place": place, "candidates": candidates, "names": names}
        except (NotFound, InvalidInput):  # an unknown postal code, however the directory words it
            error = "postal_code_unknown"
    return render(ctx, "find.html", status=400 if error else 200, postal_code=code, result=result, error=error)


@route("GET", "/coverage", roles=EVERYONE, kind="page")
def coverage_page(ports: Ports, ctx: Context) -> Response:
    return render(ctx, "coverage.html", coverage=optional(ports.directory.coverage))
