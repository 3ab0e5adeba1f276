"""Benchmark of the matching engine (not a test): `python -m bench.matching_bench [people]`.

100,000 waiting people spread over Norway's 357 municipalities by their real 2024 population,
routed with the directory's own routing rules to a realistic contact-point set (the three LINK
centres, a municipal contact point in every municipality of 15,000 people or more, a district
office per county without one, the national office). It reports:
- the time to propose all groups from all pools on one core, and the share of people placed;
- on sampled pools of up to 60 people, the engine's placed count against the exact optimum
  (CP-SAT without a budget), next to a longest-waiting-first greedy;
- p50/p99 of one incremental placement (one arrival into a pool that has been solved).
Results go to `bench/results/matching.json` (ignored by git).
"""

import csv
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.directory import routing
from services.directory.reference import DATA_DIR, reference_data
from services.matching import engine, exact

THEME_WEIGHTS = {
    "anxiety": 16,
    "depression": 14,
    "grief": 12,
    "loneliness": 10,
    "chronic_pain": 7,
    "chronic_illness": 6,
    "burnout": 6,
    "separation": 5,
    "addiction": 5,
    "caregiving": 5,
    "cancer": 4,
    "trauma": 4,
    "eating_disorder": 3,
    "job_loss": 2,
    "other": 1,
}
LANGUAGE_WEIGHTS = {"nb": 86, "nn": 4, "en": 3, "pl": 2, "ar": 1.5, "uk": 1.5, "so": 1, "ti": 1}
PART_WEIGHTS = {"evening": 6, "afternoon": 3, "morning": 2}
WEEKDAY_WEIGHTS = {"mon": 5, "tue": 6, "wed": 6, "thu": 6, "fri": 3, "sat": 1, "sun": 1}
NOW = datetime(2026, 11, 28, 9, tzinfo=UTC)
RESULTS = Path(__file__).parent / "results" / "matching.json"


def _weighted(rng, weights, k=1):
    keys, values = list(weights), list(weights.values())
    chosen = []
    while len(chosen) < k:
        pick = rng.choices(keys, values)[0]
        if pick not in chosen:
            chosen.append(pick)
    return chosen


def contact_points():
    """A realistic set: LINK centres, municipal contact points in larger municipalities, one
    district office per county where none is, and the national office."""
    ref = reference_data()
    points = [
        {
            "contact_point_id": "link-oslo",
            "kind": "link_centre",
            "municipality_number": "0301",
            "municipalities": ["0301"],
            "digital_groups": True,
        },
        {
            "contact_point_id": "link-bergen",
            "kind": "link_centre",
            "municipality_number": "4601",
            "municipalities": ["4601", "4626", "4627", "4631"],
            "digital_groups": True,
        },
        {
            "contact_point_id": "link-trondheim",
            "kind": "link_centre",
            "municipality_number": "5001",
            "municipalities": ["5001"],
            "digital_groups": True,
        },
    ]
    covered = {m for cp in points for m in cp["municipalities"]}
    for m in sorted(ref.municipalities.values(), key=lambda m: m.number):
        if m.population >= 15_000 and m.number not in covered:
            points.append(
                {
                    "contact_point_id": f"cp-{m.number}",
                    "kind": "municipal_service",
                    "municipality_number": m.number,
                    "municipalities": [m.number],
                    "digital_groups": False,
                }
            )
    counties = {cp["municipality_number"][:2] for cp in points}
    for m in sorted(ref.municipalities.values(), key=lambda m: -m.population):
        if m.county_number not in counties:
            counties.add(m.county_number)
            points.append(
                {
                    "contact_point_id": f"district-{m.county_number}",
                    "kind": "district_office",
                    "municipality_number": m.number,
                    "municipalities": [m.number],
                    "digital_groups": True,
                }
            )
    points.append(
        {
            "contact_point_id": "national-office",
            "kind": "national_office",
            "municipality_number": "0301",
            "municipalities": [],
            "digital_groups": False,
        }
    )
    return points


def population():
    with open(DATA_DIR / "municipalities.csv", encoding="utf-8") as handle:
        return {row["municipality_number"]: int(row["population_2024_01_01"]) for row in csv.DictReader(handle)}


