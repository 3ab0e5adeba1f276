"""Matching rules around the engine: routing into pools, widening, the group lifecycle.
Pure: no nameko, no pymongo. Waiting entries and groups are plain dicts (the stored shape)."""

import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from . import engine

#: A stored document (a waiting entry, a group, a contact point), a profile or a route: a plain dict.
Doc = dict[str, Any]
WideningDays = Mapping[str, int]

DIGITAL_SUFFIX = "|digital"
ACTIVE_STATES = ("confirmed", "started", "self_run")
TRANSITIONS = {
    "proposed": ("confirmed", "rejected", "closed"),
    "confirmed": ("started", "closed"),
    "started": ("self_run", "closed"),
    "self_run": ("closed",),
}


class RuleBroken(Exception):
    """A lifecycle rule refused a change; `field_errors` says which field and why."""

    def __init__(self, field_errors: dict[str, list[str]]) -> None:
        super().__init__(field_errors)
        self.field_errors = field_errors


def pool_key(contact_point_id: str, role: str, languages: Sequence[str], digital: bool = False) -> str:
    """Pools are by contact point, role (self / relative) and first language (docs/design.md §4.2);
    a contact point's digital groups form pools of their own."""
    return f"{contact_point_id}|{role}|{languages[0]}" + (DIGITAL_SUFFIX if digital else "")


def contact_point_of(key: str) -> str:
    return key.split("|", 1)[0]


def choose_route(candidates: Sequence[Doc]) -> Doc | None:
    """The first candidate a person can wait with; None when only the national office can take them."""
    first = candidates[0] if candidates else None
    if first is None or first["kind"] == "national_office":
        return None
    return first


def unroutable_reason(candidates: Sequence[Doc]) -> str:
    """Why nobody can take the person: the national office's reason, the last candidate's."""
    return candidates[-1]["reason"] if candidates else "no route"


def waitlisted_event(registration_id: str, route: Doc, reason: str) -> Doc:
    return {
        "registration_id": registration_id,
        "contact_point_id": route["contact_point_id"],
        "route_kind": route["kind"],
        "reason": reason,
    }


def waiting_entry(
    profile: Doc,
    route: Doc,
    candidates: Sequence[Doc],
    now: datetime,
    widening_days: WideningDays,
    previous: Doc | None = None,
) -> Doc:
    """The stored shape of one waiting person. A re-route keeps the place in the queue, the time
    spent paused, and a hold (a pause) the person is in."""
    home = pool_key(route["contact_point_id"], profile["role"], profile["languages"], route["kind"] == "digital")
    queue_since = previous["queue_since"] if previous else profile["registered_at"]
    kept = {field: (previous or {}).get(field) for field in HOLD_FIELDS}
    entry: Doc = {
        "_id": profile["registration_id"],
        "contact_point_id": route["contact_point_id"],
        "route_kind": route["kind"],
        "route_reason": route["reason"],
        "home_pool": home,
        "visits": [],
        "pools": [home],
        "alternatives": [
            c
            for c in candidates
            if c["kind"] != "national_office" and c["contact_point_id"] != route["contact_point_id"]
        ],
        "profile": profile,
        "queue_since": queue_since,
        "group_id": None,
        "version": (previous or {}).get("version", 0) + 1,
        "widening": [],
        "updated_at": now,
        **kept,
        "paused_seconds": kept["paused_seconds"] or 0,
    }
    if entry["held"]:
        entry["pools"] = []
    entry["next_widening_at"] = next_widening_at(entry, widening_days)
    return entry


# --- holds: a person on a break (issue 13) -------------------------------------------------------

#: What a waiting entry carries of a pause: held ("paused" or None), since when, until when, the
#: seconds spent paused before (they count toward neither widening nor waiting), and when the last
#: pause, resume or withdrawal the entry saw occurred (older ones, overtaken on the bus, are ignored).
HOLD_FIELDS = ("held", "held_since", "paused_until", "paused_seconds", "status_at")


def waiting_start(entry: Doc) -> datetime:
    """When the person's wait counts from: the place in the queue, moved on by every day paused."""
    start: datetime = entry["queue_since"] + timedelta(seconds=entry.get("paused_seconds") or 0)
    return start


def waited_days(entry: Doc, now: datetime) -> int:
    return days_between(waiting_start(entry), now)


def days_between(start: datetime, end: datetime) -> int:
    return max(0, (end - start).days)


