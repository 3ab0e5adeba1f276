"""The per-pool locks of one matching container: one planner per pool at a time, none kept idle."""

import eventlet

from services.matching.locks import KeyedLocks


def test_workers_on_the_same_pool_take_turns_and_other_pools_do_not_wait():
    locks, timeline = KeyedLocks(), []
    release_first = eventlet.event.Event()

    def plan(pool, name, wait_for=None):
        with locks(pool):
            timeline.append(f"{name} in")
            if wait_for is not None:
                wait_for.wait()
            timeline.append(f"{name} out")

    first = eventlet.spawn(plan, "p1", "a", release_first)
    second = eventlet.spawn(plan, "p1", "b")
    other = eventlet.spawn(plan, "p2", "c")
    eventlet.sleep(0)  # let all three start: a holds p1, b waits for it, c runs on p2
    other.wait()
    assert timeline == ["a in", "c in", "c out"]
    release_first.send()
    first.wait()
    second.wait()
    assert timeline[3:] == ["a out", "b in", "b out"]
    assert len(locks) == 0  # nobody holds or waits: nothing kept


def test_a_failing_planner_releases_the_pool():
    locks = KeyedLocks()
    try:
        with locks("p1"):
            raise RuntimeError("solver failed")
    except RuntimeError:
        pass
    with eventlet.Timeout(1):
        with locks("p1"):
            pass
    assert len(locks) == 0
