"""The request pipeline behind the gateway's entrypoints: route, rate limit, authenticate,
authorise, check CSRF, validate, call one use case, audit, map errors, count.

A use case gets the `Ports`, a `Context` and the path values, and returns a Response; the RPC it
makes through the ports have a deadline and pass the actor last, as docs/rpc.md prescribes."""

import json
import logging
import time
from typing import Any, cast

from marshmallow import ValidationError
from werkzeug.exceptions import MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from services.common.access import may_see_contact_point
from services.common.errors import CODE, Conflict, field_errors
from services.common.metrics import Metrics

from . import auditing, auth, personal, responses
from .context import ANON_CSRF_COOKIE, PURPOSE_HEADER, SESSION_COOKIE, Context, Refused
from .i18n import DEFAULT_LANGUAGE, texts
from .pages import render_bad_link, render_error
from .ports import Ports, ServiceUnavailable
from .routes import ROUTES, Route

log = logging.getLogger(__name__)

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
METRICS = Metrics(prefix="flokk_gateway")
SECURITY_HEADERS = {  # the pages use no script, no frame and nothing from elsewhere
    "Content-Security-Policy": "default-src 'self'; script-src 'none'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
AUDIT_OUTCOMES = {403: "refused", 404: "not_found"}  # any other failure is "failed"
#: No request body may be larger (issue 17): refused with 413 before anything else reads it.
MAX_BODY_BYTES = 1024 * 1024


def url_map() -> Map:
    import services.gateway.handlers  # noqa: F401  (the modules whose @route fill ROUTES)

    # werkzeug takes any object as an endpoint: here, the Route itself.
    return Map([Rule(r.path, endpoint=r, methods=[r.method]) for r in ROUTES], strict_slashes=False)


_MAP = None


def routing() -> Map:
    global _MAP
    if _MAP is None:
        _MAP = url_map()
    return _MAP


def handle(ports: Ports, request: Request) -> Response:
    started = time.monotonic()
    route, status = None, 500
    try:
        response = _too_large(request) or _dispatch(ports, request)
        for header, value in SECURITY_HEADERS.items():
            response.headers.setdefault(header, value)
        route = getattr(request, "flokk_route", None)
        status = response.status_code
        return response
    finally:
        name = route.name if route else "unmatched"
        METRICS.count("http_requests_total", name)
        METRICS.count(f"http_responses_{status // 100}xx_total", name)
        METRICS.observe("http_request_seconds", name, time.monotonic() - started)


def _too_large(request: Request) -> Response | None:
    """413 for a body declared larger than MAX_BODY_BYTES; and werkzeug stops reading one that
    grows past it undeclared (chunked), as it parses a form or reads the data (CVE-2024-49767)."""
    request.max_content_length = MAX_BODY_BYTES
    if (request.content_length or 0) <= MAX_BODY_BYTES:
        return None
    return _body_too_large()


def _body_too_large() -> Response:
    return responses.error_response(
        413, "too_large", f"The request body is larger than {MAX_BODY_BYTES} bytes.", headers={"Connection": "close"}
    )


def _dispatch(ports: Ports, request: Request) -> Response:
    adapter = routing().bind_to_environ(request.environ)
    try:
        endpoint, values = adapter.match()
    except MethodNotAllowed as exc:
        return responses.error_response(
            405,
            "method_not_allowed",
            "This method is not allowed here.",
            headers={"Allow": ", ".join(exc.valid_methods or [])},
        )
    except NotFound:
        return _not_found(request)
    except Exception:  # werkzeug's redirect for a trailing slash and the like
        return _not_found(request)
    route = cast(Route, endpoint)
    request.flokk_route = route  # type: ignore[attr-defined]
    ctx = Context(request, route)
    response = _answer(ports, ctx, dict(values))
    for name, value, options in ctx.set_cookies:
        response.set_cookie(name, value, **options)
    if route.audit or ctx.account is not None:
        response.headers["Cache-Control"] = "no-store"  # personal data stays out of caches
    if route.personal:
        response.headers.update(personal.PRIVATE_HEADERS)
    return response


def _answer(ports: Ports, ctx: Context, values: dict[str, Any]) -> Response:
    """The use case's response, or what the pipeline answers instead; audited either way."""
    is_page = ctx.route.kind == "page"
    try:
        _guard(ports, ctx, values)
        response = ctx.route.handler(ports, ctx, **values)
        _audit(ports, ctx, values, "allowed")
        return response
    except Refused as refused:
        if refused.outcome:
            _audit(ports, ctx, values, refused.outcome)
        return refused.response
    except responses.KNOWN_ERRORS as exc:
        status, _ = responses.status_of(exc)
        _audit(ports, ctx, values, AUDIT_OUTCOMES.get(status, "failed"))
        return _page_error(ctx, status, conflict_reason(exc)) if is_page else responses.from_error(exc)
    except RequestEntityTooLarge:
        return _body_too_large()
    except ServiceUnavailable as exc:
        log.warning("upstream unavailable", extra={"error": exc.reason})
        if is_page:
            return _page_error(ctx, 503)
        return responses.error_response(503, "upstream_unavailable", "A service did not answer in time.")
    except Exception as exc:  # a bug here: answer without detail, log the kind only (no data)
        log.error("gateway handler failed", extra={"error": type(exc).__name__})
        if is_page:
            return _page_error(ctx, 500)
        return responses.error_response(500, "internal_error", "Something went wrong in the gateway.")


def _guard(ports: Ports, ctx: Context, values: dict[str, Any]) -> None:
    """Everything that can refuse a request before the use case runs, in order."""
    route, request = ctx.route, ctx.request
    if PURPOSE_HEADER in request.headers:  # the purpose is the one staff chose on the page
        raise Refused(
            responses.error_response(
                400, "purpose_header", f"{PURPOSE_HEADER} is not accepted: the purpose comes from the page's choice."
            )
        )
    if route.rate_limited:
        allowed = ports.limiter.allow(ctx.client_address(ports.trusted_proxies))
        if allowed is not True:
            raise Refused(
                responses.error_response(
                    429, "rate_limited", "Too many requests; try again later.", headers={"Retry-After": str(allowed)}
                )
            )
    _authenticate(ports, ctx)
    if ctx.role not in route.roles:
        raise Refused(_unauthorised(ctx), "refused" if ctx.account else None)
    if route.scope == "contact_point" and not may_see_contact_point(ctx.actor, values.get("contact_point_id")):
        raise Refused(_forbidden(ctx), "refused")
    if request.method in UNSAFE:
        _check_csrf(ctx)
    _validate(ctx)


def _authenticate(ports: Ports, ctx: Context) -> None:
    request = ctx.request
    if ctx.route.personal:  # the person of the flokk_me cookie, or nobody: accounts play no part here
        session = personal.find(ports, request) if auth.PARTICIPANT in ctx.route.roles else None
        if session is not None:
            ctx.participant, ctx.session, ctx.via = session["registration_id"], session, "personal"
        return
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        account = ports.store.account_for_token(auth.digest(token.strip())) if scheme.lower() == "bearer" else None
        if account is None:
            raise Refused(
                responses.error_response(
                    401, "unauthorised", "The API token is not valid.", headers={"WWW-Authenticate": "Bearer"}
                )
            )
        ctx.account, ctx.via = account, "token"
        return
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        session = ports.store.session(auth.digest(session_id))
        account = ports.store.account(session["account_id"]) if session else None
        if account is not None:
            ctx.account, ctx.session, ctx.via = account, session, "session"


def _check_csrf(ctx: Context) -> None:
    """Sessions need the session's token; anonymous pages the double-submit cookie; a bearer
    token or an anonymous JSON request carries no ambient authority and needs none."""
    request = ctx.request
    if ctx.via == "token" or (ctx.route.kind != "page" and ctx.via is None):
        return
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token")
    expected = ctx.session["csrf"] if ctx.session else request.cookies.get(ANON_CSRF_COOKIE)
    if not auth.same(sent, expected):
        raise Refused(
            _page_error(ctx, 403, "csrf")
            if ctx.route.kind == "page"
            else responses.error_response(403, "csrf", "The CSRF token is missing or wrong.")
        )


def _validate(ctx: Context) -> None:
    route, request = ctx.route, ctx.request
    if route.kind != "api":
        return
    errors: dict[str, Any] = {}
    if route.query is not None:
        try:
            ctx.query = route.query().load(request.args.to_dict())
        except ValidationError as exc:
            errors.update(exc.messages)  # type: ignore[arg-type]
    elif request.args:
        errors.update({key: ["Unknown field."] for key in request.args})
    if route.body is not None:
        if request.mimetype != "application/json":
            raise Refused(responses.error_response(415, "unsupported_media_type", "Send the body as application/json."))
        try:
            ctx.raw_body = json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            raise Refused(responses.error_response(400, "invalid_json", "The body is not JSON.")) from None
        try:
            ctx.body = route.body().load(ctx.raw_body if ctx.raw_body is not None else {})
        except ValidationError as exc:
            errors.update(exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages})
    if errors:
        raise Refused(
            responses.error_response(400, "invalid_input", "Some fields are not valid.", field_errors(errors))
        )


