"""Root fixtures. eventlet must patch before anything imports sockets, threads or pymongo."""
import eventlet

eventlet.monkey_patch()

import os  # noqa: E402
import uuid  # noqa: E402

import pytest  # noqa: E402
from pymongo import MongoClient  # noqa: E402

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
    """nameko config for a service under test: its own vhost, its own databases, fast retries."""
    return {
        **rabbit_config,
        "MONGODB_URI": MONGODB_URI,
        "FLOKK_DB_PREFIX": db_prefix,
        "FLOKK_OUTBOX_SWEEP_SECONDS": 0.2,
        "FLOKK_MAX_ATTEMPTS": 3,
        "max_workers": 4,
    }
