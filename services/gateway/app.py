"""The request pipeline behind the gateway's entrypoints: route, rate limit, authenticate,
authorise, check CSRF, validate, call one handler, audit, map errors, count.

A handler gets a `Context` and the path values; it calls RPC through `ctx.call` (with a deadline,
the actor appended by the handler as docs/rpc.md prescribes) and returns a Response."""

import json
import logging
import time

import eventlet
from marshmallow import ValidationError
from nameko.exceptions import IncorrectSignature, MethodNotFound, RemoteError, UnknownService
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect

from services.common import clock
from services.common.access import may_see_contact_point
from services.common.errors import Conflict, Forbidden, InvalidInput
from services.common.errors import NotFound as NotFound_
from services.common.metrics import Metrics

from . import auth
from .i18n import choose_language, translator
from .responses import REMOTE_ERRORS, error_response, from_remote_error, remote_field_errors, remote_status
from .routes import ROUTES

log = logging.getLogger(__name__)

SESSION_COOKIE = "flokk_session"
ANON_CSRF_COOKIE = "flokk_csrf"
PURPOSE_HEADER = "X-Flokk-Purpose"
RPC_TIMEOUT_KEY = "FLOKK_RPC_TIMEOUT"
DEFAULT_RPC_TIMEOUT = 10.0
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
METRICS = Metrics(prefix="flokk_gateway")
SECURITY_HEADERS = {  # the pages use no script, no frame and nothing from elsewhere
    "Content-Security-Policy": "default-src 'self'; script-src 'none'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class UpstreamTimeout(Exception):
    pass


# A service that is missing, too slow, or lacks the method (nameko raises these locally).
UNAVAILABLE = (UpstreamTimeout, UnknownService, MethodNotFound, IncorrectSignature)


class Refused(Exception):
    """Stop the pipeline with this response (and, for audited routes, an audit entry)."""

    def __init__(self, response, outcome=None):
        super().__init__(outcome)
        self.response, self.outcome = response, outcome


def url_map():
    import services.gateway.api  # noqa: F401  (the modules whose @route fill ROUTES)
    import services.gateway.web  # noqa: F401

    return Map([Rule(r.path, endpoint=r, methods=[r.method]) for r in ROUTES], strict_slashes=False)


_MAP = None


def routing():
    global _MAP
    if _MAP is None:
        _MAP = url_map()
    return _MAP


class Context:
    """What a handler may use: the request, the caller, validated input and the RPC proxies."""

    def __init__(self, service, request, route):
        self.service, self.request, self.route = service, request, route
        self.account, self.session, self.via = None, None, None
        self.body, self.query, self.raw_body = {}, {}, None
        self.lang = choose_language(request)
        self.t = translator(self.lang)
        self.audit_subject = None
        self.purpose = None  # a page may set the "why" the person chose
        self.set_cookies = []

    @property
    def actor(self):
        default = (self.route.purpose or self.route.name.replace("_", " ")) if self.route else None
        purpose = self.request.headers.get(PURPOSE_HEADER) or self.purpose or default
        return auth.actor_for(self.account, (purpose or "")[:200] or None)

    @property
    def role(self):
        return self.account["role"] if self.account else auth.PUBLIC

    @property
    def store(self):
        return self.service.store

    def call(self, service_name, method, *args):
        """One RPC with a deadline; RemoteError and UpstreamTimeout propagate to the pipeline."""
        seconds = float(self.service.config.get(RPC_TIMEOUT_KEY, DEFAULT_RPC_TIMEOUT))
        proxy = getattr(self.service, service_name)
        with eventlet.Timeout(seconds, UpstreamTimeout(f"{service_name}.{method}")):
            return getattr(proxy, method)(*args)

    def csrf_token(self):
        """The token a form must send back: the session's, or the anonymous double-submit cookie's."""
        if self.session:
            return self.session["csrf"]
        token = self.request.cookies.get(ANON_CSRF_COOKIE)
        if not token:
            token = auth.new_secret()
            self.set_cookies.append((ANON_CSRF_COOKIE, token, {"httponly": True, "samesite": "Strict"}))
            self.request.cookies = {**self.request.cookies, ANON_CSRF_COOKIE: token}
        return token


def handle(service, request):
    started = time.monotonic()
    route, status = None, 500
    try:
        response = _dispatch(service, request)
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


def _dispatch(service, request):
    adapter = routing().bind_to_environ(request.environ)
    try:
        route, values = adapter.match()
    except MethodNotAllowed as exc:
        return error_response(
            405,
            "method_not_allowed",
            "This method is not allowed here.",
            headers={"Allow": ", ".join(exc.valid_methods or [])},
        )
    except NotFound:
        return _not_found(request)
    except Exception:  # werkzeug's redirect for a trailing slash and the like
        return _not_found(request)
    request.flokk_route = route
    ctx = Context(service, request, route)
    try:
        _guard(ctx, values)
        response = route.handler(ctx, **values)
        _audit(ctx, values, "allowed")
    except Refused as refused:
        if refused.outcome:
            _audit(ctx, values, refused.outcome)
        response = refused.response
    except RemoteError as exc:
        status, code = remote_status(exc)
        _audit(ctx, values, {403: "refused", 404: "not_found"}.get(status, "failed"))
        response = _page_error(ctx, status) if route.kind == "page" else from_remote_error(exc)
    except (InvalidInput, NotFound_, Forbidden, Conflict) as exc:  # raised by the gateway's own use cases
        status, code = REMOTE_ERRORS[type(exc).__name__]
        fields = getattr(exc, "errors", None)
        response = error_response(status, code, "Some fields are not valid." if fields else str(exc), fields)
    except UNAVAILABLE as exc:
        log.warning("upstream unavailable", extra={"error": type(exc).__name__})
        response = (
            _page_error(ctx, 503)
            if route.kind == "page"
            else error_response(503, "upstream_unavailable", "A service did not answer in time.")
        )
    except Exception as exc:  # a bug here: answer without detail, log the kind only (no data)
        log.error("gateway handler failed", extra={"error": type(exc).__name__})
        response = (
            _page_error(ctx, 500)
            if route.kind == "page"
            else error_response(500, "internal_error", "Something went wrong in the gateway.")
        )
    for name, value, options in ctx.set_cookies:
        response.set_cookie(name, value, **options)
    if route.audit or ctx.account is not None:
        response.headers["Cache-Control"] = "no-store"  # personal data stays out of caches
    return response


def _guard(ctx, values):
    """Everything that can refuse a request before the handler runs, in order."""
    route, request = ctx.route, ctx.request
    if route.rate_limited:
        allowed = ctx.service.limiter.allow(request.remote_addr or "unknown")
        if allowed is not True:
            raise Refused(
                error_response(
                    429, "rate_limited", "Too many requests; try again later.", headers={"Retry-After": str(allowed)}
                )
            )
    _authenticate(ctx)
    if ctx.role not in route.roles:
        raise Refused(_unauthorised(ctx), "refused" if ctx.account else None)
    if route.scope == "contact_point" and not may_see_contact_point(ctx.actor, values.get("contact_point_id")):
        raise Refused(_forbidden(ctx), "refused")
    if request.method in UNSAFE:
        _check_csrf(ctx)
    _validate(ctx, values)


def _authenticate(ctx):
    request = ctx.request
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        account = ctx.store.account_for_token(auth.digest(token.strip())) if scheme.lower() == "bearer" else None
        if account is None:
            raise Refused(
                error_response(
                    401, "unauthorised", "The API token is not valid.", headers={"WWW-Authenticate": "Bearer"}
                )
            )
        ctx.account, ctx.via = account, "token"
        return
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        session = ctx.store.session(auth.digest(session_id))
        account = ctx.store.account(session["account_id"]) if session else None
        if account is not None:
            ctx.account, ctx.session, ctx.via = account, session, "session"


def _check_csrf(ctx):
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
            else error_response(403, "csrf", "The CSRF token is missing or wrong.")
        )