def _audit(ports: Ports, ctx: Context, values: dict[str, Any], outcome: str) -> None:
    """One entry per read of personal data and per change of a group or the directory (and per
    refusal on such a route): who, whom, when, why; and one more for each person the page names
    (ctx.named), with that person as its subject."""
    route = ctx.route
    if not route.audit:
        return
    subject = ctx.audit_subject or values.get(f"{route.audit}_id") or (ctx.actor.get("referrer_id") or "-")
    auditing.record(ports, ctx, route.name, route.audit, subject, outcome)
    if outcome == "allowed":
        for named in ctx.named:
            auditing.record(ports, ctx, f"{route.name}: first name", "registration", named, outcome)


def _unauthorised(ctx: Context) -> Response:
    if ctx.route.personal:  # no live personal session: the one page every bad link gets
        return render_bad_link(ctx)
    if ctx.account is None:
        if ctx.route.kind == "page":
            return redirect(f"/login?next={ctx.request.path}")
        return responses.error_response(
            401, "unauthorised", "Sign in or send an API token.", headers={"WWW-Authenticate": "Bearer"}
        )
    return _forbidden(ctx)


def _forbidden(ctx: Context) -> Response:
    if ctx.route.kind == "page":
        return _page_error(ctx, 403)
    return responses.error_response(403, "forbidden", "Your role may not do this here.")


def _not_found(request: Request) -> Response:
    if request.path.startswith("/api/"):
        return responses.error_response(404, "not_found", "No such endpoint.")
    return render_error(request, 404)


def conflict_reason(exc: Exception) -> str | None:
    """The stable code a service's Conflict starts with (`proposal_superseded: ...`), when the
    pages have words for it; else None (the page says only that something changed meanwhile)."""
    code = str(exc).split(":", 1)[0].strip()
    if isinstance(exc, Conflict) and CODE.match(code) and f"error_text_{code}" in texts(DEFAULT_LANGUAGE):
        return code
    return None


def _page_error(ctx: Context, status: int, reason: str | None = None) -> Response:
    if ctx.route.personal and status == 404:  # an erased registration looks like any bad link
        return render_bad_link(ctx)
    return render_error(ctx.request, status, reason, ctx=ctx)
