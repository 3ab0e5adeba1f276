"""The audit log is append-only for the gateway (issue 17; docs/design.md §5). In production three
database users share the gateway's database, each with a role of its own (deploy/base/infra/mongodb.yaml,
the MongoDB operator's `spec.security.roles`, compared with `roles()` by a unit test):

- `gateway` (MONGODB_URI): every collection of the gateway's own, and on `audit` only `find` (the
  audit pages read through it): it can neither change nor delete an entry, nor make an index that
  would (a TTL index expires documents, so not even `createIndex`).
- `gateway-audit` (GATEWAY_AUDIT_MONGODB_URI): `insert` on `audit`, nothing else. The gateway writes
  every entry through this client and no other.
- `gateway-audit-indexes`: `createIndex` and `listIndexes` on `audit`, for the Job that makes the
  log's indexes, the two-year TTL among them (`python -m services.gateway.audit_log`,
  deploy/base/audit-indexes-job.yaml); its Secret is mounted in no gateway pod.

Locally (test and demo) GATEWAY_AUDIT_MONGODB_URI is unset: one client does all, and the gateway
makes the indexes itself. The development store (SecantusDB) does have users and roles, but
enforces a role's privileges per database, not per collection (insert on `audit` lets a user insert
into any collection of the database), so the split is tested there only as far as it goes
(docs/operations.md, "The audit log's database users").
"""

import sys
from datetime import timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, MongoClient

from services.common.config import DB_PREFIX_KEY, MONGODB_CA_FILE_KEY, MONGODB_URI_KEY, database_name
from services.common.settings import tool_value
from services.common.store import LEDGER, LEGACY_OUTBOX, mongodb_tls

AUDIT = "audit"
#: The audit log is kept two years (design §5).
AUDIT_KEPT = timedelta(days=2 * 366)
#: Every other collection of the gateway's database (store.py; the ledger and the legacy outbox
#: that every store keeps: services/common/store.py). A unit test reads store.py for the names.
DATA_COLLECTIONS = ("accounts", "sessions", "tokens", "login_failures", "personal_sessions", LEDGER, LEGACY_OUTBOX)
DATA_ACTIONS = ("find", "insert", "update", "remove", "createCollection", "createIndex", "listIndexes")
DATA_ROLE, APPEND_ROLE, INDEXES_ROLE = "flokk-gateway-data", "flokk-gateway-audit-append", "flokk-gateway-audit-indexes"
#: The roles are defined in the `admin` database, as the operator's users are.
ROLES_DB = "admin"


def ensure_audit_indexes(db: Any) -> None:
    """By subject and time (the audit pages), and the two-year TTL."""
    db[AUDIT].create_index([("subject_id", ASCENDING), ("at", DESCENDING)])
    db[AUDIT].create_index("at", expireAfterSeconds=int(AUDIT_KEPT.total_seconds()))


def _privilege(database: str, collection: str, actions: tuple[str, ...]) -> dict[str, Any]:
    return {"resource": {"db": database, "collection": collection}, "actions": list(actions)}


def roles(database: str) -> list[dict[str, Any]]:
    """The three roles, as MongoDB's `createRole` and the operator's `spec.security.roles` take them."""
    data = [_privilege(database, name, DATA_ACTIONS) for name in DATA_COLLECTIONS]
    return [
        {"role": DATA_ROLE, "db": ROLES_DB, "privileges": [*data, _privilege(database, AUDIT, ("find",))], "roles": []},
        {"role": APPEND_ROLE, "db": ROLES_DB, "privileges": [_privilege(database, AUDIT, ("insert",))], "roles": []},
        {
            "role": INDEXES_ROLE,
            "db": ROLES_DB,
            "privileges": [_privilege(database, AUDIT, ("createIndex", "listIndexes"))],
            "roles": [],
        },
    ]


def main() -> int:
    """The Job: make the audit log's indexes as the `gateway-audit-indexes` user (MONGODB_URI)."""
    client: MongoClient = MongoClient(
        tool_value(MONGODB_URI_KEY),
        serverSelectionTimeoutMS=10_000,
        **mongodb_tls(tool_value(MONGODB_CA_FILE_KEY)),
    )
    with client:
        ensure_audit_indexes(client[database_name(tool_value(DB_PREFIX_KEY) or "", "gateway")])
    print("audit log indexes present")
    return 0


if __name__ == "__main__":
    sys.exit(main())
