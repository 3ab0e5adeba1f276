"""The matching engine (docs/design.md §4.2–4.7): forms groups from one pool. Pure and deterministic.

A pool is everyone waiting for one contact point, role and first language (plus people who came
by widening). The engine works on *units*: a person, or a course cohort that asked to be kept
together (placed all in one group or not at all). A group has a *label*: one shared time slot and
either one shared theme or `MIXED` (every member accepts mixed groups and has waited past the
mixed-themes threshold). Hard rules, all pairwise: no recorded acquaintances together, a birth-year
span of at most 15 years where known, and no group that repeats a rejected set of people.

The objective (§4.5), lexicographic: most people placed; then people in same-theme groups rather
than mixed; then the longest-waiting first. `propose` runs a greedy (scarcest label first, least
flexible people first) with a repair pass, then improves on it, in every part of the pool where
the greedy may not be optimal, with an exact CP-SAT model under a deterministic work budget
(`exact.py`), so the same input always gives the same groups. Given the pool's unconfirmed
proposals, `propose` re-solves them with the people waiting (design §4.13): nobody proposed is
left out, no proposal shrinks, and a proposal is replaced only when that is better.
"""

import heapq
import itertools
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import sha1

MIXED = None
AGE_SPAN_YEARS = 15
STEPS = ("mixed_themes", "neighbouring", "digital", "group_of_four")
DEFAULT_WIDENING_DAYS = {"mixed_themes": 14, "neighbouring": 28, "digital": 42, "group_of_four": 56}
SMALLEST_WIDENED_SIZE = 4
CANDIDATE_CAP = 64  # units looked at per group in the greedy
MAX_WINDOWS = 24  # birth-year windows tried per group
REPAIR_ROUNDS = 4  # repair rounds in large pools, where little is left to gain
FULL_REPAIR_LIMIT = 60  # pools up to this many units repair until nothing changes
DEFAULT_EXACT_BUDGET = 2.0  # CP-SAT deterministic time units per pool
DEFAULT_EXACT_WORKERS = 1  # CP-SAT workers per solve
#: What the explanation says when the exact solve did not prove its groups the best.
SOLVER_NOTES = {
    "feasible": "The exact solver's best within its work budget (not proven the best possible).",
    "none": "The exact solver ran out of its work budget without a result; these are the greedy's groups.",
    "too_large": (
        "This part of the pool is too large for the exact solver's work budget; these are the greedy's groups."
    ),
}

WEEKDAY_NAMES = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}


def slot_key(slot):
    return f"{slot['weekday']}:{slot['part_of_day']}"


def slot_dict(key):
    weekday, part = key.split(":")
    return {"weekday": weekday, "part_of_day": part}


def slot_text(key):
    weekday, part = key.split(":")
    return f"{WEEKDAY_NAMES[weekday]} {part}"


@dataclass(frozen=True)
class Person:
    registration_id: str
    themes: tuple
    slots: frozenset
    open_to_mixed: bool
    waiting_since: datetime
    birth_year: int | None = None
    municipality_number: str | None = None
    not_in_own_municipality: bool = False
    cohort_id: str | None = None  # only when the cohort asked to be kept together
    steps: frozenset = frozenset()  # widening steps this person has earned (mixed_themes, group_of_four)
    visiting: str | None = None  # "neighbouring" or "digital" when here by widening
    visiting_reason: str = ""

    @property
    def queue_key(self):
        return (self.waiting_since, self.registration_id)


@dataclass(frozen=True)
class PoolSettings:
    contact_point_id: str
    min_size: int = 5
    max_size: int = 8
    serves: frozenset = frozenset()  # municipalities the contact point serves
    digital: bool = False
    widening_days: dict = field(default_factory=lambda: dict(DEFAULT_WIDENING_DAYS))
    exact_budget: float = DEFAULT_EXACT_BUDGET
    exact_workers: int = DEFAULT_EXACT_WORKERS


@dataclass
class Unit:
    """One person, or a cohort kept together. `labels` are the groups it can join."""

    index: int
    people: list
    labels: frozenset
    years: tuple  # (lowest, highest) known birth year, or None
    steps: frozenset
    rank: int = 0  # position in the queue: 0 waited longest
    size: int = 0

    def __post_init__(self):
        self.size = len(self.people)

    @property
    def ids(self):
        return [p.registration_id for p in self.people]