def a_person(rng, index, municipality_number):
    slots = {
        f"{_weighted(rng, WEEKDAY_WEIGHTS)[0]}:{_weighted(rng, PART_WEIGHTS)[0]}"
        for _ in range(rng.choice((2, 3, 4, 4, 5, 6, 8)))
    }
    waited = rng.uniform(0, 120)
    birth_year = None if rng.random() < 0.15 else rng.randint(1940, 2006)
    return {
        "registration_id": f"r{index:06d}",
        "municipality_number": municipality_number,
        "role": "relative" if rng.random() < 0.25 else "self",
        "language": _weighted(rng, LANGUAGE_WEIGHTS)[0],
        "themes": tuple(_weighted(rng, THEME_WEIGHTS, rng.choice((1, 1, 2, 2, 3)))),
        "slots": frozenset(slots),
        "open_to_mixed": rng.random() < 0.6,
        "waiting_since": NOW - timedelta(days=waited),
        "birth_year": birth_year,
        "not_in_own_municipality": rng.random() < 0.05,
        "digital_ok": rng.random() < 0.4,
    }


def engine_person(raw, widening_days=engine.DEFAULT_WIDENING_DAYS):
    waited = (NOW - raw["waiting_since"]).days
    return engine.Person(
        registration_id=raw["registration_id"],
        themes=raw["themes"],
        slots=raw["slots"],
        open_to_mixed=raw["open_to_mixed"],
        waiting_since=raw["waiting_since"],
        birth_year=raw["birth_year"],
        municipality_number=raw["municipality_number"],
        not_in_own_municipality=raw["not_in_own_municipality"],
        steps=engine.earned_steps(waited, widening_days),
    )


def generate(people, seed=2024):
    """{pool key: (PoolSettings, [Person])} for `people` waiting people, routed like the directory."""
    rng = random.Random(seed)
    ref = reference_data()
    points = contact_points()
    by_id = {cp["contact_point_id"]: cp for cp in points}
    weights = population()
    numbers = sorted(weights)
    homes = rng.choices(numbers, [weights[n] for n in numbers], k=people)
    routes = {}
    pools = {}
    for index, home in enumerate(homes):
        raw = a_person(rng, index, home)
        key = (home, raw["not_in_own_municipality"], raw["digital_ok"])
        if key not in routes:
            routes[key] = routing.route(ref, points, home, not_in_own_municipality=key[1], digital_ok=key[2])[0]
        route = routes[key]
        if route["kind"] == "national_office":
            continue
        cp = by_id[route["contact_point_id"]]
        pool_key = (cp["contact_point_id"], raw["role"], raw["language"], route["kind"] == "digital")
        if pool_key not in pools:
            pools[pool_key] = (
                engine.PoolSettings(
                    contact_point_id=cp["contact_point_id"],
                    serves=frozenset(cp["municipalities"]),
                    digital=route["kind"] == "digital",
                ),
                [],
            )
        pools[pool_key][1].append(engine_person(raw))
    return pools


def longest_waiting_first(people, pool):
    """The baseline of the issue: take the longest-waiting person, fill a group around them."""
    units = engine.build_units(people, pool)
    rules = engine.Rules(units, pool)
    placed, groups = set(), []
    for unit in units:
        if unit.index in placed:
            continue
        for label in sorted(unit.labels, key=engine._label_order):
            candidates = [u for u in units if u.index not in placed and label in u.labels and u is not unit]
            members = engine.fill_group(rules, candidates, pool.max_size, seed=(unit.index,))
            if rules.valid(members, label):
                groups.append((label, members))
                placed.update(members)
                break
    return engine.placed_of(units, groups)


