"""The national office's pages for API tokens (issue 17), beside the API of handlers/accounts.py:
the tokens that live (label, whose, created, expires, last used), a new one for an account named by
its e-mail address, living 1–365 days (90 unless said) and shown once, and revoking one after a
confirming step (confirm.html). Each change is audited as the API's is."""

from typing import Any

from werkzeug.datastructures import MultiDict
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from services.common.errors import NotFound

from .. import auditing
from ..context import Context
from ..pages import render
from ..ports import Ports
from ..routes import ADMIN, route
from ..schemas import TokenRecord
from .accounts import TOKEN_DAYS, issue_token

PAGES = "/national/tokens"
PAGE: dict[str, Any] = dict(roles=ADMIN, kind="page")
ONE_TOKEN: dict[str, Any] = dict(PAGE, path_example={"token_id": "tok-0123456789abcdef"})
LABEL_LONGEST = 100  # as the API's TokenInput
DAYS = (1, 365)


def listed(ports: Ports) -> list[dict[str, Any]]:
    """The living tokens, newest first, each with its holder's e-mail address (never an id on the page)."""
    tokens = TokenRecord(many=True).dump(ports.store.tokens())
    for token in tokens:
        holder = ports.store.account(token["account_id"])
        token["holder"] = holder["email"] if holder else None
    return sorted(tokens, key=lambda token: token["created_at"], reverse=True)


def token_form(form: MultiDict) -> tuple[dict[str, Any], dict[str, str]]:
    """(e-mail, label, days) from the form, and errors by field."""
    fields = {"email": form.get("email", "").strip(), "label": form.get("label", "").strip()}
    errors = {}
    if not fields["email"]:
        errors["email"] = "err_token_email"
    if not 1 <= len(fields["label"]) <= LABEL_LONGEST:
        errors["label"] = "err_token_label"
    days = form.get("expires_in_days", "").strip()
    low, high = DAYS
    if not days:
        fields["days"] = TOKEN_DAYS
    elif days.isdigit() and low <= int(days) <= high:
        fields["days"] = int(days)
    else:
        errors["expires_in_days"] = "err_token_days"
    return fields, errors


def _page(ports: Ports, ctx: Context, status: int = 200, **values: Any) -> Response:
    values = {"form": {}, "errors": {}, "created": None, "done": ctx.request.args.get("done"), **values}
    values.setdefault("tokens", listed(ports))
    return render(ctx, "national_tokens.html", status=status, days=DAYS, **values)


@route("GET", PAGES, summary="the API tokens: list, create, revoke", **PAGE)
def tokens_page(ports: Ports, ctx: Context) -> Response:
    return _page(ports, ctx)


@route("POST", PAGES, **PAGE)
def token_create(ports: Ports, ctx: Context) -> Response:
    """The new token is on this answer alone (never stored as it is, never cached)."""
    fields, errors = token_form(ctx.request.form)
    account = None if "email" in errors else ports.store.account_by_email(fields["email"])
    if account is None:
        errors.setdefault("email", "err_token_no_account")
    if errors or account is None:
        return _page(ports, ctx, 400, form=ctx.request.form.to_dict(), errors=errors)
    token, token_id = issue_token(ports, account["_id"], fields["label"], fields["days"])
    auditing.record(ports, ctx, "create_token", "account", account["_id"], "allowed")
    tokens = listed(ports)
    created = {"token": token, "label": fields["label"], "expires_at": _one(tokens, token_id)["expires_at"]}
    response = _page(ports, ctx, 201, tokens=tokens, created=created)
    response.headers["Cache-Control"] = "no-store"
    return response


def _one(tokens: list[dict[str, Any]], token_id: str) -> dict[str, Any]:
    found = next((token for token in tokens if token["token_id"] == token_id), None)
    if found is None:
        raise NotFound(f"no token {token_id}")
    return found


@route("GET", f"{PAGES}/<token_id>/revoke", **ONE_TOKEN)
def token_revoke_confirm(ports: Ports, ctx: Context, token_id: str) -> Response:
    """What revoking means, and a way back (the shared confirming step, confirm.html)."""
    token = _one(listed(ports), token_id)
    return render(
        ctx,
        "confirm.html",
        action="revoke_token",
        target=f"{PAGES}/{token_id}/revoke",
        back=PAGES,
        subject_ref=token["label"],
    )


@route("POST", f"{PAGES}/<token_id>/revoke", **ONE_TOKEN)
def token_revoke(ports: Ports, ctx: Context, token_id: str) -> Response:
    """It stops working at once, for whatever used it."""
    revoked = ports.store.revoke_token(token_id)
    if revoked is None:
        raise NotFound(f"no token {token_id}")
    auditing.record(ports, ctx, "revoke_token", "account", revoked["account_id"], "allowed")
    return redirect(f"{PAGES}?done=revoked", code=303)
