"""The dominance bound of the matching benchmark (bench/matching_bench.py): the most any online
policy can place by the end of a replay if nobody waits more than a day longer than under
arrivals alone."""

from datetime import timedelta

from bench import matching_bench
from bench import matching_population as mp
from services.matching import engine, replay
from services.matching.ports import Settings
from tests.unit.test_matching_replay import START, a_line

CONTACT_POINTS = {"cp-a": {"min_size": 5, "max_size": 8}}


def test_the_bound_keeps_everyone_arrivals_alone_placed_so_it_can_fall_below_the_optimum():
    # four open to mixed groups and one who is not complete a grief group on day 4 (arrivals alone
    # proposes it at once); two more open to mixed groups come on days 5 and 6. At the end, the six
    # open to mixed groups make one mixed group of six, but it leaves out the one who is not, and
    # no policy that keeps that person's day-4 placement places more than five.
    open_to_mixed = [a_line(n, START + timedelta(days=n), mixed=True) for n in range(4)]
    only_grief = a_line(4, START + timedelta(days=4))
    later = [a_line(n, START + timedelta(days=n), themes=("anxiety",), mixed=True) for n in (5, 6)]
    elsewhere = a_line(7, START + timedelta(days=30), themes=("cancer",), slots=(("thu", "morning"),))
    lines = [*open_to_mixed, only_grief, *later, elsewhere]
    alone = replay.run(lines, CONTACT_POINTS, settings=Settings(online=False))
    assert [g["size"] for g in alone.groups] == [5]
    pool, people, acquaintances = mp.people_at(lines, CONTACT_POINTS, alone.end)
    assert engine.propose(people, pool, alone.end, acquaintances).placed == 6
    assert matching_bench.dominance_bound(pool, people, acquaintances, alone) == (5, True)


def test_the_exact_pass_over_everyone_goes_smallest_pool_first_and_stops_at_its_cpu_budget():
    # pools of 10-30 people: CP-SAT runs on some of them quickly and places more than the greedy in one
    generated = mp.generate(3000)
    pools = dict(sorted((k, v) for k, v in generated.items() if 10 <= len(v[1]) <= 30)[:25])
    sizes = [len(pools[key][1]) for key in matching_bench.smallest_first(pools)]
    assert sizes == sorted(sizes) and len(sizes) == len(pools)
    everyone = matching_bench.hundred_thousand(pools, exact_cpu_seconds=None)
    assert everyone["exact_pools_attempted"] == everyone["pools"] == len(pools)
    assert everyone["exact_pools_left"] == 0
    assert everyone["exact_placed"] == everyone["greedy_placed"] + everyone["exact_placed_beyond_greedy"]
    assert everyone["greedy_placed"] > 0
    assert 0 < everyone["exact_pools_improved"] <= everyone["exact_pools_solved"] < len(pools)
    assert everyone["exact_placed_beyond_greedy"] >= everyone["exact_pools_improved"]

    none = matching_bench.hundred_thousand(pools, exact_cpu_seconds=0)
    assert none["exact_pools_attempted"] == 0
    assert none["exact_pools_left"] == len(pools)
    assert none["exact_placed"] == none["greedy_placed"] == everyone["greedy_placed"]

    greedy_only = matching_bench.hundred_thousand(pools, exact=False)
    assert "exact_pools_attempted" not in greedy_only
