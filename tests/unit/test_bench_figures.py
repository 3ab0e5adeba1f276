"""The arithmetic of `make bench`'s report (bench/figures.py): what a registration costs in one-hop
event times and store operations, the saturated-store evidence, and the targets of issue 19."""

import pytest

from bench import figures


def test_cost_in_one_hop_event_times_scales_with_the_one_hop_rate():
    assert figures.one_hop_units(70.0, 948) == pytest.approx(66.36)
    # the same registration on a machine twice as fast: half the CPU, twice the rate, the same units
    assert figures.one_hop_units(35.0, 1896) == pytest.approx(figures.one_hop_units(70.0, 948))


def test_store_operations_per_registration_count_every_bucket_a_commit_included():
    before = {"insert": 100, "query": 50, "update": 10, "delete": 0, "getmore": 0, "command": 40}
    after = {"insert": 300, "query": 250, "update": 110, "delete": 10, "getmore": 0, "command": 140}
    ops = figures.store_operations(before, after, registrations=100)
    assert ops == {"total": 6.1, "by_kind": {"insert": 2.0, "query": 2.0, "update": 1.0, "delete": 0.1, "command": 1.0}}


def test_a_counter_absent_before_counts_from_zero():
    assert figures.per_registration({}, {"matching-2": 3.0}, 2) == {"matching-2": 1.5}


@pytest.mark.parametrize(("cpu_seconds", "saturated"), [(54.0, True), (53.9, False)])
def test_the_store_is_saturated_from_ninety_percent_of_one_core(cpu_seconds, saturated):
    assert figures.store_saturation(cpu_seconds, 60)["store_saturated"] is saturated


@pytest.mark.parametrize(("sustained", "rate"), [(250.0, 50.0), (100.0, 50.0), (99.0, 49.5), (37.8, 18.9), (1.0, 1.0)])
def test_the_p99_is_taken_at_50_per_s_or_at_half_the_sustained_rate_below_100(sustained, rate):
    assert figures.latency_rate(sustained) == rate


def test_without_the_store_its_share_is_left_out_of_the_cpu_and_the_rate():
    without = figures.without_store({"store": 30.0, "registration": 6.0, "matching": 4.0}, 1000, cores=2)
    assert without == {
        "cpu_ms_per_registration": 10.0,
        "one_hop_units_per_registration": 10.0,
        "registrations_per_s_on_these_cores": 200.0,
    }


def test_the_replica_set_projection_is_bound_by_the_tighter_of_store_and_services():
    projection = figures.replica_set_projection(12.0, 4.0, cpu_ms_without_store=10.0, cores=2)
    assert projection["store_limit_per_s"] == pytest.approx(4 * 10_000 / 12, abs=0.1)
    assert projection["services_limit_per_s_on_these_cores"] == 200.0
    assert projection["projected_registrations_per_s"] == 200.0
    assert projection["bound_by"] == "services"
    assert projection["added_latency_ms"] == 4.0
    assert projection["assumptions"]["members"] == 3


def test_a_person_in_two_live_groups_counts_once_as_placed_twice():
    groups = [
        {"state": "proposed", "members": ["a", "b"]},
        {"state": "proposed", "members": ["b", "c"]},
        {"state": "rejected", "members": ["a", "d"]},
        {"state": "proposed", "members": ["d"]},
    ]
    assert figures.placed_more_than_once(groups) == 1


def _report(**figures_):
    return {
        "figures": {
            "one_hop_units_per_registration": 20.0,
            "store_operations_per_registration": 11.0,
            "sustained_share_of_one_hop": 0.12,
            "store_saturated": False,
            **figures_,
        },
        "latency": {"rate_per_s": 50.0, "p99_ms": 120.0},
        "rss_at_rest_mb": {"matching": 80.0, "registration": 70.0},
        "rss_under_load_mb": {"matching": 120.0},
        "sustained": {"all_runs": {"registrations_sent": 10, "with_exactly_one_receipt": 10}},
        "scale_out": {"ratio": 0.97, "placed_twice": 0, "notified_twice": 0},
    }


def test_every_target_is_checked_against_its_figure():
    rows = figures.check_targets(_report())
    assert [row["met"] for row in rows] == [True] * len(rows)
    assert len(rows) == 9


def test_a_missed_target_and_a_missing_figure_are_not_met():
    report = _report(store_operations_per_registration=13.0)
    del report["scale_out"]
    rows = {row["target"]: row for row in figures.check_targets(report)}
    assert rows["store operations per registration"]["met"] is False
    assert rows["scale-out: two replicas / one"]["met"] is False
    assert rows["scale-out: two replicas / one"]["value"] is None


def test_a_slow_sustained_rate_with_the_store_saturated_points_to_the_evidence():
    rows = figures.check_targets(_report(sustained_share_of_one_hop=0.05, store_saturated=True))
    sustained = next(row for row in rows if row["target"].startswith("sustained"))
    assert sustained["met"] is None
    assert "store saturated" in sustained["target"]


def test_a_bench_starts_only_below_a_load_of_one():
    assert figures.load_is_quiet(0.99)
    assert not figures.load_is_quiet(1.0)
