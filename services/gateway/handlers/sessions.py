"""Signing in and out, on the pages and through the API. A session lives in the gateway's store
(only its digest); its cookie is HttpOnly, and its CSRF token guards every change made with it."""

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from .. import auth, domain
from ..context import SESSION_COOKIE, Context
from ..pages import render
from ..ports import Document, Ports
from ..responses import error_response, json_response
from ..routes import EVERYONE, SIGNED_IN, route
from ..schemas import AccountOutput, LoginInput, SessionOutput

SESSION_SECONDS = 8 * 3600


def signed_in(ports: Ports, email: str, password: str) -> Document | None:
    """The account with this e-mail address and password, else None (in the same time either way)."""
    account = ports.store.account_by_email(email) if email else None
    return account if auth.verify_password(account and account["password_hash"], password) else None


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
    account = signed_in(ports, ctx.body["email"], ctx.body["password"])
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
    account = signed_in(ports, form.get("email", ""), form.get("password", ""))
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
