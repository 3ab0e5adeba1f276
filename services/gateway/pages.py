"""Server-rendered pages (Jinja2): what every page handler shares. Every page works without
JavaScript; forms carry a CSRF token; errors are listed at the top and tied to their fields."""

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from werkzeug.wrappers import Request, Response

from services.common.clock import OSLO
from services.common.errors import Conflict, InvalidInput

from . import domain
from .context import Context
from .i18n import DEFAULT_LANGUAGE, LANGUAGES, choose_language, texts, translator
from .ports import ServiceFailed, ServiceUnavailable

HERE = Path(__file__).resolve().parent
T = TypeVar("T")
_env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))


def _number(value: Any, lang: str) -> Any:
    """A figure as a reader of the page's language writes it: 18,5 in Norwegian, 18.5 in English."""
    if isinstance(value, float):
        text = f"{value:.1f}"
        return text if lang == "en" else text.replace(".", ",")
    return value


def _day(value: Any, lang: str) -> str:
    """An RFC 3339 moment as the day it was in Norway: 28.11.2026 (English: 28 Nov 2026)."""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(OSLO)
    except ValueError:
        return str(value)
    return moment.strftime("%-d %b %Y") if lang == "en" else moment.strftime("%d.%m.%Y")


def _phone(value: Any) -> str:
    """+4712345678 as +47 12 34 56 78."""
    text = str(value)
    if len(text) == 11 and text.startswith("+47"):
        return "+47 " + " ".join(text[i : i + 2] for i in range(3, 11, 2))
    return text


@pass_context
def _local_date(context: Any, value: Any, with_time: bool = False) -> str:
    """An RFC 3339 time as a reader of the page's language writes its date in Norway:
    «8. desember 2026» (and «kl. 18:00»), «8 December 2026» («at 18:00»)."""
    moment = domain.local_moment(value)
    if moment is None:
        return ""
    t = context["t"]
    text = t("date_format", day=moment.day, month=t(f"month_{moment.month}"), year=moment.year)
    return t("date_time_format", date=text, time=moment.strftime("%H:%M")) if with_time else text


_env.filters["number"] = _number
_env.filters["day"] = _day
_env.filters["phone"] = _phone
_env.filters["local_date"] = _local_date


def render(ctx: Context, template: str, status: int = 200, **values: Any) -> Response:
    response = Response(
        _env.get_template(template).render(
            t=ctx.t,
            lang=ctx.lang,
            languages=LANGUAGES,
            account=ctx.account,
            path=ctx.request.path,
            csrf_token=ctx.csrf_token(),
            **values,
        ),
        status=status,
        mimetype="text/html",
    )
    if ctx.request.args.get("lang") in LANGUAGES:
        response.set_cookie("lang", ctx.lang, samesite="Lax", max_age=365 * 24 * 3600)
    return response


def render_error(request: Request, status: int, reason: str | None = None, ctx: Context | None = None) -> Response:
    lang = choose_language(request)
    return Response(
        _env.get_template("error.html").render(
            t=translator(lang),
            lang=lang,
            languages=LANGUAGES,
            account=getattr(ctx, "account", None),
            path=request.path,
            csrf_token="",
            status=status,
            reason=reason,
        ),
        status=status,
        mimetype="text/html",
    )


def render_bad_link(ctx: Context, status: int = 404) -> Response:
    """The one page of every link that does not work (tampered, expired, revoked, for another
    purpose, or of an erased registration), with the form for a new one: it looks the same in
    every case, so it tells nobody which."""
    return render(ctx, "me_bad_link.html", status=status, new_link_csrf=ctx.anonymous_csrf_token(), errors={}, form={})


def field_messages(errors: dict[str, Any]) -> dict[str, str]:
    """The errors as the page shows them: in the form's order, in the page's words where it has them."""
    return domain.flat_errors(errors, texts(DEFAULT_LANGUAGE))


def optional(read: Callable[..., T], *args: Any) -> T | None:
    """For the parts of a page another service fills: None when it cannot answer (shown as such).
    A refusal or a missing subject is the page's answer, not a gap in it."""
    try:
        return read(*args)
    except (InvalidInput, Conflict, ServiceFailed, ServiceUnavailable):
        return None


def send_form(errors: dict[str, Any], send: Callable[[], T]) -> tuple[T | None, dict[str, Any]]:
    """Send what a form asks for unless it has errors of its own; (the answer, the errors). The
    field errors of the service it goes to (InvalidInput) come back in the page's words."""
    if errors:
        return None, errors
    try:
        return send(), {}
    except InvalidInput as exc:
        return None, field_messages(exc.errors)
