"""The store contract of tests/unit/test_matching_memory_store.py on the Mongo store: the
in-memory store used by the unit tests and the replay keeps the same semantics as this one."""

import pytest
from nameko.testing.utils import get_extension

from services.common.store import MongoStore
from services.matching.store import MatchingStorage
from tests.unit import test_matching_memory_store as contract


class MatchingStoreOnly:
    """matching's store provider, in a container of its own (no entrypoints)."""

    name = "matching"
    store = MongoStore(MatchingStorage)


class TestTheMongoStore(contract.StoreContract):
    @pytest.fixture
    def store(self, container_factory, service_config, db_prefix):
        container = container_factory(MatchingStoreOnly, service_config)
        container.start()
        return MatchingStorage(get_extension(container, MongoStore))