def next_widening_at(entry: Doc, widening_days: WideningDays) -> datetime | None:
    if entry.get("held"):
        return None
    done = {w["step"] for w in entry["widening"]}
    due = sorted(days for step, days in widening_days.items() if step not in done)
    return waiting_start(entry) + timedelta(days=due[0]) if due else None


def is_stale(entry: Doc | None, occurred_at: datetime) -> bool:
    """A pause, resume or withdrawal older than the last one this entry saw: separate queues
    may deliver them out of order, and the newer one already decided."""
    seen = (entry or {}).get("status_at")
    return seen is not None and occurred_at < seen


def hold(entry: Doc, now: datetime, paused_until: datetime, occurred_at: datetime) -> Doc:
    """Out of every pool while paused; the place in the queue is kept. A new pause while paused
    moves its end."""
    return {
        **entry,
        "held": "paused",
        "held_since": entry.get("held_since") or now,
        "paused_until": paused_until,
        "pools": [],
        "next_widening_at": None,
        "status_at": occurred_at,
        "version": entry["version"] + 1,
        "updated_at": now,
    }


def withdrawn_record(kept: Doc, occurred_at: datetime) -> Doc:
    """What matching keeps of a withdrawn person for their return: the profile and the place in
    the queue (a waiting entry's, or an unroutable person's registration time)."""
    profile = kept["profile"]
    return {
        "_id": profile["registration_id"],
        "profile": profile,
        "queue_since": kept.get("queue_since") or profile["registered_at"],
        "paused_seconds": kept.get("paused_seconds") or 0,
        "version": kept.get("version", 0),
        "status_at": occurred_at,
        "held": None,
    }


def release_hold(entry: Doc, now: datetime, widening_days: WideningDays, occurred_at: datetime) -> Doc:
    """Back in the pools the person was in, the days paused added to `paused_seconds`."""
    paused = (now - entry["held_since"]).total_seconds() if entry.get("held_since") else 0.0
    released = {
        **entry,
        "held": None,
        "held_since": None,
        "paused_until": None,
        "paused_seconds": (entry.get("paused_seconds") or 0) + max(0.0, paused),
        "status_at": occurred_at,
        "version": entry["version"] + 1,
        "updated_at": now,
    }
    released["pools"] = pools_of(released) if released.get("group_id") is None else []
    released["next_widening_at"] = next_widening_at(released, widening_days)
    return released


def widen(
    entry: Doc, now: datetime, widening_days: WideningDays, digital_contact_points: Collection[str]
) -> Doc | None:
    """Apply every widening step the person's waiting time has earned and not yet had, in order;
    each recorded with its reason. Returns the changed entry, or None if nothing was due (so the
    sweep is idempotent). `digital_contact_points` is the set that runs digital groups."""
    days = waited_days(entry, now)
    done = {w["step"] for w in entry["widening"]}
    profile = entry["profile"]
    changed = dict(entry, widening=list(entry["widening"]), visits=list(entry["visits"]))
    for step in engine.STEPS:
        if step in done or days < widening_days[step]:
            continue
        reason = f"waited {days} days (threshold {widening_days[step]})"
        if step == "neighbouring":
            nearby = [c for c in entry["alternatives"] if c["kind"] == "contact_point"]
            if nearby:
                target = pool_key(nearby[0]["contact_point_id"], profile["role"], profile["languages"])
                changed["visits"].append(
                    {"pool": target, "step": step, "reason": f"from {entry['contact_point_id']}: {reason}"}
                )
                reason += f"; also considered at {nearby[0]['contact_point_id']}"
            else:
                reason += "; no neighbouring contact point"
        if step == "digital":
            options = [entry["contact_point_id"]] + [c["contact_point_id"] for c in entry["alternatives"]]
            digital = next((cp for cp in options if cp in digital_contact_points), None)
            if profile["digital_ok"] and digital and entry["route_kind"] != "digital":
                target = pool_key(digital, profile["role"], profile["languages"], digital=True)
                changed["visits"].append(
                    {"pool": target, "step": step, "reason": f"from {entry['contact_point_id']}: {reason}"}
                )
                reason += f"; also considered for a digital group at {digital}"
            else:
                reason += "; no digital group the person accepts"
        changed["widening"].append({"step": step, "at": now, "reason": reason, "after_days": days})
    if len(changed["widening"]) == len(entry["widening"]):
        return None
    changed["next_widening_at"] = next_widening_at(changed, widening_days)
    if changed["group_id"] is None:
        changed["pools"] = pools_of(changed)
    changed["version"] = entry["version"] + 1
    changed["updated_at"] = now
    return changed


