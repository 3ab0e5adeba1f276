"""One lock per pool for the workers of one matching container.

Arrivals to the same pool handled at the same time would each plan a group from the same waiting
people; all but one lose their versioned claims (a write conflict in the store, then a new plan).
Taking the pool's lock first makes them plan one after the other, each from what the last one
wrote. Replicas still race each other; their claims keep that safe.
"""

from contextlib import contextmanager

from eventlet.semaphore import Semaphore
from nameko.extensions import DependencyProvider


class KeyedLocks:
    def __init__(self):
        self._locks = {}  # key -> [lock, holders and waiters]

    @contextmanager
    def __call__(self, key):
        entry = self._locks.setdefault(key, [Semaphore(1), 0])
        entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0:  # nobody holds or waits: forget it, so the map stays small
                del self._locks[key]

    def __len__(self):
        return len(self._locks)


class PoolLocks(DependencyProvider):
    def setup(self):
        self.locks = KeyedLocks()

    def get_dependency(self, worker_ctx):
        return self.locks
