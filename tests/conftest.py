"""Root fixtures. eventlet must patch before anything imports sockets, threads or pymongo."""

import eventlet

eventlet.monkey_patch()

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pymongo import MongoClient

from services.common import clock

TIERS = ("unit", "integration", "e2e", "browser")


def pytest_collection_modifyitems(config, items):
    """Each test is marked with its tier, the folder it lives in: `pytest -m unit -k ...`."""
    for item in items:
        parts = Path(str(item.fspath)).parts
        tier = next((part for part in reversed(parts) if part in TIERS), None)
        if tier is not None:
            item.add_marker(getattr(pytest.mark, tier))


MONGODB_URI = os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:30003")


@pytest.fixture
def db_prefix():
    """A database prefix of its own per test, so tests never see each other's data."""
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    yield prefix
    client = MongoClient(MONGODB_URI)
    for name in client.list_database_names():
        if name.startswith(prefix):
            client.drop_database(name)
    client.close()


@pytest.fixture
def mongo(db_prefix):
    client = MongoClient(MONGODB_URI, tz_aware=True)
    yield client
    client.close()


@pytest.fixture
def service_config(rabbit_config, db_prefix):
    """nameko config for a service under test: its own vhost, with the topology declared (as the
    topology job does before any service starts: a service only checks others' exchanges), its own
    databases, fast retries."""
    from kombu import Connection

    from services.common import topology

    with Connection(rabbit_config["AMQP_URI"]) as connection:
        topology.declare(connection.default_channel, topology.all_entities())
    return {
        **rabbit_config,
        "MONGODB_URI": MONGODB_URI,
        "FLOKK_DB_PREFIX": db_prefix,
        "FLOKK_OUTBOX_SWEEP_SECONDS": 0.2,
        "FLOKK_MAX_ATTEMPTS": 3,
        "max_workers": 4,
    }


#: The moment every in-process test starts at, whatever day it runs (no test reads the wall clock).
TEST_EPOCH = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def anchored_clock():
    """The process's clock starts at TEST_EPOCH and runs at the normal pace; a test that needs a
    clock standing still sets its own `clock.FixedClock` with `clock.use`."""
    with clock.use(clock.AnchoredClock(TEST_EPOCH)) as anchored:
        yield anchored
