"""Accounts and API tokens: the use cases, and a command line for operators, tests and the demo.

    python -m services.gateway.accounts create --email a@b.no --role contact_point_staff \
        --contact-point link-bergen --password '...'          (or FLOKK_PASSWORD in the environment)
        [--exists-ok]                                         (an existing account is left alone)
    python -m services.gateway.accounts token --email a@b.no --label "intake system"

The command line talks straight to the gateway's own database (MONGODB_URI, FLOKK_DB_PREFIX).
"""

import argparse
import sys
import uuid

from marshmallow import ValidationError

from services.common import clock
from services.common.errors import InvalidInput, NotFound
from services.common.settings import tool_value

from . import auth
from .schemas import AccountInput


def create_account(store, payload):
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
        "created_at": clock.now(),
    }
    if account["role"] == "referrer" and not account["referrer_id"]:
        account["referrer_id"] = f"ref-{uuid.uuid4().hex[:12]}"
    store.add_account(account)
    return public_account(account)


def referrer_contact(store, referrer_id):
    """Where notification reaches a referrer (docs/rpc.md): the referrer account's e-mail and name."""
    account = store.account_by_referrer_id(referrer_id) if isinstance(referrer_id, str) else None
    if account is None:
        raise NotFound(f"no referrer {referrer_id}")
    return {"email": account["email"], "name": account["name"]}


def issue_token(store, account_id, label):
    """A new API token for the account: returned once, stored only as its digest."""
    if store.account(account_id) is None:
        raise NotFound(f"no account {account_id}")
    token = auth.new_secret(auth.TOKEN_PREFIX)
    store.add_token(auth.digest(token), account_id, label)
    return token


def public_account(account):
    return {key: account.get(key) for key in ("_id", "email", "name", "role", "contact_point_ids", "referrer_id")}


class _DirectStore:
    """GatewayStorage over a plain client, for the command line (no nameko container)."""

    def __new__(cls):
        from pymongo import MongoClient

        from services.common.config import db_prefix_from_env, mongodb_uri_from_env

        from .store import GatewayStorage

        client = MongoClient(mongodb_uri_from_env(), tz_aware=True)
        db = client[db_prefix_from_env() + "gateway"]
        GatewayStorage.ensure_indexes(db)
        provider = type("Provider", (), {"db": db, "publisher": None})()
        return GatewayStorage(provider)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m services.gateway.accounts")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create an account")
    create.add_argument("--email", required=True)
    create.add_argument("--name", default="")
    create.add_argument("--role", required=True, choices=auth.ROLES)
    create.add_argument("--contact-point", action="append", default=[], dest="contact_point_ids")
    create.add_argument("--referrer-id")
    create.add_argument("--password", default=tool_value("FLOKK_PASSWORD"))
    create.add_argument("--token", action="store_true", help="also issue an API token and print it")
    create.add_argument(
        "--exists-ok", action="store_true", help="an account with this e-mail address is no error (it is left as it is)"
    )
    token = commands.add_parser("token", help="issue an API token for an account")
    token.add_argument("--email", required=True)
    token.add_argument("--label", default="api")
    args = parser.parse_args(argv)
    store = _DirectStore()
    try:
        if args.command == "create":
            existing = store.account_by_email(args.email) if args.exists_ok else None
            if existing is not None:
                print(f"exists {existing['_id']} {existing['email']} ({existing['role']})")
                return 0
            payload = {
                "email": args.email,
                "name": args.name or args.email.split("@")[0],
                "role": args.role,
                "contact_point_ids": args.contact_point_ids,
                "password": args.password or "",
            }
            if args.referrer_id:
                payload["referrer_id"] = args.referrer_id
            account = create_account(store, payload)
            print(f"created {account['_id']} {account['email']} ({account['role']})")
            if args.token:
                print(issue_token(store, account["_id"], "cli"))
        else:
            account = store.account_by_email(args.email)
            if account is None:
                raise NotFound(f"no account for {args.email}")
            print(issue_token(store, account["_id"], args.label))
    except (InvalidInput, NotFound) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # Conflict and store errors: name the kind, never the data
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
