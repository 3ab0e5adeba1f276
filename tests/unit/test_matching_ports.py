"""matching's ports: each implementation (production's and the in-memory one) offers every method
of its port with the port's parameters, and the settings come from the nameko config."""

import pytest

from services.common.cache import TtlCache
from services.common.clock import CURRENT, Clock, FixedClock
from services.matching import engine, ports
from services.matching.memory_store import MemoryMatchingStore
from services.matching.store import MatchingStorage
from tests.unit.test_notification_ports import mismatches, port_methods


@pytest.mark.parametrize(
    "port, implementations",
    [
        (ports.MatchingStore, [MatchingStorage, MemoryMatchingStore]),
        (ports.RouteCache, [TtlCache]),
        (Clock, [FixedClock, type(CURRENT)]),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_every_implementation_offers_its_whole_port(port, implementations):
    assert port_methods(port)
    for implementation in implementations:
        assert mismatches(port, implementation) == [], implementation.__name__


def test_the_settings_are_the_defaults_overridden_by_the_config():
    assert ports.Settings.from_config({}) == ports.Settings(
        engine.DEFAULT_WIDENING_DAYS, engine.DEFAULT_EXACT_BUDGET, engine.DEFAULT_EXACT_WORKERS
    )
    configured = ports.Settings.from_config(
        {ports.WIDENING_KEY: '{"mixed_themes": 7}', ports.EXACT_BUDGET_KEY: "0.5", ports.EXACT_WORKERS_KEY: "4"}
    )
    assert configured.widening_days == {**engine.DEFAULT_WIDENING_DAYS, "mixed_themes": 7}
    assert (configured.exact_budget, configured.exact_workers, configured.online) == (0.5, 4, True)
    assert ports.Settings.from_config({ports.WIDENING_KEY: {"digital": 30}}).widening_days["digital"] == 30


@pytest.mark.parametrize("key, value", [(ports.EXACT_BUDGET_KEY, "0"), (ports.EXACT_WORKERS_KEY, "0")])
def test_a_budget_or_a_number_of_workers_that_cannot_work_is_refused_by_name(key, value):
    with pytest.raises(ValueError, match=key):
        ports.Settings.from_config({key: value})
