"""The audit log's database users (issue 17, item 4) on a real store that authenticates: a
SecantusDB of the test's own, started with --auth, holding the roles of services/gateway/audit_log.py.
The gateway's store writes entries as `gateway-audit` and reads them as `gateway`; `gateway-audit`
may not read, change, delete or index them; the index Job's user makes the indexes.

SecantusDB enforces a role's privileges per database, not per collection (a grant on one collection
of a database reaches every collection of it), so what `gateway` may not do on `audit` (it has
update and remove on its other collections) is for real MongoDB alone: test_gateway_audit_log.py
checks the role, docs/operations.md says so."""

import socket
import subprocess
import urllib.parse
from pathlib import Path

import pytest
from nameko.testing.services import entrypoint_hook
from pymongo import MongoClient
from pymongo.errors import OperationFailure

from services.common.rpc import rpc
from services.gateway import audit_log
from services.gateway.store import GatewayStore
from tests.conftest import MONGODB_URI
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
STORE = ROOT / ".tools" / "store-venv" / "bin" / "secantusd-py"
#: Next to the slot's own store (scripts/env.sh: its ports are base + 1 … base + 20).
PORT = (urllib.parse.urlsplit(MONGODB_URI).port or 27017) + 90
PASSWORDS = {"root": "root-pw", "gateway": "gateway-pw", "gateway-audit": "audit-pw", "gateway-audit-indexes": "ix-pw"}
USER_ROLES = {
    "gateway": audit_log.DATA_ROLE,
    "gateway-audit": audit_log.APPEND_ROLE,
    "gateway-audit-indexes": audit_log.INDEXES_ROLE,
}
ENTRY = {"subject_id": "reg-1", "route": "registration", "outcome": "allowed"}


def uri(user=None):
    credentials = f"{user}:{PASSWORDS[user]}@" if user else ""
    return f"mongodb://{credentials}127.0.0.1:{PORT}/?retryWrites=false&authSource=admin"


def listening():
    try:
        socket.create_connection(("127.0.0.1", PORT), 1).close()
        return True
    except OSError:
        return False


def run_store(data, *flags):
    process = subprocess.Popen(
        [str(STORE), "--host", "127.0.0.1", "--port", str(PORT), "--storage-path", str(data), *flags],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until(listening, timeout=30, what=f"the test's store on {PORT}")
    return process


def stop(process):
    process.terminate()
    process.wait(timeout=30)
    wait_until(lambda: not listening(), timeout=30, what="the test's store to stop")


@pytest.fixture(scope="module")
def database():
    """The users made without auth (as SecantusDB wants them provisioned), then the store restarted
    with --auth. Yields the gateway's database name."""
    name = "flokk_gateway"
    data = Path(subprocess.check_output(["mktemp", "-d"], text=True).strip())
    process = run_store(data)
    try:
        with MongoClient(uri(), serverSelectionTimeoutMS=10_000) as client:
            client.admin.command("createUser", "root", pwd=PASSWORDS["root"], roles=[{"role": "root", "db": "admin"}])
            for role in audit_log.roles(name):
                client.admin.command("createRole", role["role"], privileges=role["privileges"], roles=role["roles"])
            for user, role in USER_ROLES.items():
                client.admin.command("createUser", user, pwd=PASSWORDS[user], roles=[{"role": role, "db": "admin"}])
    finally:
        stop(process)
    process = run_store(data, "--auth")
    yield name
    stop(process)
    subprocess.run(["rm", "-rf", str(data)], check=True)


class GatewayStoreOnly:
    """The gateway's store provider alone, in a container named as the gateway (its settings)."""

    name = "gateway"
    store = GatewayStore()

    @rpc
    def write_and_read(self, entry):
        self.store.audit(entry)
        return [{k: e[k] for k in ENTRY} for e in self.store.audit_entries(entry["subject_id"])]


def refused(call):
    with pytest.raises(OperationFailure) as failure:
        call()
    return failure.value.code == 13  # Unauthorized


def test_the_gateway_inserts_as_the_audit_user_and_reads_as_its_own(database, container_factory, service_config):
    with MongoClient(uri("gateway-audit-indexes"), serverSelectionTimeoutMS=10_000) as indexer:
        audit_log.ensure_audit_indexes(indexer[database])
        assert "at_1" in indexer[database][audit_log.AUDIT].index_information()
    config = {
        **service_config,
        "MONGODB_URI": uri("gateway"),
        "GATEWAY_AUDIT_MONGODB_URI": uri("gateway-audit"),
        "FLOKK_DB_PREFIX": "flokk_",
    }
    container = container_factory(GatewayStoreOnly, config)
    container.start()
    with entrypoint_hook(container, "write_and_read") as write_and_read:
        assert write_and_read(ENTRY) == [ENTRY]


def test_the_audit_user_may_not_read_change_delete_or_index_the_log(database):
    with MongoClient(uri("gateway-audit"), serverSelectionTimeoutMS=10_000) as client:
        log = client[database][audit_log.AUDIT]
        log.insert_one(dict(ENTRY))
        assert refused(lambda: log.find_one())
        assert refused(lambda: log.update_many({}, {"$set": {"outcome": "refused"}}))
        assert refused(lambda: log.delete_many({}))
        assert refused(lambda: log.create_index("outcome", expireAfterSeconds=0))
        assert refused(lambda: log.drop())
        assert refused(lambda: client["flokk_registration"].registrations.insert_one({"x": 1}))


def test_the_index_makers_user_may_do_nothing_else(database):
    with MongoClient(uri("gateway-audit-indexes"), serverSelectionTimeoutMS=10_000) as client:
        log = client[database][audit_log.AUDIT]
        assert refused(lambda: log.find_one())
        assert refused(lambda: log.insert_one(dict(ENTRY)))
        assert refused(lambda: log.delete_many({}))
