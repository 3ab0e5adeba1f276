"""Accounts, API tokens and the audit log: created and read by the national office (and the
command line, services/gateway/accounts.py); a referrer's address, for notification only."""

import uuid
from typing import Any

from marshmallow import ValidationError
from werkzeug.wrappers import Response

from services.common.errors import InvalidInput, NotFound

from .. import auth
from ..context import Context
from ..ports import Document, Ports
from ..responses import json_response
from ..routes import ADMIN, route
from ..schemas import AccountInput, AccountOutput, AuditEntry, AuditQuery, TokenInput, TokenOutput

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


def issue_token(ports: Ports, account_id: str, label: str) -> str:
    """A new API token for the account: returned once, stored only as its digest."""
    if ports.store.account(account_id) is None:
        raise NotFound(f"no account {account_id}")
    token = auth.new_secret(auth.TOKEN_PREFIX)
    ports.store.add_token(auth.digest(token), account_id, label)
    return token


def referrer_contact(ports: Ports, referrer_id: Any) -> dict[str, str]:
    """Where notification reaches a referrer (docs/rpc.md): the referrer account's e-mail and name."""
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
    return json_response(AccountOutput().dump(account), 201)


@route(
    "POST",
    "/api/tokens",
    roles=ADMIN,
    body=TokenInput,
    response=TokenOutput,
    tag="accounts",
    example={"account_id": "acc-1", "label": "intake system"},
    status=201,
    summary="Issue an API token for an account; shown once, stored only as a digest.",
)
def create_token(ports: Ports, ctx: Context) -> Response:
    return json_response({"token": issue_token(ports, ctx.body["account_id"], ctx.body["label"])}, 201)


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
