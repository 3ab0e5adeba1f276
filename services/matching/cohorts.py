"""Course cohorts (issue 13): people who registered with a course's code wait together in a pool of
their own, `<contact point>|cohort:<cohort id>`, and become one group at the course's time (split
evenly when more than the contact point's largest group): as soon as everyone expected has come,
or at the deadline with those who have. Staff choose the room when they confirm. Joining by the
code says the person wants to go on with the course, so role and first language do not split a
cohort, and the explanation says so. Pure: no nameko, no pymongo."""

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from . import domain, engine

Doc = dict[str, Any]

COHORT_MARK = "|cohort:"
#: Fewer than this at the deadline is no group: they wait in the contact point's own pools.
SMALLEST_COHORT_GROUP = 3


def cohort_pool(contact_point_id: str, cohort_id: str) -> str:
    return f"{contact_point_id}{COHORT_MARK}{cohort_id}"


def is_cohort_pool(pool: str) -> bool:
    """Planned here, never by the engine's proposals."""
    return COHORT_MARK in pool


def kept_together(profile: Doc) -> str | None:
    """The cohort id of a person whose cohort asked to be kept together."""
    cohort = profile.get("cohort") or {}
    return cohort.get("cohort_id") if cohort.get("keep_together") else None


def route(cohort: Doc) -> Doc:
    """The route of a cohort's member: the course leader's contact point."""
    return {
        "kind": "contact_point",
        "contact_point_id": cohort["contact_point_id"],
        "municipality_number": None,
        "distance_km": None,
        "reason": f"a course cohort ({cohort['_id']}) kept together at {cohort['contact_point_id']}",
    }


def in_cohort_pool(entry: Doc, cohort: Doc) -> Doc:
    """A waiting entry moved into its cohort's pool: no widening while the cohort gathers."""
    pool = cohort_pool(cohort["contact_point_id"], cohort["_id"])
    return {
        **entry,
        "contact_point_id": cohort["contact_point_id"],
        "route_kind": "contact_point",
        "home_pool": pool,
        "visits": [],
        "pools": [] if entry.get("held") or entry.get("group_id") else [pool],
        "next_widening_at": None,
        "version": entry["version"] + 1,
    }


def out_of_cohort_pool(entry: Doc, widening_days: domain.WideningDays, now: datetime) -> Doc:
    """Too few came: the person waits in the contact point's own pool for their role and language."""
    profile = entry["profile"]
    home = domain.pool_key(entry["contact_point_id"], profile["role"], profile["languages"])
    released = {**entry, "home_pool": home, "version": entry["version"] + 1, "updated_at": now}
    released["pools"] = [] if entry.get("held") or entry.get("group_id") else [home]
    released["next_widening_at"] = domain.next_widening_at(released, widening_days)
    return released


def split_evenly(members: Sequence[str], max_size: int) -> list[list[str]]:
    """As few groups as hold everyone, their sizes at most one apart."""
    count = max(1, math.ceil(len(members) / max_size))
    size, extra = divmod(len(members), count)
    groups, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        groups.append(list(members[start:end]))
        start = end
    return groups


def proposals(cohort: Doc, entries: Sequence[Doc], max_size: int, now: datetime) -> list[engine.Proposal]:
    """One group of the cohort at the course's time, or several of even size."""
    ordered = sorted(entries, key=lambda e: (domain.waiting_start(e), e["_id"]))
    profiles = {entry["_id"]: entry["profile"] for entry in ordered}
    waited = {entry["_id"]: domain.waited_days(entry, now) for entry in ordered}
    slot = engine.slot_key(cohort["slot"])
    parts = split_evenly([entry["_id"] for entry in ordered], max_size)
    return [
        _proposal(cohort, members, profiles, slot, len(ordered), len(parts), max_size, now, waited) for members in parts
    ]


def _proposal(
    cohort: Doc,
    members: list[str],
    profiles: dict[str, Doc],
    slot: str,
    registered: int,
    parts: int,
    max_size: int,
    now: datetime,
    waited: dict[str, int],
) -> engine.Proposal:
    shared = set.intersection(*(set(profiles[rid]["themes"]) for rid in members))
    theme = next((t for t in profiles[members[0]]["themes"] if t in shared), None)
    return engine.Proposal(
        group_id=engine.group_id_for(cohort["contact_point_id"], members, now),
        contact_point_id=cohort["contact_point_id"],
        slot=slot,
        theme=theme,
        members=members,
        relaxed=[],
        explanation={
            **_explanation(cohort, members, profiles, slot, theme, registered, parts, max_size),
            "longest_wait_days": max(0, *(waited[rid] for rid in members)),
        },
    )


def _explanation(
    cohort: Doc,
    members: list[str],
    profiles: dict[str, Doc],
    slot: str,
    theme: str | None,
    registered: int,
    parts: int,
    max_size: int,
) -> Doc:
    what = f"the theme {theme}" if theme else "no single theme"
    text = (
        f"A course cohort kept together: {registered} of the {cohort['expected_size']} expected registered "
        f"with the course's code. These {len(members)} ({', '.join(members)}) meet at the course's time, "
        f"{engine.slot_text(slot)} at {cohort['slot']['start_time']}, and share {what}."
    )
    roles = {profiles[rid]["role"] for rid in members}
    languages = {profiles[rid]["languages"][0] for rid in members}
    if len(roles) > 1 or len(languages) > 1:
        text += " Members of different roles or first languages are together, as joining by the cohort's code implies."
    if parts > 1:
        text += f" The cohort is split evenly into {parts} groups: the contact point's groups hold at most {max_size}."
    return {
        "summary": text[:2000],
        "slot": engine.slot_dict(slot),
        "theme": theme,
        "mixed": theme is None,
        "relaxed": [],
    }


def group_settings(contact_point: Doc | None, pool: str, widening_days: domain.WideningDays) -> engine.PoolSettings:
    """The contact point's sizes, a cohort's group kept down to SMALLEST_COHORT_GROUP members."""
    settings = domain.pool_settings(pool, contact_point, widening_days)
    return engine.PoolSettings(
        contact_point_id=settings.contact_point_id,
        min_size=min(settings.min_size, SMALLEST_COHORT_GROUP),
        max_size=settings.max_size,
        serves=settings.serves,
        widening_days=settings.widening_days,
    )
