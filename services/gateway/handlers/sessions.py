"""Signing in and out, on the pages and through the API. A session lives in the gateway's store
(only its digest); its cookie is HttpOnly, and its CSRF token guards every change made with it.
Failed sign-ins are counted per e-mail address as typed (whether or not an account has it) in the
store, so every replica agrees: after five in 15 minutes the next waits 2^(n-5) s, at most 15 min."""

from eventlet import tpool
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from .. import auditing, auth, domain
from ..context import SESSION_COOKIE, Context
from ..pages import render
from ..ports import Document, Ports
from ..responses import error_response, json_response
from ..routes import EVERYONE, SIGNED_IN, route
from ..schemas import AccountOutput, LoginInput, SessionOutput

SESSION_SECONDS = 8 * 3600


class Throttled(Exception):
    def __init__(self, seconds: int) -> None:
        super().__init__(seconds)
        self.seconds = seconds


def signed_in(ports: Ports, ctx: Context, email: str, password: str) -> Document | None:
    """The account with this e-mail address and password, else None (in the same time either way);
    Throttled while this address waits. Both outcomes are audited; argon2 runs off the event loop."""
    key = auth.digest("sign-in:" + domain.normalised_email(email))
    wait = domain.sign_in_wait(ports.store.sign_in_failures(key), ports.clock.now())
    if wait:
        auditing.record(ports, ctx, "sign_in", "account", "-", "throttled")
        raise Throttled(wait)
    account = ports.store.account_by_email(email) if email else None
    if tpool.execute(auth.verify_password, account and account["password_hash"], password) and account:
        ports.store.clear_sign_in_failures(key)
        auditing.record(ports, ctx, "sign_in", "account", account["_id"], "allowed", account=account)
        return account
    ports.store.add_sign_in_failure(key, ports.clock.now())
    auditing.record(ports, ctx, "sign_in", "account", account["_id"] if account else "-", "failed")
    return None


def start_session(ports: Ports, ctx: Context, account: Document) -> str:
    """A new session for the account; the cookie goes on the response. Returns its CSRF token."""
    session_id, csrf = auth.new_secret(), auth.new_secret()
    ports.store.add_session(auth.digest(session_id), account["_id"], csrf)
    options = {"httponly": True, "samesite": "Lax", "secure": ports.secure_cookies, "max_age": SESSION_SECONDS}
    ctx.set_cookies.append((SESSION_COOKIE, session_id, options))
    return csrf


def end_session(ports: Ports, ctx: Context) -> None:
    if ctx.session:
        ports.store.drop_session(ctx.session["_id"])
        auditing.record(ports, ctx, "sign_out", "account", ctx.session["account_id"], "allowed")
    ctx.set_cookies.append((SESSION_COOKIE, "", {"expires": 0, "httponly": True, "samesite": "Lax"}))


@route(
    "POST",
    "/api/session",
    roles=EVERYONE,
    rate_limited=True,
    body=LoginInput,
    response=SessionOutput,
    tag="accounts",
    example={"email": "staff@example.no", "password": "correct horse battery"},
    summary="Sign in: sets the session cookie and returns the CSRF token for later changes.",
)
def login(ports: Ports, ctx: Context) -> Response:
    try:
        account = signed_in(ports, ctx, ctx.body["email"], ctx.body["password"])
    except Throttled as throttled:
        return error_response(
            429,
            "rate_limited",
            f"Too many failed sign-ins for this address; try again in {throttled.seconds} seconds.",
            headers={"Retry-After": str(throttled.seconds)},
        )
    if account is None:
        return error_response(401, "unauthorised", "Wrong e-mail address or password.")
    return json_response({"account": AccountOutput().dump(account), "csrf_token": start_session(ports, ctx, account)})


@route("DELETE", "/api/session", roles=SIGNED_IN, tag="accounts", summary="Sign out.")
def logout(ports: Ports, ctx: Context) -> Response:
    end_session(ports, ctx)
    return json_response({"signed_out": True})


@route("GET", "/login", roles=EVERYONE, kind="page")
def login_form(ports: Ports, ctx: Context) -> Response:
    return render(ctx, "login.html", next=domain.safe_next(ctx.request.args.get("next")), error=None)


@route("POST", "/login", roles=EVERYONE, kind="page", rate_limited=True)
def login_submit(ports: Ports, ctx: Context) -> Response:
    form = ctx.request.form
    try:
        account = signed_in(ports, ctx, form.get("email", ""), form.get("password", ""))
    except Throttled as throttled:
        response = render(
            ctx,
            "login.html",
            status=429,
            next=domain.safe_next(form.get("next")),
            error="login_throttled",
            retry_minutes=max(1, -(-throttled.seconds // 60)),
            email=form.get("email", ""),
        )
        response.headers["Retry-After"] = str(throttled.seconds)
        return response
    if account is None:
        return render(
            ctx,
            "login.html",
            status=401,
            next=domain.safe_next(form.get("next")),
            error="login_failed",
            email=form.get("email", ""),
        )
    start_session(ports, ctx, account)
    return redirect(domain.safe_next(form.get("next")) or domain.landing(account), code=303)


@route("POST", "/logout", roles=EVERYONE, kind="page")
def logout_submit(ports: Ports, ctx: Context) -> Response:
    end_session(ports, ctx)
    return redirect("/", code=303)
