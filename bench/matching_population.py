"""The people of the matching benchmark: profiles spread over Norway's 357 municipalities by their
real 2024 population, routed with the directory's own routing rules to a realistic set of contact
points (the three LINK centres, a municipal contact point in every municipality of 15,000 people
or more, a district office per county without one, the national office).

Two shapes:
- `generate`: 100,000 people waiting at one moment, as engine people by pool (the batch figures);
- `replay_population` / `sampled_replay_pools`: people *arriving* over 120 days, as replay input
  lines (the `data` of registration_created, with `registered_at`, `acquaintances` and `route`),
  and a random sample of the pools of 10-300 people for the replay figures.
"""

import csv
import hashlib
import json
import random
from datetime import UTC, datetime, timedelta

from services.directory import routing
from services.directory.reference import DATA_DIR, reference_data
from services.matching import domain, engine

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

#: The replay population: this many people register over this many days, from REPLAY_START.
REPLAY_PEOPLE = 20_000
REPLAY_DAYS = 120
REPLAY_START = datetime(2026, 3, 2, 7, tzinfo=UTC)
REPLAY_SEED = 2026
#: The replay figures take this many pools at random among those of 10-300 people.
SAMPLED_POOLS = 64
SMALLEST_POOL, LARGEST_POOL = 10, 300
SAMPLE_SEED = 18
#: The share of people with one recorded acquaintance in their pool.
ACQUAINTED = 0.03


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


class Router:
    """The directory's first route for a municipality and a person's preferences (memoised)."""

    def __init__(self):
        self.ref = reference_data()
        self.points = contact_points()
        self.by_id = {cp["contact_point_id"]: cp for cp in self.points}
        self._routes = {}

    def route(self, municipality_number, not_in_own_municipality, digital_ok):
        key = (municipality_number, not_in_own_municipality, digital_ok)
        if key not in self._routes:
            self._routes[key] = routing.route(
                self.ref,
                self.points,
                municipality_number,
                not_in_own_municipality=not_in_own_municipality,
                digital_ok=digital_ok,
            )[0]
        return self._routes[key]


def _homes(rng, people):
    weights = population()
    numbers = sorted(weights)
    return rng.choices(numbers, [weights[n] for n in numbers], k=people)


def generate(people, seed=2024):
    """{pool key: (PoolSettings, [Person])} for `people` waiting people, routed like the directory."""
    rng = random.Random(seed)
    router = Router()
    pools = {}
    for index, home in enumerate(_homes(rng, people)):
        raw = a_person(rng, index, home)
        route = router.route(home, raw["not_in_own_municipality"], raw["digital_ok"])
        if route["kind"] == "national_office":
            continue
        cp = router.by_id[route["contact_point_id"]]
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


# --- the replay population -------------------------------------------------------------------------


def replay_line(raw, index, registered_at, route):
    """One replay input line: the matching profile of registration_created, plus the route."""
    return {
        "registration_id": raw["registration_id"],
        "idempotency_key": f"bench-{index}",
        "municipality_number": raw["municipality_number"],
        "area": None,
        "role": raw["role"],
        "themes": list(raw["themes"]),
        "languages": [raw["language"]],
        "availability": [engine.slot_dict(key) for key in sorted(raw["slots"])],
        "open_to_mixed": raw["open_to_mixed"],
        "birth_year": raw["birth_year"],
        "digital_ok": raw["digital_ok"],
        "not_in_own_municipality": raw["not_in_own_municipality"],
        "accessibility_needs": [],
        "cohort": None,
        "referred": False,
        "registered_at": registered_at.isoformat().replace("+00:00", "Z"),
        "acquaintances": [],
        "route": route,
    }


def replay_population(people=REPLAY_PEOPLE, days=REPLAY_DAYS, seed=REPLAY_SEED):
    """{pool key: [replay lines in arrival order]}: `people` register over `days` days, each routed
    by the directory's rules. A few people know one other person in their pool."""
    rng = random.Random(seed)
    router = Router()
    pools = {}
    for index, home in enumerate(_homes(rng, people)):
        raw = a_person(rng, index, home)
        raw["registration_id"] = f"p{index:06d}"
        registered_at = REPLAY_START + timedelta(seconds=round(rng.uniform(0, days * 86_400)))
        route = router.route(home, raw["not_in_own_municipality"], raw["digital_ok"])
        if route["kind"] == "national_office":
            continue
        key = "|".join((route["contact_point_id"], raw["role"], raw["language"], route["kind"]))
        pools.setdefault(key, []).append(replay_line(raw, index, registered_at, route))
    for key in sorted(pools):
        lines = sorted(pools[key], key=lambda line: (line["registered_at"], line["registration_id"]))
        ids = [line["registration_id"] for line in lines]
        by_id = {line["registration_id"]: line for line in lines}
        for line in lines:
            if len(ids) > 1 and rng.random() < ACQUAINTED:
                other = rng.choice([rid for rid in ids if rid != line["registration_id"]])
                for a, b in ((line["registration_id"], other), (other, line["registration_id"])):
                    if b not in by_id[a]["acquaintances"]:
                        by_id[a]["acquaintances"].append(b)
        pools[key] = lines
    return pools


def sampled_replay_pools(pools, count=SAMPLED_POOLS, seed=SAMPLE_SEED):
    """[(pool key, lines)]: `count` pools of 10-300 people drawn at random, in key order."""
    eligible = sorted(key for key, lines in pools.items() if SMALLEST_POOL <= len(lines) <= LARGEST_POOL)
    chosen = sorted(random.Random(seed).sample(eligible, min(count, len(eligible))))
    return [(key, pools[key]) for key in chosen]


def replay_settings(key):
    """The contact point settings a sampled pool is replayed with: the default group sizes, and
    no digital groups, so that each pool is replayed (and its optimum computed) on its own."""
    contact_point_id = key.split("|")[0]
    cp = next(cp for cp in contact_points() if cp["contact_point_id"] == contact_point_id)
    return {
        contact_point_id: {
            "min_size": 5,
            "max_size": 8,
            "municipalities": cp["municipalities"],
            "digital_groups": False,
        }
    }


def jsonl(lines):
    return "".join(json.dumps(line, sort_keys=True) + "\n" for line in lines)


def digest(lines):
    return hashlib.sha256(jsonl(lines).encode()).hexdigest()


def replay_end(lines):
    """Where a replay of these people stops: one day after the last arrival."""
    return datetime.fromisoformat(lines[-1]["registered_at"]) + timedelta(days=1)


def people_at(lines, settings, end, widening_days=engine.DEFAULT_WIDENING_DAYS):
    """(PoolSettings, engine people, acquaintance pairs) of a pool at `end`: the widening each
    would have earned by then, as the production code sees a waiting person."""
    route = lines[0]["route"]
    contact_point = {**settings[route["contact_point_id"]], "contact_point_id": route["contact_point_id"]}
    people = []
    for line in lines:
        profile = {k: v for k, v in line.items() if k not in ("acquaintances", "route")}
        profile["registered_at"] = datetime.fromisoformat(line["registered_at"])
        entry = domain.waiting_entry(profile, line["route"], [line["route"]], profile["registered_at"], widening_days)
        people.append(domain.person(entry, entry["home_pool"], end, widening_days))
    home = domain.pool_key(
        route["contact_point_id"], lines[0]["role"], lines[0]["languages"], route["kind"] == "digital"
    )
    pool = domain.pool_settings(home, contact_point, widening_days)
    pairs = sorted(
        {tuple(sorted((line["registration_id"], other))) for line in lines for other in line["acquaintances"]}
    )
    return pool, people, [frozenset(pair) for pair in pairs]
