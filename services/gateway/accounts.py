"""The command line for accounts and API tokens, for operators, tests and the demo (the use cases
are in handlers/accounts.py):

    python -m services.gateway.accounts create --email a@b.no --role contact_point_staff \
        --contact-point link-bergen --password '...'          (or FLOKK_PASSWORD in the environment)
        [--exists-ok]                                         (an existing account is left alone)
    python -m services.gateway.accounts token --email a@b.no --label "intake system"

The command line talks straight to the gateway's own database (MONGODB_URI, FLOKK_DB_PREFIX).
"""

import argparse
import sys
from typing import Any

from services.common import clock
from services.common.errors import InvalidInput, NotFound
from services.common.settings import tool_value

from . import auth
from .handlers.accounts import issue_token, open_account
from .ports import Ports
from .ratelimit import Limiter
from .remote import Unreachable


def command_line_ports() -> Ports:
    """GatewayStorage over a plain client (no nameko container); no other service is reached."""
    from pymongo import MongoClient
    from pymongo.collection import Collection

    from services.common.config import db_prefix_from_env, mongodb_uri_from_env

    from .audit_log import AUDIT, ensure_audit_indexes
    from .settings import audit_uri_from_env
    from .store import GatewayStorage

    client: MongoClient[dict[str, Any]] = MongoClient(mongodb_uri_from_env(), tz_aware=True)
    db = client[db_prefix_from_env() + "gateway"]
    GatewayStorage.ensure_indexes(db)
    audit_uri = audit_uri_from_env()  # as the service writes the audit log (store.GatewayStore)
    audit_log: Collection[dict[str, Any]]
    if audit_uri:
        audit_log = MongoClient(audit_uri, tz_aware=True)[db.name][AUDIT]
    else:
        ensure_audit_indexes(db)
        audit_log = db[AUDIT]
    provider = type("Provider", (), {"db": db, "publisher": None, "audit_log": audit_log})()
    services = Unreachable()
    return Ports(
        store=GatewayStorage(provider),
        registration=services,
        matching=services,
        directory=services,
        notification=services,
        clock=clock.CURRENT,
        limiter=Limiter(1, 1),
    )


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
    ports = command_line_ports()
    store = ports.store
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
            account = open_account(ports, payload)
            print(f"created {account['_id']} {account['email']} ({account['role']})")
            if args.token:
                print(issue_token(ports, account["_id"], "cli")[0])
        else:
            account = store.account_by_email(args.email)
            if account is None:
                raise NotFound(f"no account for {args.email}")
            print(issue_token(ports, account["_id"], args.label)[0])
    except (InvalidInput, NotFound) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # Conflict and store errors: name the kind, never the data
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