def pools_to_plan(entry: Doc, widened: Doc) -> list[str]:
    """The pools a widening gives new options in: a pool the person now visits; and every pool
    of theirs when they may now join a mixed group (they accept one) or a group of four. A step
    that adds nothing (no neighbour, no digital group they accept) plans nothing again."""
    before = {w["step"] for w in entry["widening"]}
    new = {w["step"] for w in widened["widening"]} - before
    visited = {v["pool"] for v in entry["visits"]}
    pools = [pool for pool in pools_of(widened) if pool not in visited and pool != widened["home_pool"]]
    if "group_of_four" in new or ("mixed_themes" in new and widened["profile"]["open_to_mixed"]):
        pools = pools_of(widened)
    return pools


def pools_of(entry: Doc) -> list[str]:
    return [entry["home_pool"]] + [v["pool"] for v in entry["visits"] if v["pool"] != entry["home_pool"]]


def person(entry: Doc, pool: str, now: datetime, widening_days: WideningDays) -> engine.Person:
    """The engine's view of one waiting entry, as seen from `pool`."""
    profile = entry["profile"]
    cohort = profile.get("cohort") or {}
    visit = next((v for v in entry["visits"] if v["pool"] == pool and pool != entry["home_pool"]), None)
    return engine.Person(
        registration_id=entry["_id"],
        themes=tuple(profile["themes"]),
        slots=frozenset(engine.slot_key(s) for s in profile["availability"]),
        open_to_mixed=profile["open_to_mixed"],
        waiting_since=waiting_start(entry),
        birth_year=profile.get("birth_year"),
        municipality_number=profile.get("municipality_number"),
        not_in_own_municipality=profile["not_in_own_municipality"],
        cohort_id=cohort.get("cohort_id") if cohort.get("keep_together") else None,
        steps=engine.earned_steps(waited_days(entry, now), widening_days),
        visiting=visit["step"] if visit else None,
        visiting_reason=visit["reason"] if visit else "",
    )


def pool_settings(
    pool: str,
    contact_point: Doc | None,
    widening_days: WideningDays,
    exact_budget: float = engine.DEFAULT_EXACT_BUDGET,
    exact_workers: int = engine.DEFAULT_EXACT_WORKERS,
) -> engine.PoolSettings:
    contact_point = contact_point or {}
    return engine.PoolSettings(
        contact_point_id=contact_point_of(pool),
        min_size=contact_point.get("min_size", 5),
        max_size=contact_point.get("max_size", 8),
        serves=frozenset(contact_point.get("municipalities", ())),
        digital=pool.endswith(DIGITAL_SUFFIX),
        widening_days=dict(widening_days),
        exact_budget=exact_budget,
        exact_workers=exact_workers,
    )


def group_document(proposal: engine.Proposal, pool: str, settings: engine.PoolSettings, now: datetime) -> Doc:
    return {
        "_id": proposal.group_id,
        "contact_point_id": proposal.contact_point_id,
        "pool": pool,
        "state": "proposed",
        "members": proposal.members,
        "slot": proposal.slot,
        "theme": proposal.theme,
        "explanation": proposal.explanation,
        "min_size": settings.min_size,
        "max_size": settings.max_size,
        "version": 1,
        "proposed_at": now,
        "history": [{"state": "proposed", "at": now}],
    }


def group_event(group: Doc, **extra: Any) -> Doc:
    return {
        "group_id": group["_id"],
        "contact_point_id": group["contact_point_id"],
        "registration_ids": list(group["members"]),
        **extra,
    }


def transition(group: Doc, to_state: str, now: datetime) -> Doc:
    """The changes that move a group to `to_state`, or RuleBroken if the lifecycle forbids it."""
    if to_state not in TRANSITIONS.get(group["state"], ()):
        raise RuleBroken({"state": ["wrong_state"]})
    return {"state": to_state, "history": group["history"] + [{"state": to_state, "at": now}]}


#: The stable code of the confirmation rule that a digital group meets at a digital place and a
#: physical one at a physical place (staff may override it, giving a reason).
PLACE_KIND_MISMATCH = "place_kind_mismatch"


def is_digital(group: Doc) -> bool:
    return str(group.get("pool") or "").endswith(DIGITAL_SUFFIX)


