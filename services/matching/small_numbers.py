"""The small-number rule of every table matching serves (docs/design.md §5). Pure.

Primary: every count below SMALLEST_SHOWN is blank (None), every other count, totals included, is
rounded to the nearest ROUND_TO. Secondary: where published figures add up (a total and its cells,
a year and its quarters, a quarter and its months), their differences must not pin down a blank
cell. `protect` checks that the way a reader would attack the table, and blanks more cells until no
blank cell can be worked out.

The attack is interval arithmetic over the additive relations. A reader knows each cell lies in an
interval: a shown value v means v - 2 to v + 2 (and at least SMALLEST_SHOWN); a blank below the
threshold means 0 to 4. To be on the safe side the reader is credited with knowing which blanks
hide a small count and which were blanked to protect another (those hold at least SMALLEST_SHOWN).
Every relation `total = sum(parts)` narrows the intervals of its cells; this is repeated until
nothing narrows. A blank cell whose interval has shrunk to one value is pinned down.
"""

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from services.common import figure_columns as columns

SMALLEST_SHOWN = columns.SMALLEST_SHOWN
ROUND_TO = columns.ROUNDED_TO
#: How often the relations are swept before the intervals are taken as settled (they settle
#: after a handful of sweeps: a change must travel up and down a three-level hierarchy).
MAX_SWEEPS = 25

C = TypeVar("C", bound=Hashable)
Interval = tuple[float, float]


@dataclass(frozen=True)
class Relation(Generic[C]):
    """`total` is the sum of `parts`, and a reader who sees them can subtract."""

    total: C
    parts: tuple[C, ...]

    @property
    def cells(self) -> tuple[C, ...]:
        return (self.total, *self.parts)


def publish(count: int) -> int | None:
    """The primary rule for one count: None below SMALLEST_SHOWN, else rounded to ROUND_TO."""
    if count < SMALLEST_SHOWN:
        return None
    return ROUND_TO * ((count + ROUND_TO // 2) // ROUND_TO)


def known_interval(shown: int | None, true_count: int) -> Interval:
    """What a reader knows of a cell from what is published (and, to be safe, from why it is blank)."""
    if shown is not None:
        return (max(SMALLEST_SHOWN, shown - ROUND_TO // 2), shown + ROUND_TO // 2)
    if true_count < SMALLEST_SHOWN:
        return (0, SMALLEST_SHOWN - 1)
    return (SMALLEST_SHOWN, math.inf)


def protect(counts: Mapping[C, int], relations: Sequence[Relation[C]]) -> dict[C, int | None]:
    """The counts as they may be shown: the primary rule, then as many further blanks as it takes
    for no difference to pin a blank cell down. Deterministic: the same counts give the same table.
    Cells that no relation names are only rounded."""
    shown = {cell: publish(count) for cell, count in counts.items()}
    while True:
        pinned = first_pinned(counts, shown, relations)
        if pinned is None:
            return shown
        shown[_cell_to_blank(counts, shown, relations, pinned)] = None


def first_pinned(
    counts: Mapping[C, int], shown: Mapping[C, int | None], relations: Sequence[Relation[C]]
) -> Relation[C] | None:
    """The relation through which a reader pins a blank cell down, or None if no blank can be."""
    intervals = {cell: known_interval(shown[cell], counts[cell]) for cell in counts}
    for _ in range(MAX_SWEEPS):
        narrowed = False
        for relation in relations:
            for cell, interval in _narrow(relation, intervals).items():
                intervals[cell] = interval
                narrowed = True
                if shown[cell] is None and interval[0] >= interval[1]:
                    return relation
        if not narrowed:
            return None
    return None


def _narrow(relation: Relation[C], intervals: Mapping[C, Interval]) -> dict[C, Interval]:
    """The cells of one relation whose interval the relation narrows, with the narrower interval."""
    parts = [intervals[part] for part in relation.parts]
    low_sum = sum(low for low, _ in parts)
    high_sum = sum(high for _, high in parts)
    total_low, total_high = intervals[relation.total]
    narrower: dict[C, Interval] = {}
    candidate = (max(total_low, low_sum), min(total_high, high_sum))
    if candidate != (total_low, total_high):
        narrower[relation.total] = candidate
        total_low, total_high = candidate
    for part, (low, high) in zip(relation.parts, parts, strict=True):
        others_low, others_high = low_sum - low, high_sum - high
        candidate = (max(low, total_low - others_high), min(high, total_high - others_low))
        if candidate != (low, high):
            narrower[part] = candidate
    return narrower


def _cell_to_blank(
    counts: Mapping[C, int], shown: Mapping[C, int | None], relations: Sequence[Relation[C]], pinned: Relation[C]
) -> C:
    """The smallest shown cell of the relation that gave a blank away, its parts before its total;
    if all of it is blank already (the pin came through a neighbour), the smallest shown cell of a
    relation that shares a cell with it, else of any relation."""
    neighbours = [r for r in relations if set(r.cells) & set(pinned.cells)]
    for candidates in (pinned.parts, (pinned.total,), _cells_of(neighbours), _cells_of(relations)):
        open_cells = [cell for cell in candidates if shown[cell] is not None]
        if open_cells:
            return min(open_cells, key=lambda cell: (counts[cell], repr(cell)))
    raise AssertionError("a blank was pinned down while every cell is blank")  # impossible: see module doc


def _cells_of(relations: Sequence[Relation[C]]) -> list[C]:
    return [cell for relation in relations for cell in relation.cells]
