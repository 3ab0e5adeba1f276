"""Matching rules around the engine: routing into pools, widening, the group lifecycle.
Pure: no nameko, no pymongo. Waiting entries and groups are plain dicts (the stored shape)."""

import hashlib
from datetime import timedelta

from . import engine

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

    def __init__(self, field_errors):
        super().__init__(field_errors)
        self.field_errors = field_errors


def pool_key(contact_point_id, role, languages, digital=False):
    """Pools are by contact point, role (self / relative) and first language (DESIGN §4.2);
    a contact point's digital groups form pools of their own."""
    return f"{contact_point_id}|{role}|{languages[0]}" + (DIGITAL_SUFFIX if digital else "")


def contact_point_of(key):
    return key.split("|", 1)[0]


def choose_route(candidates):
    """The first candidate a person can wait with; None when only the national office can take them."""
    first = candidates[0] if candidates else None
    if first is None or first["kind"] == "national_office":
        return None
    return first


def waiting_entry(profile, route, candidates, now, widening_days, previous=None):
    """The stored shape of one waiting person. A re-route keeps the place in the queue."""
    home = pool_key(route["contact_point_id"], profile["role"], profile["languages"], route["kind"] == "digital")
    queue_since = previous["queue_since"] if previous else profile["registered_at"]
    entry = {
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
    }
    entry["next_widening_at"] = next_widening_at(entry, widening_days)
    return entry


def waited_days(entry, now):
    return max(0, (now - entry["queue_since"]).days)


def next_widening_at(entry, widening_days):
    done = {w["step"] for w in entry["widening"]}
    due = sorted(days for step, days in widening_days.items() if step not in done)
    return entry["queue_since"] + timedelta(days=due[0]) if due else None


def widen(entry, now, widening_days, digital_contact_points):
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
        changed["widening"].append({"step": step, "at": now, "reason": reason})
    if len(changed["widening"]) == len(entry["widening"]):
        return None
    changed["next_widening_at"] = next_widening_at(changed, widening_days)
    if changed["group_id"] is None:
        changed["pools"] = pools_of(changed)
    changed["version"] = entry["version"] + 1
    changed["updated_at"] = now
    return changed


def pools_of(entry):
    return [entry["home_pool"]] + [v["pool"] for v in entry["visits"] if v["pool"] != entry["home_pool"]]


def person(entry, pool, now, widening_days):
    """The engine's view of one waiting entry, as seen from `pool`."""
    profile = entry["profile"]
    cohort = profile.get("cohort") or {}
    visit = next((v for v in entry["visits"] if v["pool"] == pool and pool != entry["home_pool"]), None)
    return engine.Person(
        registration_id=entry["_id"],
        themes=tuple(profile["themes"]),
        slots=frozenset(engine.slot_key(s) for s in profile["availability"]),
        open_to_mixed=profile["open_to_mixed"],
        waiting_since=entry["queue_since"],
        birth_year=profile.get("birth_year"),
        municipality_number=profile.get("municipality_number"),
        not_in_own_municipality=profile["not_in_own_municipality"],
        cohort_id=cohort.get("cohort_id") if cohort.get("keep_together") else None,
        steps=engine.earned_steps(waited_days(entry, now), widening_days),
        visiting=visit["step"] if visit else None,
        visiting_reason=visit["reason"] if visit else "",
    )


def pool_settings(pool, contact_point, widening_days, exact_budget=engine.DEFAULT_EXACT_BUDGET):
    contact_point = contact_point or {}
    return engine.PoolSettings(
        contact_point_id=contact_point_of(pool),
        min_size=contact_point.get("min_size", 5),
        max_size=contact_point.get("max_size", 8),
        serves=frozenset(contact_point.get("municipalities", ())),
        digital=pool.endswith(DIGITAL_SUFFIX),
        widening_days=dict(widening_days),
        exact_budget=exact_budget,
    )


def group_document(proposal, pool, settings, now):
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


def group_event(group, **extra):
    return {
        "group_id": group["_id"],
        "contact_point_id": group["contact_point_id"],
        "registration_ids": list(group["members"]),
        **extra,
    }


def transition(group, to_state, now):
    """The changes that move a group to `to_state`, or RuleBroken if the lifecycle forbids it."""
    if to_state not in TRANSITIONS.get(group["state"], ()):
        raise RuleBroken({"state": [f"A {group['state']} group cannot become {to_state}."]})
    return {"state": to_state, "history": group["history"] + [{"state": to_state, "at": now}]}


def check_meeting_place(group, place_id, places, needs_by_member):
    """The meeting place must exist at the contact point, hold the group, and suit every
    member's accessibility needs. Returns the place or raises RuleBroken."""
    place = next((p for p in places if p.get("meeting_place_id") == place_id), None)
    if place is None:
        raise RuleBroken({"meeting_place_id": [f"{place_id!r} is not a meeting place of {group['contact_point_id']}."]})
    capacity = place.get("capacity")
    if capacity is not None and capacity < len(group["members"]) + 1:
        raise RuleBroken(
            {
                "meeting_place_id": [
                    f"Holds {capacity}; the group needs room for {len(group['members'])} members and a starter."
                ]
            }
        )
    offered = set(place.get("accessibility") or ())
    missing = sorted({need for needs in needs_by_member.values() for need in needs} - offered)
    if missing:
        raise RuleBroken({"meeting_place_id": [f"Does not suit every member: it lacks {', '.join(missing)}."]})
    return place


def refill_candidates(group, members, candidates, settings, acquaintances, avoid=()):
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


def erasure_tombstone(registration_id):
    """What matching keeps of an erased person: a digest, so a registration_created that arrives
    after its registration_erased (separate queues) cannot put them back in a pool, while no
    document holds the id itself."""
    return hashlib.sha256(f"erased:{registration_id}".encode()).hexdigest()
