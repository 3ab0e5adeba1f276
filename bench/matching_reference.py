"""The reference optima of the replay benchmark, computed once: `python -m bench.matching_reference`.

For every sampled pool (bench/matching_population.py: seeds and sizes), the most people any
grouping can place, by CP-SAT with the objective "people placed" and a limit of 120 of its
deterministic seconds (its own measure of work, about a second each: the result does not depend
on the machine's load), starting from the greedy's groups: proven, or the best found with CP-SAT's
bound. The people are
those of the pool at the end of its replay, with the widening each would have earned by then.
Results go to bench/data/matching_reference.json with the seeds and a digest of each pool's input,
so `make bench` reads them instead of spending hours; a pool already there with the same digest
is not solved again unless it was not proven and `--unproven` is given (`--again` solves every
pool).
"""

import argparse
import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import ortools

from bench import matching_population as mp
from services.matching import engine, exact

REFERENCE = Path(__file__).parent / "data" / "matching_reference.json"
BUDGET = 120.0  # CP-SAT deterministic seconds per pool
WORKERS = 2  # interleaved, so still deterministic


def machine():
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "ortools": ortools.__version__,
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def population_parameters():
    return {
        "people": mp.REPLAY_PEOPLE,
        "days": mp.REPLAY_DAYS,
        "start": mp.REPLAY_START.isoformat(),
        "seed": mp.REPLAY_SEED,
        "sample_seed": mp.SAMPLE_SEED,
        "sampled_pools": mp.SAMPLED_POOLS,
        "pool_sizes": [mp.SMALLEST_POOL, mp.LARGEST_POOL],
        "acquainted": mp.ACQUAINTED,
    }


def reference_of(key, lines, budget=BUDGET, workers=WORKERS):
    """One pool's reference: the optimum (or best found and bound) of people placed."""
    pool, people, acquaintances = mp.people_at(lines, mp.replay_settings(key), mp.replay_end(lines))
    units = engine.build_units(people, pool)
    rules = engine.Rules(units, pool, acquaintances)
    greedy = engine.greedy(units, rules)
    cpu, wall = time.process_time(), time.perf_counter()
    groups, proven, bound = exact.optimum(units, rules, budget=budget, hint=greedy, workers=workers)
    found = max(engine.placed_of(units, groups), engine.placed_of(units, greedy))
    return {
        "pool": key,
        "people": len(lines),
        "sha256": mp.digest(lines),
        "optimum": found,
        "proven": proven,
        "bound": min(b for b in (bound, engine.upper_bound(units, rules)) if b is not None),
        "greedy": engine.placed_of(units, greedy),
        "min_size": pool.min_size,
        "cpu_seconds": round(time.process_time() - cpu, 1),
        "wall_seconds": round(time.perf_counter() - wall, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def load():
    return json.loads(REFERENCE.read_text()) if REFERENCE.exists() else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=float, default=BUDGET, help="CP-SAT deterministic seconds per pool")
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--again", action="store_true", help="solve every pool again")
    parser.add_argument("--unproven", action="store_true", help="solve again the pools not proven")
    args = parser.parse_args()
    sample = mp.sampled_replay_pools(mp.replay_population())
    previous = load() or {}
    done = {row["pool"]: row for row in previous.get("pools", []) if not args.again}
    rows = []
    for n, (key, lines) in enumerate(sample):
        row = done.get(key)
        if row is None or row["sha256"] != mp.digest(lines) or (args.unproven and not row["proven"]):
            row = reference_of(key, lines, args.budget, args.workers)
        rows.append(row)
        REFERENCE.parent.mkdir(exist_ok=True)
        REFERENCE.write_text(
            json.dumps(
                {
                    "computed_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "population": population_parameters(),
                    "solver": {
                        "deterministic_seconds_per_pool": args.budget,
                        "workers": args.workers,
                        "objective": "people placed",
                    },
                    "machine": machine(),
                    "pools": rows + [done[k] for k, _ in sample[n + 1 :] if k in done],
                },
                indent=1,
            )
            + "\n"
        )
        print(
            f"{n + 1}/{len(sample)} {key}: {row['optimum']} of {row['people']}"
            f" (proven {row['proven']}, bound {row['bound']}, {row['cpu_seconds']} s CPU)",
            flush=True,
        )


if __name__ == "__main__":
    main()