def _validate(ctx, values):
    route, request = ctx.route, ctx.request
    if route.kind != "api":
        return
    errors = {}
    if route.query is not None:
        try:
            ctx.query = route.query().load(request.args.to_dict())
        except ValidationError as exc:
            errors.update(exc.messages)
    elif request.args:
        errors.update({key: ["Unknown field."] for key in request.args})
    if route.body is not None:
        if request.mimetype != "application/json":
            raise Refused(error_response(415, "unsupported_media_type", "Send the body as application/json."))
        try:
            ctx.raw_body = json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            raise Refused(error_response(400, "invalid_json", "The body is not JSON.")) from None
        try:
            ctx.body = route.body().load(ctx.raw_body if ctx.raw_body is not None else {})
        except ValidationError as exc:
            errors.update(exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages})
    if errors:
        from services.common.errors import field_errors

        raise Refused(error_response(400, "invalid_input", "Some fields are not valid.", field_errors(errors)))


def _audit(ctx, values, outcome):
    """One entry per read of personal data (and per refusal on such a route): who, whom, when, why."""
    route = ctx.route
    if not route.audit:
        return
    subject = ctx.audit_subject or values.get(f"{route.audit}_id") or (ctx.actor.get("referrer_id") or "-")
    actor = ctx.actor
    ctx.store.audit(
        {
            "at": clock.now(),
            "account_id": actor["account_id"],
            "role": actor["role"],
            "action": route.name,
            "subject_kind": route.audit,
            "subject_id": str(subject)[:64],
            "purpose": actor["purpose"],
            "outcome": outcome,
            "contact_point_ids": actor["contact_point_ids"],
        }
    )


def _unauthorised(ctx):
    if ctx.account is None:
        if ctx.route.kind == "page":
            return redirect(f"/login?next={ctx.request.path}")
        return error_response(
            401, "unauthorised", "Sign in or send an API token.", headers={"WWW-Authenticate": "Bearer"}
        )
    return _forbidden(ctx)


def _forbidden(ctx):
    if ctx.route.kind == "page":
        return _page_error(ctx, 403)
    return error_response(403, "forbidden", "Your role may not do this here.")


def _not_found(request):
    if request.path.startswith("/api/"):
        return error_response(404, "not_found", "No such endpoint.")
    from .web import render_error

    return render_error(request, 404)


def _page_error(ctx, status, reason=None):
    from .web import render_error

    return render_error(ctx.request, status, reason, ctx=ctx)


__all__ = ["handle", "Context", "Refused", "METRICS", "remote_field_errors"]
