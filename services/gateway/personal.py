"""The personal page's session. A person's link (`/me?t=…`, opened by registration.open_link) is
exchanged once for the cookie flokk_me, which then stands for that one registration: for 30 minutes
without a request and 8 hours at most. Only the SHA-256 of the cookie's value is stored, in the
gateway's own store, with the registration id and the session's CSRF token. The token of the link
is never stored and never logged (services/gateway/web.py keeps query strings out of the access log)."""

from typing import Any

from werkzeug.wrappers import Request

from . import auth, domain
from .context import Context
from .ports import Document, Ports

PERSONAL_COOKIE = "flokk_me"
COOKIE_PATH = "/me"  # the cookie goes to the personal pages and nowhere else
# The answers of the personal pages stay out of caches, and the link's token out of Referer headers.
PRIVATE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _cookie_options(ports: Ports, **extra: Any) -> dict[str, Any]:
    return {"httponly": True, "samesite": "Strict", "secure": ports.secure_cookies, "path": COOKIE_PATH, **extra}


def start(ports: Ports, ctx: Context, registration_id: str) -> None:
    """A new personal session for the registration a link opened; the cookie goes on the response."""
    session_id = auth.new_secret()
    ports.store.add_personal_session(auth.digest(session_id), registration_id, auth.new_secret(), ports.clock.now())
    max_age = int(domain.PERSONAL_SESSION_LONGEST.total_seconds())
    ctx.set_cookies.append((PERSONAL_COOKIE, session_id, _cookie_options(ports, max_age=max_age)))


def find(ports: Ports, request: Request) -> Document | None:
    """The live session the request's cookie stands for (and it counts as activity), else None."""
    session_id = request.cookies.get(PERSONAL_COOKIE)
    if not session_id:
        return None
    session_digest = auth.digest(session_id)
    session = ports.store.personal_session(session_digest)
    now = ports.clock.now()
    if session is None or not domain.personal_session_alive(session["started_at"], session["seen_at"], now):
        return None
    ports.store.touch_personal_session(session_digest, now)
    return session


def forget(ports: Ports, ctx: Context, everywhere: bool = False) -> None:
    """End this session (or, `everywhere`, every session of the person) and clear the cookie."""
    if ctx.participant and everywhere:
        ports.store.drop_personal_sessions(ctx.participant)
    elif ctx.session:
        ports.store.drop_personal_session(ctx.session["_id"])
    ctx.set_cookies.append((PERSONAL_COOKIE, "", _cookie_options(ports, expires=0)))
