"""An exact model of one pool for OR-Tools CP-SAT (pure: no nameko, no pymongo).

The model counts rather than seats. A *bucket* is a label (slot and theme, or mixed) with a
15-year window of birth years (people without a known birth year fit every window). Every group
lies in a bucket: its members share its label and their known birth years lie within the window
that starts at the group's lowest one. So a grouping is a choice of at most one bucket per unit,
and a number of groups per bucket that its people can fill: n groups of min..max people, and
groups of exactly four from people who have all earned that step. Acquaintances, and the sets of
people staff rejected, need at least two groups in a bucket that holds them all. Without seats,
the model has none of the symmetry of interchangeable groups, and its linear relaxation is tight
enough to prove the optimum in pools of hundreds.

A re-solve (design §4.13) brings the pool's unconfirmed proposals: everyone in one stays placed
(so the people a proposal placed never become fewer), though a better plan may regroup them. A
proposal whose people all stay in a bucket of its own label is cut as it was (and topped up where
there is room): it scores a little more than its people regrouped.

The solution is then cut into groups (`_groups_of`): groups of four first, then the new groups,
filled to their minimum in queue order, then the rest wherever there is room, never beside an
acquaintance. Every group is checked against every rule; a part whose cut fails keeps the
greedy's groups (the explanation says so).

The pool is split into *components* (labels joined by the units that share them): no group spans
two, so each is solved on its own, exactly (a slot, or a slot and a theme, where the people allow
it). CP-SAT runs with a fixed number of workers and a *deterministic* time limit, split over the
components by their number of people, with `interleave_search` when there is more than one worker:
the same input always gives the same groups.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from . import engine

#: Variables per unit of deterministic budget the model may have; larger models are not built
#: (the greedy's groups stand, and the explanation says so).
VARIABLES_PER_BUDGET = 100_000
#: A component's outcome, worst first.
STATUSES = ("none", "too_large", "feasible", "optimal")


@dataclass
class Solution:
    groups: list  # [(label, [unit indexes])], sorted
    status: str  # the worst of its components' STATUSES
    placed_bound: int | None = None  # no grouping places more (objective "placed" only)
    deterministic_time: float = 0.0
    components: int = 0
    status_of_unit: dict = field(default_factory=dict)  # unit index -> the status of its component


@dataclass
class _Item:
    """What the model places: a unit, or a block (a proposal kept whole)."""

    units: tuple
    size: int
    labels: frozenset
    years: tuple | None
    fours: bool  # every member has earned the group-of-four step
    value: int  # the sum of the members' places in the queue, counted as engine.score does


def solve(
    units,
    rules,
    hint=None,
    budget=engine.DEFAULT_EXACT_BUDGET,
    workers=1,
    keep: Sequence[engine.Keep] = (),
    objective="score",
    components=None,
    seconds=None,
):
    """The best grouping found within `budget` (None = until proven), as a Solution. `objective`
    is "score" (engine.score, with the re-solve's stability term) or "placed" (people placed
    only: the benchmark's reference optimum). `components` (lists of unit indexes) limits the
    solve to those; by default every component of the pool. `seconds` adds a limit in real
    time (not deterministic: for the benchmark's reference only)."""
    parts = engine.component_units(units) if components is None else components
    total = sum(units[i].size for part in parts for i in part) or 1
    hint_by_unit = {i: (label, members) for label, members in (hint or ()) for i in members}
    found, statuses, spent = [], {}, 0.0
    bound: int | None = 0
    for part in parts:
        inside = set(part)
        weight = sum(units[i].size for i in part) / total
        share = None if budget is None else budget * weight
        part_hint = _hint_within(hint_by_unit, inside)
        part_keep = [k for k in keep if set(k.units) <= inside]
        limits = (share, None if seconds is None else seconds * weight)
        result = _solve_part(units, rules, part, part_hint, limits, workers, part_keep, objective)
        spent += result.deterministic_time
        statuses.update(dict.fromkeys(part, result.status))
        bound = None if bound is None or result.placed_bound is None else bound + result.placed_bound
        found.extend(part_hint if result.status in ("none", "too_large") else result.groups)
    return Solution(
        groups=sorted(found, key=lambda g: (engine._label_order(g[0]), g[1])),
        status=min(statuses.values(), key=STATUSES.index, default="optimal"),
        placed_bound=bound,
        deterministic_time=spent,
        components=len(parts),
        status_of_unit=statuses,
    )


def optimum(units, rules, budget=None, hint=None, workers=1, seconds=None):
    """(groups, proven_optimal, placed_bound): the most people any grouping places (the benchmark)."""
    solution = solve(units, rules, hint=hint, budget=budget, workers=workers, objective="placed", seconds=seconds)
    return solution.groups, solution.status == "optimal", solution.placed_bound


def _hint_within(hint_by_unit, inside):
    groups, seen = [], set()
    for i in sorted(inside):
        if i in hint_by_unit:
            label, members = hint_by_unit[i]
            if (label, tuple(members)) not in seen:
                seen.add((label, tuple(members)))
                groups.append((label, list(members)))
    return groups


def _items(units, part):
    n = len(units) + 1
    return [
        _Item(
            units=(i,),
            size=units[i].size,
            labels=units[i].labels,
            years=units[i].years,
            fours="group_of_four" in units[i].steps,
            value=units[i].size * (n - 1 - units[i].rank),
        )
        for i in sorted(part)
        if units[i].labels
    ]


def _buckets(items):
    """{(label, window start or None): [item indexes]}: who may sit in which bucket."""
    by_label = {}
    for n, item in enumerate(items):
        for label in item.labels:
            by_label.setdefault(label, []).append(n)
    buckets = {}
    for label in sorted(by_label, key=engine._label_order):
        inside = by_label[label]
        starts = sorted({items[n].years[0] for n in inside if items[n].years is not None})
        for start in starts or [None]:
            fits = [
                n
                for n in inside
                if items[n].years is None
                or start is None
                or (start <= items[n].years[0] and items[n].years[1] <= start + engine.AGE_SPAN_YEARS)
            ]
            buckets[(label, start)] = fits
    return buckets


def _solve_part(units, rules, part, hint, limits, workers, keep, objective):
    budget, seconds = limits
    items = _items(units, part)
    buckets = _buckets(items)
    if budget is not None and sum(len(v) for v in buckets.values()) > VARIABLES_PER_BUDGET * budget:
        return Solution(groups=[], status="too_large")
    if not buckets:
        return Solution(groups=[], status="optimal", placed_bound=0)
    model = cp_model.CpModel()
    n = len(units) + 1
    weight = sum(u.size for u in units) * (2 * n + 1) + 1
    stability = len(keep) + 1 if objective == "score" else 1
    y, counts, terms = {}, {}, []
    item_of_unit = {i: m for m, item in enumerate(items) for i in item.units}
    for b, (bucket, inside) in enumerate(buckets.items()):
        label = bucket[0]
        for m in inside:
            var = y[(m, bucket)] = model.NewBoolVar(f"y{m}_{b}")
            item = items[m]
            if objective == "placed":
                terms.append(item.size * var)
            else:
                bonus = n if label[1] is not engine.MIXED else 0
                terms.append(stability * (item.size * (weight + bonus) + item.value) * var)
        counts[bucket] = _bucket_rules(model, rules, items, bucket, inside, y)
    by_item = {}
    for (m, _), var in y.items():
        by_item.setdefault(m, []).append(var)
    must = {item_of_unit[i] for k in keep for i in k.units if i in item_of_unit}
    for m in range(len(items)):
        if m in must:
            if m not in by_item:
                return Solution(groups=[], status="none")  # a proposal no longer fits its rules
            model.AddExactlyOne(by_item[m])
        elif m in by_item:
            model.AddAtMostOne(by_item[m])
    _apart(model, rules, items, buckets, y, counts, item_of_unit)
    if objective == "score":
        terms.extend(_whole(model, items, buckets, y, keep, item_of_unit))
    model.Maximize(sum(terms))
    if hint:
        _add_hint(model, items, buckets, y, counts, hint, item_of_unit)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = max(1, int(workers))
    if workers > 1:
        solver.parameters.interleave_search = True  # deterministic with several workers too
    solver.parameters.random_seed = 7
    if budget is not None:
        solver.parameters.max_deterministic_time = float(budget)
    if seconds is not None:
        solver.parameters.max_time_in_seconds = float(seconds)
    status = solver.Solve(model)
    spent = solver.deterministic_time
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return Solution(groups=[], status="none", deterministic_time=spent)
    chosen = {bucket: [m for m in inside if solver.Value(y[(m, bucket)])] for bucket, inside in buckets.items()}
    groups = []
    for bucket, members in chosen.items():
        if members:
            fours = solver.Value(counts[bucket][1]) if counts[bucket][1] is not None else 0
            whole = [k for k in keep if _all_in(k, members, item_of_unit)]
            cut = _groups_of(
                rules, items, bucket[0], members, solver.Value(counts[bucket][0]), fours, whole, item_of_unit
            )
            if cut is None:
                return Solution(groups=[], status="none", deterministic_time=spent)
            groups.extend(cut)
    bound = int(solver.BestObjectiveBound() + 1e-6) if objective == "placed" else None
    return Solution(
        groups=sorted(groups, key=lambda g: (engine._label_order(g[0]), g[1])),
        status="optimal" if status == cp_model.OPTIMAL else "feasible",
        placed_bound=bound,
        deterministic_time=spent,
    )


def _bucket_rules(model, rules, items, bucket, inside, y):
    """The groups a bucket's people can fill: `new` groups of min..max, and `fours` groups of
    exactly four people who have all earned that step. Returns (new, fours, groups in all)."""
    pool = rules.pool
    singles = inside
    people = sum(items[m].size * y[(m, bucket)] for m in singles)
    most = sum(items[m].size for m in singles)
    new = model.NewIntVar(0, most // pool.min_size, "")
    fours = None
    four_people = [m for m in singles if items[m].fours]
    smallest = engine.SMALLEST_WIDENED_SIZE
    if pool.min_size > smallest and sum(items[m].size for m in four_people) >= smallest:
        fours = model.NewIntVar(0, sum(items[m].size for m in four_people) // smallest, "")
        model.Add(smallest * fours <= sum(items[m].size * y[(m, bucket)] for m in four_people))
        rest = people - smallest * fours
    else:
        rest = people
    model.Add(rest >= pool.min_size * new)
    model.Add(rest <= pool.max_size * new)
    return new, fours, new if fours is None else new + fours


def _apart(model, rules, items, buckets, y, counts, item_of_unit):
    """Acquaintances, and each set of people that staff rejected, all in one bucket only if it
    has at least two groups (the cut then keeps them apart)."""
    sets = sorted({(i, j) for i, enemies in rules.enemies.items() for j in enemies if i < j})
    sets += [tuple(sorted(rejected)) for rejected in rules.avoid]
    for members in sets:
        if not all(i in item_of_unit for i in members):
            continue  # someone cannot be placed here: the set is never whole in one group
        owners = sorted({item_of_unit[i] for i in members})
        for bucket in buckets:
            if all((m, bucket) in y for m in owners):
                model.Add(sum(y[(m, bucket)] for m in owners) <= len(owners) - 2 + counts[bucket][2])


#: Most partial cuts `_search_cut` tries before it gives up on a bucket.
CUT_SEARCH_NODES = 20_000


def _groups_of(rules, items, label, members, new, fours, whole=(), item_of_unit=None):
    """Cut one bucket's chosen items into groups: a proposal whose people all sit here starts a
    group as it was; `fours` groups of four from those who earned that; the other groups filled
    to the minimum in queue order; then the rest wherever there is room, the proposals last.
    When that greedy cut breaks a rule (acquaintances the queue order put in one group), a search
    seats the people who must be kept apart first. None if no cut keeps every rule."""
    pool = rules.pool
    as_new = [k for k in whole if k.size >= pool.min_size][:new]
    as_four = [k for k in whole if k.size < pool.min_size][:fours]
    taken = {item_of_unit[i] for k in as_new + as_four for i in k.units}
    singles = sorted((m for m in members if m not in taken), key=lambda m: (-items[m].size, items[m].units))
    four_groups = [list(k.units) for k in as_four] + [[] for _ in range(fours - len(as_four))]
    new_groups = [list(k.units) for k in as_new] + [[] for _ in range(new - len(as_new))]
    cut = _greedy_cut(rules, items, singles, four_groups, new_groups, len(as_new))
    if cut is None:
        cut = _search_cut(rules, items, singles, four_groups, new_groups)
    if cut is None:
        return None
    groups = [(label, sorted(g)) for g in cut]
    if not all(rules.valid(members_, label) for _, members_ in groups):
        return None
    return groups


def _fits(rules, items, group, m, limit):
    if sum(rules.units[i].size for i in group) + items[m].size > limit:
        return False
    chosen = set(group)
    if any(rules.enemies[i] & chosen for i in items[m].units):
        return False
    return not (rules.avoid and rules.repeats_rejected(frozenset(group) | frozenset(items[m].units)))


def _greedy_cut(rules, items, singles, four_groups, new_groups, kept_count):
    pool = rules.pool
    four_groups = [list(g) for g in four_groups]
    new_groups = [list(g) for g in new_groups]

    def size(group):
        return sum(rules.units[i].size for i in group)

    left = []
    for m in singles:  # groups of four take only those who earned them
        target = next((g for g in four_groups if items[m].fours and _fits(rules, items, g, m, 4)), None)
        (target.extend(items[m].units) if target is not None else left.append(m))
    rest = []
    for m in left:  # then every new group to its minimum
        target = next((g for g in new_groups if _fits(rules, items, g, m, pool.min_size)), None)
        (target.extend(items[m].units) if target is not None else rest.append(m))
    kept = {id(g) for g in new_groups[:kept_count]}
    for m in rest:  # then wherever there is room: groups short of their minimum, new ones, proposals
        targets = sorted(new_groups, key=lambda g: (size(g) >= pool.min_size, id(g) in kept))
        target = next((g for g in targets if _fits(rules, items, g, m, pool.max_size)), None)
        if target is None:
            return None
        target.extend(items[m].units)
    return four_groups + new_groups


def _search_cut(rules, items, singles, four_groups, new_groups):
    """A depth-first search for a cut that keeps every rule: those with acquaintances or a
    rejected set among the bucket's people first, each into a group with room (an empty group
    tried once, as empty groups are alike); at most CUT_SEARCH_NODES steps."""
    pool = rules.pool
    groups = [list(g) for g in four_groups + new_groups]
    is_four = [True] * len(four_groups) + [False] * len(new_groups)
    sizes = [sum(rules.units[i].size for i in g) for g in groups]
    inside = {i for m in singles for i in items[m].units}
    rejected = {i for members in rules.avoid for i in members}

    def constrained(m):
        return any(rules.enemies[i] & inside or i in rejected for i in items[m].units)

    order = sorted(singles, key=lambda m: (not constrained(m), -items[m].size, items[m].units))
    nodes = 0

    def place(k):
        nonlocal nodes
        nodes += 1
        if nodes > CUT_SEARCH_NODES:
            return False
        if k == len(order):
            return all(
                sizes[g] == engine.SMALLEST_WIDENED_SIZE if is_four[g] else sizes[g] >= pool.min_size
                for g in range(len(groups))
            )
        m = order[k]
        tried_empty = set()
        for g, group in enumerate(groups):
            if is_four[g] and not items[m].fours:
                continue
            limit = engine.SMALLEST_WIDENED_SIZE if is_four[g] else pool.max_size
            if not group:
                if is_four[g] in tried_empty:
                    continue
                tried_empty.add(is_four[g])
            if not _fits(rules, items, group, m, limit):
                continue
            group.extend(items[m].units)
            sizes[g] += items[m].size
            if place(k + 1):
                return True
            del group[len(group) - len(items[m].units) :]
            sizes[g] -= items[m].size
        return False

    return groups if place(0) else None


def _all_in(keep, members, item_of_unit):
    inside = set(members)
    return all(item_of_unit.get(i) in inside for i in keep.units)


def _whole(model, items, buckets, y, keep, item_of_unit):
    """A proposal whose people all stay in a bucket of its own label (so the cut keeps it as it
    was) earns one point below every other term."""
    bonus = []
    for k in keep:
        owners = sorted({item_of_unit[i] for i in k.units if i in item_of_unit})
        if not owners:
            continue
        for bucket in buckets:
            if bucket[0] == k.label and all((m, bucket) in y for m in owners):
                together = model.NewBoolVar("")
                for m in owners:
                    model.AddImplication(together, y[(m, bucket)])
                bonus.append(together)
    return bonus


def _add_hint(model, items, buckets, y, counts, hint, item_of_unit):
    """Start from the greedy: each of its groups in the bucket of its label whose window starts at
    the group's lowest known birth year."""
    chosen, new, fours = {}, {}, {}
    for label, members in hint:
        known = [items[item_of_unit[i]].years[0] for i in members if i in item_of_unit and items[item_of_unit[i]].years]
        bucket = (label, min(known) if known else None)
        if bucket not in buckets:
            bucket = next((b for b in buckets if b[0] == label), None)
            if bucket is None:
                continue
        for i in members:
            if i in item_of_unit:
                chosen[item_of_unit[i]] = bucket
        if len(members) == engine.SMALLEST_WIDENED_SIZE and counts[bucket][1] is not None:
            fours[bucket] = fours.get(bucket, 0) + 1
        else:
            new[bucket] = new.get(bucket, 0) + 1
    for (m, bucket), var in y.items():
        model.AddHint(var, chosen.get(m) == bucket)
    for bucket, (new_var, fours_var, _) in counts.items():
        model.AddHint(new_var, new.get(bucket, 0))
        if fours_var is not None:
            model.AddHint(fours_var, fours.get(bucket, 0))