@dataclass
class Proposal:
    group_id: str
    contact_point_id: str
    slot: str
    theme: str | None
    members: list  # registration ids, longest-waiting first
    relaxed: list
    explanation: dict


@dataclass
class Outcome:
    proposals: list
    waiting: dict  # registration id -> why they still wait
    solver: str = "greedy"
    superseded: list = field(default_factory=list)  # group ids of proposals replaced (a re-solve)
    exact_time: float = 0.0  # CP-SAT's deterministic time spent

    @property
    def placed(self):
        return sum(len(p.members) for p in self.proposals)


@dataclass(frozen=True)
class Keep:
    """An unconfirmed proposal a re-solve must respect: its units stay placed, and no group that
    takes any of them is smaller than `size`."""

    label: tuple
    units: tuple  # unit indexes
    size: int


# --- eligibility -----------------------------------------------------------------------------------


def earned_steps(waited_days, widening_days):
    return frozenset(step for step in STEPS if waited_days >= widening_days.get(step, float("inf")))


def may_join_pool(person, pool):
    """A person who asked not to be placed in their own municipality is never pooled there."""
    return not (person.not_in_own_municipality and person.municipality_number in pool.serves and not pool.digital)


def person_labels(person):
    labels = {(slot, theme) for slot in person.slots for theme in person.themes}
    if person.open_to_mixed and "mixed_themes" in person.steps:
        labels |= {(slot, MIXED) for slot in person.slots}
    return labels


def build_units(people, pool, together=()):
    """Units in queue order; cohorts kept together become one unit (if they fit in one group).
    `together` are sets of registration ids (the unconfirmed proposals of a re-solve): a cohort
    is only joined within one such set, or among the people outside them."""
    eligible = sorted((p for p in people if may_join_pool(p, pool)), key=lambda p: p.queue_key)
    if not together:
        return _number(_units_of(eligible, pool))
    segment = {rid: n for n, ids in enumerate(together) for rid in ids}
    parts = {}
    for person in eligible:
        parts.setdefault(segment.get(person.registration_id, -1), []).append(person)
    chunks = [chunk for key in sorted(parts) for chunk in _units_of(parts[key], pool)]
    return _number(sorted(chunks, key=lambda chunk: chunk[0].queue_key))


def _number(chunks):
    units = []
    for chunk in chunks:
        labels = frozenset.intersection(*(frozenset(person_labels(p)) for p in chunk))
        years = [p.birth_year for p in chunk if p.birth_year is not None]
        units.append(
            Unit(
                index=len(units),
                people=chunk,
                labels=labels,
                years=(min(years), max(years)) if years else None,
                steps=frozenset.intersection(*(p.steps for p in chunk)),
                rank=len(units),
            )
        )
    return units


def _units_of(eligible, pool):
    """The people of `eligible` (in queue order) as lists of people: one each, a cohort together."""
    cohorts, order = {}, []
    for person in eligible:
        if person.cohort_id:
            if person.cohort_id not in cohorts:
                cohorts[person.cohort_id] = []
                order.append(("cohort", person.cohort_id))
            cohorts[person.cohort_id].append(person)
        else:
            order.append(("person", person))
    chunks = []
    for kind, value in order:
        members = cohorts[value] if kind == "cohort" else [value]
        if kind == "cohort" and len(members) > pool.max_size:
            chunks.extend(members[i : i + pool.max_size] for i in range(0, len(members), pool.max_size))
        else:
            chunks.append(members)
    return chunks


