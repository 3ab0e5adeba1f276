"""An exact model of one pool for OR-Tools CP-SAT (pure: no nameko, no pymongo).

Variables x[u, l, k]: unit u sits in the k-th possible group of label l. Each unit sits at most
once; a used group holds min..max people (4 when every member has earned the group-of-four
step); acquaintances never share a group; known birth years of a group lie within 15 years; no
group contains a set of people that staff rejected. The objective is `engine.score`, so the
solver and the greedy are judged alike. One worker and a *deterministic* time limit keep the
answer the same for the same input.
"""

from ortools.sat.python import cp_model

from . import engine


def solve(units, rules, hint=None, budget=engine.DEFAULT_EXACT_BUDGET):
    """The best grouping found within `budget` (None = prove optimality), as [(label, [unit])],
    or None if the solver found nothing."""
    result = _solve(units, rules, hint, budget)
    return result[0] if result and result[0] else None


def optimum(units, rules, budget=None):
    """(groups, proven_optimal): for the benchmark's comparison."""
    result = _solve(units, rules, None, budget)
    return result if result else ([], False)


def _solve(units, rules, hint, budget):
    pool = rules.pool
    smallest = min(pool.min_size, engine.SMALLEST_WIDENED_SIZE)
    members = {}
    for unit in units:
        for label in unit.labels:
            members.setdefault(label, []).append(unit)
    for label, eligible in members.items():  # drop who has too little compatible company there
        members[label] = [
            u
            for u in eligible
            if sum(o.size for o in eligible if o is u or rules.compatible(o, {u.index}, u.years) is not False)
            >= smallest
        ]
    model = cp_model.CpModel()
    x, used = {}, {}
    n = len(units) + 1
    weight = sum(u.size for u in units) * (2 * n + 1) + 1
    objective = []
    for label in sorted(members, key=engine._label_order):
        eligible = members[label]
        total = sum(u.size for u in eligible)
        if total < smallest:
            continue
        for k in range(total // smallest):
            g = (label, k)
            used[g] = model.NewBoolVar(f"used{len(used)}")
            if k:
                model.Add(used[(label, k - 1)] >= used[g])
            size = []
            for unit in eligible:
                var = model.NewBoolVar(f"x{unit.index}_{len(used)}")
                x[(unit.index, g)] = var
                model.AddImplication(var, used[g])
                size.append(unit.size * var)
                bonus = n if label[1] is not engine.MIXED else 0
                objective.append(unit.size * (weight + bonus + n - 1 - unit.rank) * var)
            _size_rule(model, rules, eligible, g, x, used[g], sum(size))
            _pairwise_rules(model, rules, eligible, g, x)
            _age_rule(model, eligible, g, x)
    for unit in units:
        mine = [var for (i, _), var in x.items() if i == unit.index]
        if mine:
            model.AddAtMostOne(mine)
    if not x:
        return [], True
    model.Maximize(sum(objective))
    if hint:
        _add_hint(model, x, used, hint)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 7
    if budget is not None:
        solver.parameters.max_deterministic_time = float(budget)
    status = solver.Solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    groups = {}
    for (i, g), var in x.items():
        if solver.Value(var):
            groups.setdefault(g, []).append(i)
    found = [
        (g[0], sorted(ids))
        for g, ids in sorted(groups.items(), key=lambda item: (engine._label_order(item[0][0]), item[0][1]))
    ]
    return found, status == cp_model.OPTIMAL


def _size_rule(model, rules, eligible, g, x, used, size):
    pool = rules.pool
    model.Add(size <= pool.max_size * used)
    small_min = min(pool.min_size, engine.SMALLEST_WIDENED_SIZE)
    if small_min < pool.min_size and any("group_of_four" in u.steps for u in eligible):
        small = model.NewBoolVar("")
        model.AddImplication(small, used)
        model.Add(size >= pool.min_size * used - (pool.min_size - small_min) * small)
        for unit in eligible:
            if "group_of_four" not in unit.steps:
                model.AddImplication(x[(unit.index, g)], small.Not())
    else:
        model.Add(size >= pool.min_size * used)


def _pairwise_rules(model, rules, eligible, g, x):
    inside = {u.index for u in eligible}
    for unit in eligible:
        for other in rules.enemies[unit.index]:
            if other in inside and other > unit.index:
                model.AddBoolOr([x[(unit.index, g)].Not(), x[(other, g)].Not()])
    for rejected in rules.avoid:
        if rejected <= inside:
            model.Add(sum(x[(i, g)] for i in rejected) <= len(rejected) - 1)


def _age_rule(model, eligible, g, x):
    known = [u for u in eligible if u.years is not None]
    if not known:
        return
    lowest = min(u.years[0] for u in known)
    highest = max(u.years[1] for u in known)
    if highest - lowest <= engine.AGE_SPAN_YEARS:
        return
    low = model.NewIntVar(lowest, highest, "")
    for unit in known:
        var = x[(unit.index, g)]
        model.Add(low <= unit.years[0]).OnlyEnforceIf(var)
        model.Add(unit.years[1] <= low + engine.AGE_SPAN_YEARS).OnlyEnforceIf(var)


def _add_hint(model, x, used, hint):
    """Start from the greedy: its k-th group of a label is slot k of that label."""
    placed, taken = {}, {}
    for label, members in hint:
        k = taken.get(label, 0)
        taken[label] = k + 1
        for i in members:
            placed[i] = (label, k)
    for (i, g), var in x.items():
        model.AddHint(var, placed.get(i) == g)
    for g, var in used.items():
        model.AddHint(var, taken.get(g[0], 0) > g[1])
