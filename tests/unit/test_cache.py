"""The shared cache of another service's answers: time-bounded, errors never kept, copies out."""

from unittest.mock import MagicMock

import pytest

from services.common.cache import CachedCalls, TtlCache


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_an_answer_is_reused_until_its_time_is_up():
    clock, calls = Clock(), []
    cache = TtlCache(30, clock=clock)
    load = lambda: calls.append(1) or {"name": f"v{len(calls)}"}
    assert cache.get_or_load("k", load) == {"name": "v1"}
    clock.now += 29.9
    assert cache.get_or_load("k", load) == {"name": "v1"} and len(calls) == 1
    clock.now += 0.1
    assert cache.get_or_load("k", load) == {"name": "v2"} and len(calls) == 2


def test_an_error_is_not_kept():
    cache = TtlCache(30, clock=Clock())

    def failing():
        raise LookupError("unknown")

    with pytest.raises(LookupError):
        cache.get_or_load("k", failing)
    assert len(cache) == 0
    assert cache.get_or_load("k", lambda: 7) == 7


def test_callers_get_copies_that_do_not_change_the_cache():
    cache = TtlCache(30, clock=Clock())
    first = cache.get_or_load("k", lambda: {"places": ["a"]})
    first["places"].append("b")
    assert cache.get_or_load("k", lambda: None) == {"places": ["a"]}


def test_the_least_recently_used_entry_goes_first_when_full():
    cache = TtlCache(30, max_entries=2, clock=Clock())
    cache.put("a", 1)
    cache.put("b", 2)
    cache.get_or_load("a", lambda: None)  # a used last
    cache.put("c", 3)
    assert len(cache) == 2
    assert cache.get_or_load("b", lambda: "reloaded") == "reloaded"


def test_cached_calls_cache_only_the_named_methods_by_their_arguments():
    proxy = MagicMock()
    proxy.lookup.side_effect = lambda code: {"code": code}
    calls = CachedCalls(proxy, TtlCache(30, clock=Clock()), ["lookup"])
    assert calls.lookup("5003") == {"code": "5003"}
    assert calls.lookup("5003") == {"code": "5003"}
    assert calls.lookup("0150") == {"code": "0150"}
    assert proxy.lookup.call_count == 2
    calls.other("x")
    calls.other("x")
    assert proxy.other.call_count == 2  # not named: every call goes through
