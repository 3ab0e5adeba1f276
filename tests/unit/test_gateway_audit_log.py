"""The audit log is append-only for the gateway (issue 17, item 4): the gateway's store inserts
entries through the audit client and does nothing else with it, reads them through its ordinary
client and does nothing else with `audit` there; the database roles that make it so in production
(deploy/base/infra/mongodb.yaml) are exactly those of services/gateway/audit_log.py."""

import re
from pathlib import Path

import pytest
import yaml

from services.common.store import LEDGER, LEGACY_OUTBOX
from services.gateway import audit_log
from services.gateway.store import GatewayStorage

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "flokk_gateway"
ENTRY = {"at": "2026-11-28T09:00:00Z", "subject_id": "reg-1", "route": "registration", "outcome": "allowed"}


class Refused(AssertionError):
    pass


class OnlyCollection:
    """A collection that allows the named pymongo methods and refuses every other one."""

    def __init__(self, documents, allowed):
        self.documents, self.allowed = documents, set(allowed)

    def __getattr__(self, name):
        if name not in self.allowed:
            raise Refused(f"{name} on the audit log")
        return getattr(self, f"_{name}")

    def _insert_one(self, document):
        self.documents.append(dict(document))

    def _find(self, query, projection=None):
        found = [d for d in self.documents if all(d.get(k) == v for k, v in query.items())]
        return Cursor(found)


class Cursor(list):
    def sort(self, *_args):
        return self

    def limit(self, count):
        return Cursor(self[:count])


class Database:
    """The ordinary client's database: `audit` is find-only there; no other collection is touched."""

    def __init__(self, documents):
        self.audit = OnlyCollection(documents, {"find"})

    def __getitem__(self, name):
        assert name == audit_log.AUDIT
        return self.audit


@pytest.fixture
def storage():
    documents = []
    provider = type(
        "Provider",
        (),
        {"db": Database(documents), "publisher": None, "audit_log": OnlyCollection(documents, {"insert_one"})},
    )()
    return GatewayStorage(provider)


def test_the_gateway_only_inserts_audit_entries_and_reads_them_through_its_ordinary_client(storage):
    storage.audit(ENTRY)
    storage.audit({**ENTRY, "subject_id": "reg-2"})
    assert [e["subject_id"] for e in storage.audit_entries()] == ["reg-1", "reg-2"]
    assert [e["subject_id"] for e in storage.audit_entries("reg-2")] == ["reg-2"]


def test_the_fakes_refuse_what_the_database_users_may_not_do(storage):
    """The check bites: a rewrite through either client fails."""
    with pytest.raises(Refused):
        storage.audit_log.update_many({}, {"$set": {"outcome": "allowed"}})
    with pytest.raises(Refused):
        storage.audit_log.find({})
    with pytest.raises(Refused):
        storage.db[audit_log.AUDIT].delete_many({})
    with pytest.raises(Refused):
        storage.db[audit_log.AUDIT].create_index("at", expireAfterSeconds=0)


def roles_by_name(roles):
    return {role["role"]: role for role in roles}


def privileges_on(role, collection):
    return [p["actions"] for p in role["privileges"] if p["resource"] == {"db": DATABASE, "collection": collection}]


def test_the_audit_user_may_insert_into_the_audit_log_and_nothing_else():
    roles = roles_by_name(audit_log.roles(DATABASE))
    assert roles[audit_log.APPEND_ROLE]["privileges"] == [
        {"resource": {"db": DATABASE, "collection": "audit"}, "actions": ["insert"]}
    ]
    assert roles[audit_log.APPEND_ROLE]["roles"] == []


def test_the_gateways_ordinary_user_may_only_read_the_audit_log():
    data = roles_by_name(audit_log.roles(DATABASE))[audit_log.DATA_ROLE]
    assert privileges_on(data, "audit") == [["find"]]
    assert data["roles"] == []  # no built-in role (readWrite would give back update and remove)
    assert all(p["resource"]["db"] == DATABASE and p["resource"]["collection"] for p in data["privileges"])
    assert {p["resource"]["collection"] for p in data["privileges"]} == {*audit_log.DATA_COLLECTIONS, "audit"}


def test_only_the_index_job_may_make_the_audit_logs_indexes():
    """A TTL index expires documents: neither of the gateway's users may make one on the log."""
    roles = roles_by_name(audit_log.roles(DATABASE))
    makers = [name for name, role in roles.items() if "createIndex" in sum(privileges_on(role, "audit"), [])]
    assert makers == [audit_log.INDEXES_ROLE]
    assert roles[audit_log.INDEXES_ROLE]["privileges"] == [
        {"resource": {"db": DATABASE, "collection": "audit"}, "actions": ["createIndex", "listIndexes"]}
    ]


def test_the_ordinary_role_covers_every_collection_the_gateways_store_names():
    """A collection added to store.py without a privilege would fail only in production."""
    source = (ROOT / "services" / "gateway" / "store.py").read_text()
    named = set(re.findall(r"\bdb\.([a-z_]+)\.", source)) | {LEDGER, LEGACY_OUTBOX}
    assert named - {"audit"} <= set(audit_log.DATA_COLLECTIONS)


def test_the_deployed_roles_and_users_are_those_of_the_code():
    docs = list(yaml.safe_load_all((ROOT / "deploy" / "base" / "infra" / "mongodb.yaml").read_text()))
    spec = docs[0]["spec"]
    assert spec["security"]["roles"] == audit_log.roles(DATABASE)
    users = {user["name"]: user["roles"] for user in spec["users"]}
    assert users["gateway"] == [{"name": audit_log.DATA_ROLE, "db": "admin"}]
    assert users["gateway-audit"] == [{"name": audit_log.APPEND_ROLE, "db": "admin"}]
    assert users["gateway-audit-indexes"] == [{"name": audit_log.INDEXES_ROLE, "db": "admin"}]


def test_the_gateway_pod_gets_the_audit_users_credentials_and_never_the_index_makers():
    gateway = (ROOT / "deploy" / "base" / "services" / "gateway.yaml").read_text()
    assert "flokk-mongodb-admin-gateway-audit\n" in gateway
    assert "gateway-audit-indexes" not in gateway
    job = (ROOT / "deploy" / "base" / "audit-indexes-job.yaml").read_text()
    assert "flokk-mongodb-admin-gateway-audit-indexes" in job and "services.gateway.audit_log" in job