def check_meeting_place(
    group: Doc,
    place_id: str,
    places: Sequence[Doc],
    needs_by_member: Mapping[str, Iterable[str]],
    override_reason: str | None = None,
) -> Doc:
    """The meeting place must exist at the contact point, be of the group's kind (digital for a
    digital pool, physical otherwise; `override_reason` lets staff choose otherwise), hold the
    group and a starter, and (a room) suit every member's accessibility needs. Returns the place or
    RuleBroken with a code: `unknown_meeting_place`, `place_kind_mismatch`, `capacity_too_small`,
    `place_lacks_access`."""
    place = next((p for p in places if p.get("meeting_place_id") == place_id), None)
    if place is None:
        raise RuleBroken({"meeting_place_id": ["unknown_meeting_place"]})
    digital_place = place.get("kind", "physical") == "digital"
    if digital_place != is_digital(group) and not override_reason:
        raise RuleBroken({"meeting_place_id": [PLACE_KIND_MISMATCH]})
    capacity = place.get("capacity")
    if capacity is not None and capacity < len(group["members"]) + 1:
        raise RuleBroken({"meeting_place_id": ["capacity_too_small"]})
    missing = sorted(
        {need for needs in needs_by_member.values() for need in needs} - set(place.get("accessibility") or ())
    )
    if missing and not digital_place:
        raise RuleBroken({"meeting_place_id": ["place_lacks_access"]})
    return place


def place_suits(place: Doc, needs: Iterable[str]) -> bool:
    """The place offers every accessibility need given (a video meeting needs no ramp)."""
    return place.get("kind") == "digital" or set(needs) <= set(place.get("accessibility") or ())


def room_left(place: Doc, seats_taken: int) -> int | None:
    """How many more the place holds (None: its capacity is not known)."""
    capacity = place.get("capacity")
    return None if capacity is None else max(0, capacity - seats_taken)


def refill_candidates(
    group: Doc,
    members: list[engine.Person],
    candidates: list[engine.Person],
    settings: engine.PoolSettings,
    acquaintances: Iterable[frozenset[str]],
    avoid: Iterable[frozenset[str]] = (),
) -> list[str]:
    """Who from the pool can join a group that has fallen below its minimum: same slot, the
    group's theme (or mixed), no acquaintances, within the age span. Longest-waiting first."""
    needed = settings.min_size - len(members)
    if needed <= 0:
        return []
    everyone = members + candidates
    units = engine.build_units(everyone, settings)
    rules = engine.Rules(units, settings, acquaintances, avoid)
    label = (group["slot"], group["theme"])
    seed = [u.index for u in units if set(u.ids) <= set(m.registration_id for m in members)]
    fitting = [u for u in units if u.index not in seed and label in u.labels]
    chosen = engine.fill_group(rules, fitting, settings.min_size, seed=seed)
    return [r for i in chosen if i not in seed for r in units[i].ids]


def moment(value: datetime | str) -> datetime:
    """A timestamp of an event's data as a datetime (the contracts load it as one; tests may pass text)."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value.replace("Z", "+00:00"))


def flagged_pair_key(a: str, b: str, reason: str) -> str:
    """The key of a pair registration flagged: never the key of a pair staff recorded ("a|b")."""
    return "|".join([*sorted((a, b)), reason])


def erasure_tombstone(registration_id: str) -> str:
    """What matching keeps of an erased person: a digest, so a registration_created that arrives
    after its registration_erased (separate queues) cannot put them back in a pool, while no
    document holds the id itself."""
    return hashlib.sha256(f"erased:{registration_id}".encode()).hexdigest()


# --- the national office's queue -------------------------------------------------------------------

#: The reason a person assigned by the national office hears (registration_waitlisted).
ASSIGNED_REASON = "tildelt av nasjonalt kontor"


def unroutable_reason_code(profile: Doc) -> str:
    """Why nobody could take the person, as a key the pages translate: Svalbard and Jan Mayen are
    no municipality; a person may have asked not to be placed at home; or no contact point is near."""
    if not profile.get("municipality_number"):
        return "outside_municipalities"
    if profile.get("not_in_own_municipality"):
        return "avoids_own_municipality"
    return "no_contact_point_nearby"


def check_assignment(profile: Doc, contact_point: Doc | None) -> None:
    """The national office may assign a queued person to an open contact point, but never to one
    that serves the home municipality of a person who asked not to be placed there."""
    if contact_point is None or not contact_point.get("active", True):
        raise RuleBroken({"contact_point_id": ["unknown_contact_point"]})
    if contact_point.get("kind") == "national_office":
        raise RuleBroken({"contact_point_id": ["national_office_not_assignable"]})
    home = profile.get("municipality_number")
    if profile.get("not_in_own_municipality") and home in (contact_point.get("municipalities") or ()):
        raise RuleBroken(
            {"contact_point_id": ["home_municipality"]}  # it serves where they asked not to be placed
        )
