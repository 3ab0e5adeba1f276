"""A small time-bounded cache of another service's answers, shared by the workers of one container.

The other service stays the owner: an entry is only a copy, dropped `ttl_seconds` after it was
fetched, so a change there is seen here within that time at the latest. Errors are never cached.
Values are handed out as deep copies (a caller may change what it gets).
"""

import copy
import time
from collections import OrderedDict

from nameko.extensions import DependencyProvider


class TtlCache:
    def __init__(self, ttl_seconds, max_entries=10_000, clock=time.monotonic):
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self.clock = clock
        self._entries = OrderedDict()  # key -> (fetched_at, value), oldest use first

    def get_or_load(self, key, load):
        """The cached answer for `key`, or `load()` (stored for next time when it returns)."""
        now = self.clock()
        entry = self._entries.get(key)
        if entry is not None and now - entry[0] < self.ttl_seconds:
            self._entries.move_to_end(key)
            return copy.deepcopy(entry[1])
        value = load()
        self.put(key, value, now)
        return copy.deepcopy(value)

    def put(self, key, value, now=None):
        self._entries[key] = (self.clock() if now is None else now, copy.deepcopy(value))
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def drop(self, key):
        self._entries.pop(key, None)

    def clear(self):
        self._entries.clear()

    def __len__(self):
        return len(self._entries)


class CachedCalls:
    """Wraps an RPC proxy: the named methods answer from `cache` (keyed by method and arguments),
    every other attribute is the proxy's own."""

    def __init__(self, proxy, cache, methods):
        self._proxy, self._cache, self._methods = proxy, cache, frozenset(methods)

    def __getattr__(self, name):
        method = getattr(self._proxy, name)
        if name not in self._methods:
            return method

        def cached(*args):
            return self._cache.get_or_load((name, args), lambda: method(*args))

        return cached


class SharedCache(DependencyProvider):
    """One TtlCache per service container; every worker gets the same one."""

    def __init__(self, ttl_seconds, max_entries=10_000):
        self.ttl_seconds, self.max_entries = ttl_seconds, max_entries
        self.cache = None

    def setup(self):
        self.cache = TtlCache(self.ttl_seconds, self.max_entries)

    def get_dependency(self, worker_ctx):
        return self.cache