class Rules:
    """The pairwise hard constraints over units, and the size rules of one pool."""

    def __init__(self, units, pool, acquaintances=(), avoid=()):
        self.units = units
        self.pool = pool
        owner = {p.registration_id: u.index for u in units for p in u.people}
        self.enemies = {u.index: set() for u in units}
        for pair in acquaintances:
            a, b = tuple(pair)
            if a in owner and b in owner:
                self.enemies[owner[a]].add(owner[b])
                self.enemies[owner[b]].add(owner[a])
        self.avoid = [frozenset(owner[r] for r in ids) for ids in avoid if all(r in owner for r in ids)]
        # a cohort holding acquaintances, a wide age span or a whole rejected set cannot stay
        # together: every group it joined would break a rule, so it joins none
        rejected_alone = {unit for rejected in self.avoid if len(rejected) == 1 for unit in rejected}
        for unit in units:
            if (
                unit.index in self.enemies[unit.index]
                or unit.index in rejected_alone
                or (unit.years and unit.years[1] - unit.years[0] > AGE_SPAN_YEARS)
            ):
                unit.labels = frozenset()

    def min_size(self, members):
        """The smallest group these members may form: 4 once all have earned the group-of-four step."""
        if all("group_of_four" in self.units[i].steps for i in members):
            return min(self.pool.min_size, SMALLEST_WIDENED_SIZE)
        return self.pool.min_size

    def compatible(self, unit, members, span):
        """Can `unit` join `members` (whose birth years span `span`)? Returns the new span or False."""
        if self.enemies[unit.index] & members:
            return False
        if unit.years is None:
            return span
        if span is None:
            return unit.years
        low, high = min(span[0], unit.years[0]), max(span[1], unit.years[1])
        return (low, high) if high - low <= AGE_SPAN_YEARS else False

    def repeats_rejected(self, members):
        return any(rejected <= members for rejected in self.avoid)

    def valid(self, members, label):
        """Every rule for one group (used to verify any solution, exact or greedy)."""
        size = sum(self.units[i].size for i in members)
        if not (self.min_size(members) <= size <= self.pool.max_size):
            return False
        if any(label not in self.units[i].labels for i in members):
            return False
        span, chosen = None, set()
        for i in members:
            span = self.compatible(self.units[i], chosen, span)
            if span is False:
                return False
            chosen.add(i)
        return not self.repeats_rejected(frozenset(members))


# --- the greedy ------------------------------------------------------------------------------------


