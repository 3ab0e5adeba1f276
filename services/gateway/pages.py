"""Server-rendered pages (Jinja2): what every page handler shares. Every page works without
JavaScript; forms carry a CSRF token; errors are listed at the top and tied to their fields."""

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from werkzeug.wrappers import Request, Response

from services.common.errors import Conflict, InvalidInput

from . import domain
from .context import Context
from .i18n import DEFAULT_LANGUAGE, LANGUAGES, choose_language, texts, translator
from .ports import ServiceFailed, ServiceUnavailable
from .wording import Words, date_text, phone_text, time_text

HERE = Path(__file__).resolve().parent
T = TypeVar("T")
log = logging.getLogger(__name__)
_env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))


def _number(value: Any, lang: str) -> Any:
    """A figure as a reader of the page's language writes it: 18,5 in Norwegian, 18.5 in English."""
    if isinstance(value, float):
        text = f"{value:.1f}"
        return text if lang == "en" else text.replace(".", ",")
    return value


@pass_context
def _local_date(context: Any, value: Any, with_time: bool = False) -> str:
    """An RFC 3339 time as a reader of the page's language writes it in Norway: «8. desember 2026»
    (with the time: «tirsdag 8. desember 2026 kl. 18.00»), as `words` does."""
    return time_text(value, context["lang"]) if with_time else date_text(value, context["lang"])


_env.filters["number"] = _number
_env.filters["day"] = date_text
_env.filters["phone"] = phone_text
_env.filters["local_date"] = _local_date


def render(ctx: Context, template: str, status: int = 200, variant: str | None = None, **values: Any) -> Response:
    """A page in the reader's language. `variant` words the same questions for another reader
    (`ref`: a referrer answering for the person they refer)."""
    t = translator(ctx.lang, variant) if variant else ctx.t
    response = Response(
        _env.get_template(template).render(
            t=t,
            words=Words(t, ctx.lang),
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
    t = translator(lang)
    return Response(
        _env.get_template("error.html").render(
            t=t,
            words=Words(t, lang),
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


def service_messages(errors: dict[str, Any]) -> dict[str, str]:
    """A service's field errors (stable codes) as the page shows them; a code the page has no
    words for gets a generic message, and a log line names it (the code only, never a value)."""
    for field, code in domain.unworded(errors, texts(DEFAULT_LANGUAGE)).items():
        log.warning("error code without words", extra={"error": code, "reason": f"field {field}"[:64]})
    return field_messages(errors)


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
        return None, service_messages(exc.errors)
