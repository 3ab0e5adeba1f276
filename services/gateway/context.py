"""What a use case knows of the HTTP request it answers: the request, the caller, the validated
input, the page's language, and the cookies to set. The pipeline fills it; a use case returns a
Response, or raises `Refused` to answer with another one."""

import uuid
from typing import Any

from werkzeug.wrappers import Request, Response

from services.common.errors import NotFound

from . import auth
from .domain import client_address
from .i18n import choose_language, translator
from .routes import Route

SESSION_COOKIE = "flokk_session"
ANON_CSRF_COOKIE = "flokk_csrf"
PURPOSE_HEADER = "X-Flokk-Purpose"


class Refused(Exception):
    """Stop the pipeline with this response (and, for audited routes, an audit entry)."""

    def __init__(self, response: Response, outcome: str | None = None) -> None:
        super().__init__(outcome)
        self.response, self.outcome = response, outcome


class Context:
    def __init__(self, request: Request, route: Route) -> None:
        self.request, self.route = request, route
        self.account: dict[str, Any] | None = None
        self.session: dict[str, Any] | None = None
        self.via: str | None = None  # "token", "session" or "personal" once the caller is known
        self.participant: str | None = None  # on a personal page: the registration the cookie stands for
        self.body: dict[str, Any] = {}
        self.query: dict[str, Any] = {}
        self.raw_body: Any = None
        self.lang = choose_language(request)
        self.t = translator(self.lang)
        self.audit_subject: str | None = None
        self.named: list[str] = []  # registrations whose first name the page shows: one audit entry each
        self.purpose: str | None = None  # a page may set the "why" the person chose
        self.request_id = uuid.uuid4().hex  # travels in every actor this request signs
        self.set_cookies: list[tuple[str, str, dict[str, Any]]] = []

    @property
    def actor(self) -> dict[str, Any]:
        if self.participant:
            return auth.participant_actor(self.participant, self.request_id)
        return self.actor_of(self.account)

    def actor_of(self, account: dict[str, Any] | None) -> dict[str, Any]:
        """The actor of `account` in this request: the purpose the person chose on the page, else the
        route's (never a request header: the pipeline refuses X-Flokk-Purpose)."""
        purpose = self.purpose or self.route.purpose or self.route.name.replace("_", " ")
        return auth.actor_for(account, purpose[:200], self.request_id)

    def client_address(self, trusted_proxies: tuple[str, ...]) -> str:
        """The client's address: X-Forwarded-For is believed only from FLOKK_TRUSTED_PROXIES."""
        forwarded = self.request.headers.get("X-Forwarded-For", "")
        return client_address(self.request.remote_addr or "unknown", forwarded, trusted_proxies)

    @property
    def person(self) -> str:
        """The registration a personal page acts for. The pipeline runs no such page without one;
        were it to, the answer would be the page of every bad link (a NotFound there)."""
        if self.participant is None:
            raise NotFound("link")
        return self.participant

    @property
    def role(self) -> str:
        if self.participant:
            return auth.PARTICIPANT
        return self.account["role"] if self.account else auth.PUBLIC

    def csrf_token(self) -> str:
        """The token a form must send back: the session's, or the anonymous double-submit cookie's."""
        return self.session["csrf"] if self.session else self.anonymous_csrf_token()

    def anonymous_csrf_token(self) -> str:
        """The double-submit token of the forms anyone may send (a new personal link, say)."""
        token = self.request.cookies.get(ANON_CSRF_COOKIE)
        if not token:
            token = auth.new_secret()
            self.set_cookies.append((ANON_CSRF_COOKIE, token, {"httponly": True, "samesite": "Strict"}))
            self.request.cookies = {**self.request.cookies, ANON_CSRF_COOKIE: token}  # type: ignore[assignment]
        return token
