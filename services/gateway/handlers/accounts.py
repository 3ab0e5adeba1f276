"""Accounts, API tokens and the audit log: created and read by the national office (and the
command line, services/gateway/accounts.py); a referrer's address, for notification only."""

import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from marshmallow import ValidationError
from werkzeug.wrappers import Response

from services.common.errors import Forbidden, InvalidInput, NotFound

from .. import auditing, auth
from ..context import Context
from ..ports import Document, Ports
from ..responses import json_response
from ..routes import ADMIN, route
from ..schemas import (
    AccountInput,
    AccountOutput,
    AuditEntry,
    AuditQuery,
    TokenInput,
    TokenOutput,
    TokenRecord,
)

PUBLIC_FIELDS = ("_id", "email", "name", "role", "contact_point_ids", "referrer_id")


def open_account(ports: Ports, payload: dict[str, Any]) -> Document:
    """Validate and store a new account; returns it without its password hash."""
    try:
        fields = AccountInput().load(payload)
    except ValidationError as exc:
        raise InvalidInput(exc.messages) from None
    account = {
        "_id": f"acc-{uuid.uuid4().hex[:16]}",
        "email": fields["email"].strip().lower(),
        "name": fields["name"],
        "role": fields["role"],
        "contact_point_ids": fields.get("contact_point_ids") or [],
        "referrer_id": fields.get("referrer_id"),
        "password_hash": auth.hash_password(fields["password"]),
        "active": True,
        "created_at": ports.clock.now(),
    }
    if account["role"] == "referrer" and not account["referrer_id"]:
        account["referrer_id"] = f"ref-{uuid.uuid4().hex[:12]}"
    ports.store.add_account(account)
    return public_account(account)


def public_account(account: Document) -> Document:
    return {key: account.get(key) for key in PUBLIC_FIELDS}


#: How long an API token lives unless its issuer says otherwise (1 to 365 days).
TOKEN_DAYS = 90


def issue_token(ports: Ports, account_id: str, label: str, days: int = TOKEN_DAYS) -> tuple[str, str]:
    """A new API token for the account, living `days`: returned once (with its id, which names it
    without being it), stored only as its digest."""
    if ports.store.account(account_id) is None:
        raise NotFound(f"no account {account_id}")
    token = auth.new_secret(auth.TOKEN_PREFIX)
    token_id = ports.store.add_token(auth.digest(token), account_id, label, ports.clock.now() + timedelta(days=days))
    return token, token_id


def referrer_contact(ports: Ports, referrer_id: Any, actor: Mapping[str, Any]) -> dict[str, str]:
    """Where notification reaches a referrer (docs/rpc.md): the referrer account's e-mail and name,
    for notification's own identity only."""
    if actor.get("role") != "service" or actor.get("service") != "notification":
        raise Forbidden("only notification may read a referrer's address")
    account = ports.store.account_by_referrer_id(referrer_id) if isinstance(referrer_id, str) else None
    if account is None:
        raise NotFound(f"no referrer {referrer_id}")
    return {"email": account["email"], "name": account["name"]}


@route(
    "POST",
    "/api/accounts",
    roles=ADMIN,
    body=AccountInput,
    response=AccountOutput,
    tag="accounts",
    example={
        "email": "new.staff@example.no",
        "name": "Ny",
        "role": "contact_point_staff",
        "contact_point_ids": ["link-bergen"],
        "password": "a long enough passphrase",
    },
    status=201,
    summary="Create an account (national office only).",
)
def create_account(ports: Ports, ctx: Context) -> Response:
    account = open_account(ports, ctx.raw_body)
    auditing.record(ports, ctx, "create_account", "account", account["_id"], "allowed")
    return json_response(AccountOutput().dump(account), 201)


@route(
    "POST",
    "/api/tokens",
    roles=ADMIN,
    body=TokenInput,
    response=TokenOutput,
    tag="accounts",
    example={"account_id": "acc-1", "label": "intake system", "expires_in_days": 30},
    status=201,
    summary="Issue an API token for an account (1 to 365 days, 90 unless said); shown once, stored only as a digest.",
)
def create_token(ports: Ports, ctx: Context) -> Response:
    account_id, days = ctx.body["account_id"], ctx.body.get("expires_in_days", TOKEN_DAYS)
    token, token_id = issue_token(ports, account_id, ctx.body["label"], days)
    auditing.record(ports, ctx, "create_token", "account", account_id, "allowed")
    return json_response({"token": token, "token_id": token_id}, 201)


@route(
    "GET",
    "/api/tokens",
    roles=ADMIN,
    response=TokenRecord,
    response_many=True,
    tag="accounts",
    summary="The API tokens that have not expired: id, label, account, created, expires, last used.",
)
def list_tokens(ports: Ports, ctx: Context) -> Response:
    return json_response(TokenRecord(many=True).dump(ports.store.tokens()))


@route(
    "DELETE",
    "/api/tokens/<token_id>",
    roles=ADMIN,
    response=TokenRecord,
    tag="accounts",
    path_example={"token_id": "tok-0123456789abcdef"},
    summary="Revoke an API token: it stops working at once.",
)
def revoke_token(ports: Ports, ctx: Context, token_id: str) -> Response:
    revoked = ports.store.revoke_token(token_id)
    if revoked is None:
        raise NotFound(f"no token {token_id}")
    auditing.record(ports, ctx, "revoke_token", "account", revoked["account_id"], "allowed")
    return json_response(TokenRecord().dump(revoked))


@route(
    "GET",
    "/api/audit",
    roles=ADMIN,
    query=AuditQuery,
    response=AuditEntry,
    response_many=True,
    tag="accounts",
    summary="Who read whose personal data, when and why (newest first).",
)
def audit_log(ports: Ports, ctx: Context) -> Response:
    return json_response(ports.store.audit_entries(ctx.query.get("subject_id")))
