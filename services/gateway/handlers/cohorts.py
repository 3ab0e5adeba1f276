"""Course cohorts through the web. A course leader (a referrer account) creates a cohort and gets a
code; the course's participants register themselves at `/register?cohort=CODE` with their own
consent (public.py), and the leader sees counts only: registered against expected."""

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from services.common.errors import NotFound

from .. import domain
from ..context import Context
from ..pages import optional, render, send_form
from ..ports import Document, Ports
from ..routes import route

REFERRER = ("referrer",)


def cohort_for_code(ports: Ports, text: str | None) -> tuple[Document | None, str | None]:
    """The cohort a code stands for, or why there is none to join: unknown or expired (registration
    answers the same for both, and counts the attempt) or closed."""
    code = domain.cohort_code(text)
    if code is None:
        return None, "cohort_unknown"
    try:
        cohort = ports.registration.cohort_by_code(code)
    except NotFound:
        return None, "cohort_unknown"
    return ({**cohort, "code": code}, None) if cohort.get("open") else (None, "cohort_closed")


def _page(ports: Ports, ctx: Context, status: int = 200, errors: dict[str, str] | None = None) -> Response:
    contact_points = optional(ports.directory.list_contact_points, None, None, None) or []
    return render(
        ctx,
        "referrer_cohorts.html",
        status=status,
        cohorts=ports.registration.cohorts(ctx.actor),
        contact_points=[cp for cp in contact_points if cp.get("active", True)],
        sizes=domain.COHORT_SIZES,
        weekdays=domain.WEEKDAYS,
        parts=domain.PARTS_OF_DAY,
        form=ctx.request.form.to_dict() if errors else {"expected_size": "8", "keep_together": "yes"},
        errors=errors or {},
        done=ctx.request.args.get("done"),
        base_url=ctx.request.host_url.rstrip("/"),
    )


@route("GET", "/referrer/cohorts", roles=REFERRER, kind="page", purpose="follow cohorts")
def cohorts_page(ports: Ports, ctx: Context) -> Response:
    return _page(ports, ctx)


@route("POST", "/referrer/cohorts", roles=REFERRER, kind="page", purpose="create cohort")
def cohort_submit(ports: Ports, ctx: Context) -> Response:
    payload, errors = domain.cohort_from_form(ctx.request.form)
    _, errors = send_form(errors, lambda: ports.registration.create_cohort(payload, ctx.actor))
    if not errors:
        return redirect("/referrer/cohorts?done=created", code=303)
    return _page(ports, ctx, status=400, errors=errors)