def fill_group(rules, candidates, target, seed=()):
    """Greedily fill a group from `candidates` (in priority order) up to `target` people. If plain
    priority order falls short, birth-year windows are tried so a wide age range still gives the
    largest group."""
    best = _fill(rules, candidates, target, seed, None)
    if best[0] >= target:
        return best[1]
    known = sorted({u.years[0] for u in candidates if u.years is not None})
    if known and known[-1] - known[0] > AGE_SPAN_YEARS:
        for start in known[:: max(1, len(known) // MAX_WINDOWS)]:
            found = _fill(rules, candidates, target, seed, start)
            if found[0] > best[0]:
                best = found
                if best[0] >= target:
                    break
    return best[1]


def _fill(rules, candidates, target, seed, window_start):
    members, size, span = list(seed), sum(rules.units[i].size for i in seed), None
    chosen = set(seed)
    for i in seed:
        span = rules.compatible(rules.units[i], chosen - {i}, span)
    for unit in candidates:
        if size + unit.size > target:
            continue
        if (
            window_start is not None
            and unit.years is not None
            and not (window_start <= unit.years[0] and unit.years[1] <= window_start + AGE_SPAN_YEARS)
        ):
            continue
        new_span = rules.compatible(unit, chosen, span)
        if new_span is False:
            continue
        if rules.avoid and rules.repeats_rejected(frozenset(chosen | {unit.index})):
            continue
        members.append(unit.index)
        chosen.add(unit.index)
        span, size = new_span, size + unit.size
        if size >= target:
            break
    return size, members


def _target_size(count, pool):
    """How many of `count` available people to put in the next group of one label, leaving a
    remainder that can still form a group where possible."""
    if count <= pool.max_size:
        return count
    if count - pool.max_size >= pool.min_size:
        return pool.max_size
    return max(pool.min_size, count - pool.min_size)


def greedy(units, rules, seeds=()):
    """Scarcest label first; within a label, the least flexible units, then the longest-waiting.
    `seeds` are groups that stand (a re-solve's proposals): the repair may top them up, never take
    from them. Returns [(label, [unit indexes])], the seeds first."""
    pool = rules.pool
    seeded = {i for _, members in seeds for i in members}
    by_label = {}
    for unit in units:
        if unit.index in seeded:
            continue
        for label in unit.labels:
            by_label.setdefault(label, []).append(unit)
    for members in by_label.values():
        members.sort(key=lambda u: (len(u.labels), u.rank))
    heads = dict.fromkeys(by_label, 0)  # everyone before the head of a label is placed
    counts = {label: sum(u.size for u in members) for label, members in by_label.items()}
    smallest = smallest_group(pool)
    available = {u.index for u in units} - seeded
    groups, dead = [(label, list(members)) for label, members in seeds], set()
    keys = {label: (label[1] is MIXED, _label_order(label), label) for label in counts}
    queue = [(count, *keys[label]) for label, count in counts.items()]
    heapq.heapify(queue)  # lazy: an entry whose count is stale is skipped; counts only fall
    while queue:
        count, _, _, label = heapq.heappop(queue)
        if count != counts[label] or count < smallest or label in dead:
            continue
        candidates = _first_available(by_label[label], heads, label, available)
        members = fill_group(rules, candidates, _target_size(count, pool))
        if not members or not rules.valid(members, label):
            dead.add(label)  # its candidates only shrink from here: drop it
            continue
        groups.append((label, members))
        touched = set()
        for i in members:
            available.discard(i)
            for other in units[i].labels:
                counts[other] -= units[i].size
                touched.add(other)
        for other in touched:
            if counts[other] >= smallest:
                heapq.heappush(queue, (counts[other], *keys[other]))
    return repair(units, rules, groups, available, frozen=len(seeds))


def _first_available(ordered, heads, label, available):
    """The first CANDIDATE_CAP available units of a label, in priority order: big pools need
    not scan everyone for each group."""
    head = heads[label]
    while head < len(ordered) and ordered[head].index not in available:
        head += 1
    heads[label] = head
    found = []
    for unit in itertools.islice(ordered, head, None):
        if unit.index in available:
            found.append(unit)
            if len(found) >= CANDIDATE_CAP:
                break
    return found


def _label_order(label):
    return (label[0], label[1] or "")


def repair(units, rules, groups, available, frozen=0):
    """Local improvement: put leftovers into groups with room, then build new groups from
    leftovers plus members that groups above their minimum can spare (never the first `frozen`
    groups: proposals do not shrink). Every change places more people, so it ends; big pools stop
    after a few rounds, where little is left to gain."""
    rounds = REPAIR_ROUNDS if len(units) > FULL_REPAIR_LIMIT else len(units) + 1
    changed = True
    while changed and rounds:
        rounds -= 1
        changed = _insert_leftovers(units, rules, groups, available)
        changed = _regroup_leftovers(units, rules, groups, available, frozen) or changed
    return groups


def _size(units, members):
    return sum(units[i].size for i in members)


def _insert_leftovers(units, rules, groups, available):
    by_label = {}
    for g, (label, _) in enumerate(groups):
        by_label.setdefault(label, []).append(g)
    changed = False
    for unit in sorted((units[i] for i in available), key=lambda u: u.rank):
        for label in sorted(unit.labels & by_label.keys(), key=_label_order):
            g = next(
                (
                    g
                    for g in by_label[label]
                    if _size(units, groups[g][1]) + unit.size <= rules.pool.max_size
                    and rules.valid(groups[g][1] + [unit.index], label)
                ),
                None,
            )
            if g is not None:
                groups[g] = (label, groups[g][1] + [unit.index])
                available.discard(unit.index)
                changed = True
                break
    return changed


def _regroup_leftovers(units, rules, groups, available, frozen=0):
    pool = rules.pool
    leftovers_by_label, spare_by_label = {}, {}
    for i in sorted(available):
        for label in units[i].labels:
            leftovers_by_label.setdefault(label, []).append(units[i])
    for g, (_, members) in enumerate(groups):
        if g < frozen:
            continue
        surplus = _size(units, members) - rules.min_size(members)
        for i in members:
            if units[i].size <= surplus:
                for label in units[i].labels & leftovers_by_label.keys():
                    spare_by_label.setdefault(label, []).append((g, units[i]))
    changed = False
    for label in sorted(leftovers_by_label, key=lambda label: (label[1] is MIXED, _label_order(label))):
        leftovers = sorted((u for u in leftovers_by_label[label] if u.index in available), key=lambda u: u.rank)
        spare = [(g, u) for g, u in spare_by_label.get(label, ()) if u.index in groups[g][1]]
        if not leftovers or sum(u.size for u in leftovers) + sum(u.size for _, u in spare) < pool.min_size:
            continue
        candidates = leftovers[:CANDIDATE_CAP] + [u for _, u in sorted(spare, key=lambda s: -s[1].rank)][:CANDIDATE_CAP]
        chosen = fill_group(rules, candidates, pool.max_size)
        donors = {}
        for g, unit in spare:
            if unit.index in chosen:
                donors.setdefault(g, []).append(unit.index)
        if not any(i in available for i in chosen) or not rules.valid(chosen, label):
            continue
        remaining = {g: [i for i in groups[g][1] if i not in taken] for g, taken in donors.items()}
        if not all(rules.valid(members, groups[g][0]) for g, members in remaining.items()):
            continue
        for g, members in remaining.items():
            groups[g] = (groups[g][0], members)
        groups.append((label, chosen))
        available.difference_update(chosen)
        changed = True
    return changed


def score(units, groups):
    """The §4.5 objective as one integer: placed, then same-theme, then the longest-waiting."""
    n = len(units) + 1
    per_person = 2 * n + 1
    weight = sum(u.size for u in units) * per_person + 1
    total = 0
    for label, members in groups:
        for i in members:
            unit = units[i]
            total += unit.size * (weight + (n if label[1] is not MIXED else 0) + (n - 1 - unit.rank))
    return total


# --- proposing ----------------------------------------------------------------------------------


def propose(people, pool, now, acquaintances=(), avoid=(), exact=True, proposed=()):
    """All groups that can be proposed from one pool now, with an explanation each, and why
    everyone else still waits. `proposed` are the pool's unconfirmed proposals (Proposal-like:
    group_id, slot, theme, members), whose members are among `people`: a re-solve keeps each one
    that is as good as any replacement, and lists the others in `Outcome.superseded`."""
    proposed = list(proposed)
    units = build_units(people, pool, [set(p.members) for p in proposed])
    rules = Rules(units, pool, acquaintances, avoid)
    keeps, stale = _keeps(units, rules, proposed)
    if stale:  # proposals that no longer fit their rules are left as they are, out of the solve
        left_out = {r for p in stale for r in p.members}
        people = [p for p in people if p.registration_id not in left_out]
        proposed = [p for p in proposed if p not in stale]
        units = build_units(people, pool, [set(p.members) for p in proposed])
        rules = Rules(units, pool, acquaintances, avoid)
        keeps, _ = _keeps(units, rules, proposed)
    groups = greedy(units, rules, [(k.label, list(k.units)) for k in keeps])
    solver, notes, exact_time = "greedy", {}, 0.0
    # the components where the greedy may fall short of the best: only those go to CP-SAT (the
    # bound costs as much as the greedy, so it is not computed when CP-SAT is off)
    parts = (
        [part for part in component_units(units) if _placed_in(units, groups, part) < upper_bound(units, rules, part)]
        if exact
        else []
    )
    if parts:
        from .exact import solve  # imported lazily: OR-Tools is large

        solution = solve(
            units,
            rules,
            hint=groups,
            budget=pool.exact_budget,
            workers=pool.exact_workers,
            keep=keeps,
            components=parts,
        )
        exact_time = solution.deterministic_time
        groups, improved = _better_parts(units, rules, keeps, groups, solution, parts)
        solver = "exact" if improved else solver
        notes = {i: SOLVER_NOTES[status] for i, status in solution.status_of_unit.items() if status in SOLVER_NOTES}
    outcome = _outcome(people, units, rules, groups, pool, now, solver, notes, keeps, proposed)
    outcome.exact_time = exact_time
    return outcome


def _keeps(units, rules, proposed):
    """(Keep per proposal that still fits every rule, the proposals that do not)."""
    owner = {rid: u.index for u in units for rid in u.ids}
    keeps, stale = [], []
    for proposal in proposed:
        members = sorted({owner[r] for r in proposal.members if r in owner})
        label = (proposal.slot, proposal.theme)
        whole = all(r in owner for r in proposal.members) and len(proposal.members) == _size(units, members)
        if whole and rules.valid(members, label):
            keeps.append(Keep(label, tuple(members), len(proposal.members)))
        else:
            stale.append(proposal)
    return keeps, stale


def _label_roots(units):
    """Union-find over the labels of `units`, joined by the units that hold several: a function
    from a label to its cluster's root, the cluster's first label in label order (so the roots do
    not depend on the order of the units)."""
    parent = {}

    def root(label):
        while parent[label] != label:
            parent[label] = parent[parent[label]]
            label = parent[label]
        return label

    for unit in units:
        labels = sorted(unit.labels, key=_label_order)
        for label in labels:
            parent.setdefault(label, label)
        for other in labels[1:]:
            first, second = sorted((root(labels[0]), root(other)), key=_label_order)
            parent[second] = first
    return root


def component_units(units):
    """The unit indexes of each component of a pool: labels joined by the units that share them.
    No group spans two components, so each can be solved on its own. Units with no label are
    left out (they cannot be placed)."""
    root = _label_roots(units)
    parts = {}
    for unit in units:
        if unit.labels:
            parts.setdefault(root(min(unit.labels, key=_label_order)), []).append(unit.index)
    return [parts[key] for key in sorted(parts, key=_label_order)]


def _placed_in(units, groups, part):
    inside = set(part)
    return sum(units[i].size for _, members in groups for i in members if i in inside)


def objective(units, groups, keeps=()):
    """What a re-solve maximises: `score`, then (below every other term) the proposals kept as
    they are."""
    kept = {(k.label, tuple(sorted(k.units))) for k in keeps}
    unchanged = sum(1 for label, members in groups if (label, tuple(sorted(members))) in kept)
    return score(units, groups) * (len(keeps) + 1) + unchanged


def _better_parts(units, rules, keeps, groups, solution, parts):
    """Per component, the exact solver's groups where they keep every rule (and every proposal's
    people placed) and beat the greedy's; the greedy's elsewhere. Returns (groups, improved)."""
    improved, result = False, []
    solved = {}
    for label, members in solution.groups:
        solved.setdefault(members[0], []).append((label, members))
    unit_part = {i: n for n, part in enumerate(parts) for i in part}
    for part in parts:
        inside = set(part)
        mine = [g for g in groups if g[1][0] in inside]
        theirs = [g for i in sorted(solved) if i in inside for g in solved[i]]
        part_keeps = [k for k in keeps if k.units[0] in inside]
        must = {i for k in part_keeps for i in k.units}
        fits = all(rules.valid(members, label) for label, members in theirs) and must <= {
            i for _, members in theirs for i in members
        }
        if fits and objective(units, theirs, part_keeps) > objective(units, mine, part_keeps):
            result.extend(theirs)
            improved = True
        else:
            result.extend(mine)
    result.extend(g for g in groups if g[1][0] not in unit_part)
    return result, improved


def placed_of(units, groups):
    return sum(units[i].size for _, members in groups for i in members)


def upper_bound(units, rules, indexes=None):
    """No grouping can place more than this; a greedy that reaches it is optimal. Per cluster of
    labels that share people: at most those who share a label with enough compatible others
    (four for those who have earned groups of four, the minimum for the rest), and at most the sum
    over its labels of the most people that groups of the allowed sizes can hold (groups of four
    only in a label where four people have earned them). `indexes` limits it to those units."""
    pool = rules.pool
    considered = units if indexes is None else [units[i] for i in indexes]
    by_label = {}
    for unit in considered:
        for label in unit.labels:
            by_label.setdefault(label, []).append(unit)
    placeable = []
    for unit in considered:
        need = rules.min_size([unit.index])
        for label in sorted(unit.labels, key=_label_order):
            company = sum(
                other.size
                for other in by_label[label]
                if other is unit or rules.compatible(other, {unit.index}, unit.years) is not False
            )
            if company >= need:
                placeable.append(unit)
                break
    root = _label_roots(placeable)
    people, capacity, counts, fours = {}, {}, {}, {}
    for unit in placeable:
        cluster = root(min(unit.labels, key=_label_order))
        people[cluster] = people.get(cluster, 0) + unit.size
        for label in unit.labels:
            counts[label] = counts.get(label, 0) + unit.size
            if "group_of_four" in unit.steps:
                fours[label] = fours.get(label, 0) + unit.size
    for label, count in counts.items():
        smallest = pool.min_size
        if fours.get(label, 0) >= SMALLEST_WIDENED_SIZE:
            smallest = smallest_group(pool)
        capacity[root(label)] = capacity.get(root(label), 0) + _most_placeable(count, smallest, pool.max_size)
    return sum(min(people[c], capacity[c]) for c in people)


def _most_placeable(count, smallest, largest):
    """The most of `count` people that groups of smallest..largest can hold."""
    for placed in range(count, 0, -1):
        groups = -(-placed // largest)
        if groups * smallest <= placed:
            return placed
    return 0


def smallest_group(pool):
    """No group of this pool has fewer people (the group-of-four step at the lowest)."""
    return min(pool.min_size, SMALLEST_WIDENED_SIZE)


def place_one(newcomer_id, people, pool, now, acquaintances=(), avoid=()):
    """Incremental placement after one arrival: the best group that includes the newcomer, or
    None. Groups without the newcomer were possible before; the re-solve finds those. Only the
    people who share a time slot with the newcomer (and their cohorts) are looked at."""
    me = next((p for p in people if p.registration_id == newcomer_id), None)
    if me is None:
        return None
    cohorts = {p.cohort_id for p in people if p.cohort_id and p.slots & me.slots}
    near = [p for p in people if p.slots & me.slots or (p.cohort_id and p.cohort_id in cohorts)]
    units = build_units(near, pool)
    queue = {p.registration_id: n for n, p in enumerate(sorted(people, key=lambda p: p.queue_key))}
    for unit in units:  # places in the whole pool's queue, so ties break as they would there
        unit.rank = queue[unit.people[0].registration_id]
    rules = Rules(units, pool, acquaintances, avoid)
    mine = next((u for u in units if newcomer_id in u.ids), None)
    if mine is None:
        return None
    best = None
    smallest = rules.min_size([mine.index])
    for label in sorted(mine.labels, key=_label_order):
        candidates = [u for u in units if label in u.labels and u.index != mine.index]
        if sum(u.size for u in candidates) + mine.size < smallest:
            continue
        members = fill_group(rules, candidates, pool.max_size, seed=(mine.index,))
        if rules.valid(members, label):
            key = (sum(units[i].size for i in members), label[1] is not MIXED, -sum(units[i].rank for i in members))
            if best is None or key > best[0]:
                best = (key, label, members)
    if best is None:
        return None
    outcome = _outcome(near, units, rules, [(best[1], best[2])], pool, now, "incremental")
    return outcome.proposals[0]


def _outcome(people, units, rules, groups, pool, now, solver, notes=None, keeps=(), proposed=()):
    """The proposals (a kept one as it was, a new one with its explanation) and why the others wait."""
    kept = {(k.label, tuple(sorted(k.units))): p for k, p in zip(keeps, proposed, strict=True)}
    was_in = {rid: p.group_id for p in proposed for rid in p.members}
    proposals = []
    for label, members in sorted(groups, key=lambda g: min(units[i].rank for i in g[1])):
        same = kept.get((label, tuple(sorted(members))))
        if same is None:
            note = next((notes[i] for i in sorted(members) if notes and i in notes), "")
            replaces = sorted({was_in[r] for i in members for r in units[i].ids if r in was_in})
            if replaces:
                note = f"It replaces {', '.join(replaces)}: everyone proposed there is still proposed. {note}".strip()
            same = _proposal(units, label, members, pool, now, note)
        proposals.append(same)
    ids = {p.group_id for p in proposals}
    superseded = [p.group_id for p in proposed if p.group_id not in ids]
    placed = {r for p in proposals for r in p.members}
    waiting = {}
    totals = {}
    for unit in units:
        for label in unit.labels:
            totals[label] = totals.get(label, 0) + unit.size
    unit_of = {rid: u for u in units for rid in u.ids}
    for person in people:
        rid = person.registration_id
        if rid not in placed:
            waiting[rid] = _why_waiting(person, unit_of.get(rid), totals, pool)
    return Outcome(proposals=proposals, waiting=waiting, solver=solver, superseded=superseded)


def _why_waiting(person, unit, totals, pool):
    if unit is None:
        return "not pooled here: asked not to be placed in their own municipality"
    if not unit.labels:
        return (
            "a cohort kept together that shares no time slot and theme, or holds acquaintances "
            "or a set of people staff rejected"
        )
    if not any(totals[label] >= smallest_group(pool) for label in unit.labels):
        return (
            f"fewer than {pool.min_size} people share a time slot and a theme "
            "(or openness to mixed groups) with them yet"
        )
    return (
        "the people who share a slot and theme with them are in other groups, are acquaintances "
        "or are outside their 15-year age span"
    )


def group_id_for(pool_id, members, now, label=None):
    """Stable for the same pool, people, moment and label (slot, theme); a re-solve that keeps the
    people but changes the slot or theme makes another id. A course cohort gives no label."""
    parts = [pool_id, now.isoformat(), *sorted(members)]
    if label is not None:
        parts.append(f"{label[0]}|{label[1] or 'mixed'}")
    digest = sha1("|".join(parts).encode()).hexdigest()
    return f"g-{digest[:16]}"


def _proposal(units, label, members, pool, now, note=""):
    chosen = sorted((p for i in members for p in units[i].people), key=lambda p: p.queue_key)
    ids = [p.registration_id for p in chosen]
    slot, theme = label
    relaxed = relaxations(chosen, theme, pool)
    explanation = explain(chosen, slot, theme, relaxed, pool, now, note)
    return Proposal(
        group_id=group_id_for(pool.contact_point_id, ids, now, label),
        contact_point_id=pool.contact_point_id,
        slot=slot,
        theme=theme,
        members=ids,
        relaxed=relaxed,
        explanation=explanation,
    )


def relaxations(members, theme, pool):
    """Each widening step the group relies on: after how many days of waiting it applies, who
    came through it (none for a step the whole group takes), and the reason a contact person can check."""
    days = pool.widening_days
    relaxed = []
    if theme is MIXED:
        relaxed.append(
            {
                "step": "mixed_themes",
                "reason": (
                    f"no shared theme: all {len(members)} accept mixed groups and each has waited at least "
                    f"{days['mixed_themes']} days"
                ),
                "after_days": days["mixed_themes"],
                "registration_ids": [],
            }
        )
    for step in ("neighbouring", "digital"):
        visitors = [p for p in members if p.visiting == step]
        if visitors:
            ids = ", ".join(p.registration_id for p in visitors)
            relaxed.append(
                {
                    "step": step,
                    "reason": (
                        f"{ids} waited more than {days[step]} days at their own contact point"
                        f" ({visitors[0].visiting_reason or step})"
                    )[:300],
                    "after_days": days[step],
                    "registration_ids": [p.registration_id for p in visitors],
                }
            )
    if len(members) < pool.min_size:
        relaxed.append(
            {
                "step": "group_of_four",
                "reason": (
                    f"a group of {len(members)} below the usual {pool.min_size}: everyone has waited at least "
                    f"{days['group_of_four']} days"
                ),
                "after_days": days["group_of_four"],
                "registration_ids": [],
            }
        )
    return relaxed


def explain(members, slot, theme, relaxed, pool, now, note=""):
    longest = max(0, (now - members[0].waiting_since).days)
    ids = ", ".join(p.registration_id for p in members)
    what = f"the theme {theme}" if theme is not MIXED else "no single theme (a mixed group: all accept that)"
    text = (
        f"{len(members)} people ({ids}) can all meet {slot_text(slot)} and share {what}. "
        f"Group size {len(members)} of {pool.min_size}-{pool.max_size}; "
        f"the longest-waiting has waited {longest} days. "
        "No recorded acquaintances are together; known birth years span at most 15 years."
    )
    if relaxed:
        text += " Relaxed: " + "; ".join(f"{r['step']} ({r['reason']})" for r in relaxed) + "."
    else:
        text += " Nothing was relaxed."
    if note:
        text += " " + note
    return {
        "summary": text[:2000],
        "slot": slot_dict(slot),
        "theme": theme,
        "mixed": theme is MIXED,
        "relaxed": relaxed,
        "longest_wait_days": longest,
    }