def sampled_pools(pools, samples, rng):
    """Half real pools of 10-60 people, half snapshots of 20-60 people drawn from larger pools
    (a big pool as it looks between two sweeps)."""
    small = sorted((key for key, (_, people) in pools.items() if 10 <= len(people) <= 60), key=str)
    large = sorted((key for key, (_, people) in pools.items() if len(people) > 60), key=str)
    chosen = [(key, pools[key][1]) for key in rng.sample(small, min(samples // 2, len(small)))]
    for _ in range(samples - len(chosen)):
        key = rng.choice(large)
        chosen.append((key + ("snapshot",), rng.sample(pools[key][1], rng.randint(20, 60))))
    return [(key, pools[key[:4]][0], people) for key, people in chosen]


def quality(pools, samples, seed=7):
    rows = []
    for key, settings, people in sampled_pools(pools, samples, random.Random(seed)):
        units = engine.build_units(people, settings)
        rules = engine.Rules(units, settings)
        best, proven = exact.optimum(units, rules, budget=30.0)
        optimum = engine.placed_of(units, best)
        outcome = engine.propose(people, settings, NOW)
        rows.append(
            {
                "pool": "|".join(map(str, key)),
                "people": len(people),
                "optimum": optimum,
                "proven": proven,
                "engine": outcome.placed,
                "solver": outcome.solver,
                "greedy_only": engine.propose(people, settings, NOW, exact=False).placed,
                "baseline": longest_waiting_first(people, settings),
            }
        )
    total_opt = sum(r["optimum"] for r in rows) or 1
    return {
        "pools": len(rows),
        "pools_with_a_group": sum(1 for r in rows if r["optimum"]),
        "ratio": round(sum(r["engine"] for r in rows) / total_opt, 4),
        "worst_pool_ratio": round(min((r["engine"] / r["optimum"] for r in rows if r["optimum"]), default=1), 4),
        "greedy_only_ratio": round(sum(r["greedy_only"] for r in rows) / total_opt, 4),
        "baseline_ratio": round(sum(r["baseline"] for r in rows) / total_opt, 4),
        "all_proven_optimal": all(r["proven"] for r in rows),
        "rows": rows,
    }


def incremental(pools, arrivals, seed=11):
    """One arrival into a pool whose groups were already proposed: time `engine.place_one`."""
    rng = random.Random(seed)
    keys = sorted(pools, key=str)
    leftovers = {}
    timings = []
    for n in range(arrivals):
        key = rng.choice(keys)
        settings, people = pools[key]
        if key not in leftovers:
            outcome = engine.propose(people, settings, NOW, exact=False)
            placed = {r for p in outcome.proposals for r in p.members}
            leftovers[key] = [p for p in people if p.registration_id not in placed]
        raw = a_person(rng, 900_000 + n, next(iter(settings.serves), "0301"))
        newcomer = engine_person({**raw, "waiting_since": NOW})
        start = time.perf_counter()
        engine.place_one(newcomer.registration_id, leftovers[key] + [newcomer], settings, NOW)
        timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    return {
        "arrivals": arrivals,
        "p50_ms": round(timings[len(timings) // 2], 3),
        "p99_ms": round(timings[int(len(timings) * 0.99) - 1], 3),
        "max_ms": round(timings[-1], 3),
    }


def run(people=100_000, samples=60, arrivals=2000):
    started = time.perf_counter()
    pools = generate(people)
    generated = time.perf_counter() - started
    waiting = sum(len(p) for _, p in pools.values())
    start = time.process_time()
    wall = time.perf_counter()
    placed, solvers = 0, {}
    for key in sorted(pools, key=str):
        settings, members = pools[key]
        outcome = engine.propose(members, settings, NOW)
        placed += outcome.placed
        solvers[outcome.solver] = solvers.get(outcome.solver, 0) + 1
    cpu = time.process_time() - start
    wall = time.perf_counter() - wall
    result = {
        "people": people,
        "routed_to_a_pool": waiting,
        "pools": len(pools),
        "contact_points": len(contact_points()),
        "propose_all_cpu_seconds": round(cpu, 2),
        "propose_all_wall_seconds": round(wall, 2),
        "placed": placed,
        "share_placed": round(placed / max(waiting, 1), 4),
        "solvers": solvers,
        "generate_seconds": round(generated, 2),
        "quality": quality(pools, samples),
        "incremental": incremental(pools, arrivals),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    return result


def main(argv):
    result = run(int(argv[1]) if len(argv) > 1 else 100_000)
    summary = {k: v for k, v in result.items() if k != "quality"}
    summary["quality"] = {k: v for k, v in result["quality"].items() if k != "rows"}
    print(json.dumps(summary, indent=2))
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main(sys.argv)
