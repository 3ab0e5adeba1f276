"""Use cases of matching: plain functions over the store, the engine and the directory's answers.

`Matching` bundles what every use case needs (the store, the widening thresholds, the clock);
the service builds one per worker. Proposals are written with versioned claims and retried a few
times when another worker got there first (`ClaimLost`).
"""

from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import partial

from services.common import clock as wall_clock
from services.common.access import require_contact_point
from services.common.envelope import iso
from services.common.errors import Conflict, InvalidInput, NotFound

from . import domain, engine
from .store import ClaimLost

CLAIM_ATTEMPTS = 3


def route_preferences(profile):
    return {"not_in_own_municipality": profile["not_in_own_municipality"], "digital_ok": profile["digital_ok"]}


def cached_route(profile, cache, ask_directory, store):
    """The directory's route candidates for this profile, reused from `cache` for people with the
    same municipality and preferences (one RPC per arrival otherwise). A cached answer whose first
    choice this service already knows to be closed is asked for again: the replica that handled
    the closing may not be this one, so its cache was not cleared."""
    key = (profile["municipality_number"], *sorted(route_preferences(profile).items()))
    candidates = cache.get_or_load(key, lambda: ask_directory(profile))
    first = candidates[0].get("contact_point_id") if candidates else None
    if first is not None:
        known = store.contact_point(first)
        if known is not None and not known.get("active", True):
            candidates = ask_directory(profile)
            cache.put(key, candidates)
    return candidates


@dataclass
class Matching:
    store: object
    widening_days: dict = field(default_factory=lambda: dict(engine.DEFAULT_WIDENING_DAYS))
    exact_budget: float = engine.DEFAULT_EXACT_BUDGET
    clock: object = wall_clock.now
    #: runs the engine's full solve; the service passes a real thread (CP-SAT must not block the hub)
    offload: object = staticmethod(lambda fn, *args: fn(*args))
    #: `pool_lock(pool)` is held while a pool is planned and claimed (locks.KeyedLocks in the service)
    pool_lock: object = staticmethod(lambda pool: nullcontext())

    # --- arrivals and departures ----------------------------------------------------------------

    def waitlist(self, event, candidates):
        """Put the person in the pool of the first contact point that can take them (keeping their
        place in the queue on an update), or mark them unroutable; then try to place them."""
        profile = event.data
        route = domain.choose_route(candidates)
        now = self.clock()

        def change(uow):
            rid = profile["registration_id"]
            if self.store.is_erased(domain.erasure_tombstone(rid), uow):
                return None  # erased before this event was handled: never back in a pool
            previous = self.store.entry(rid, uow)
            if route is None:
                reason = candidates[-1]["reason"] if candidates else "no route"
                self.store.record_unroutable(uow, rid, reason, now)
                if previous is not None and previous["group_id"] is None:
                    self.store.remove_waiting(uow, rid)
                uow.emit("registration_unroutable", {"registration_id": rid, "reason": reason})
                return None
            if previous is not None and previous["group_id"] is not None:
                self.store.update_profile(uow, rid, profile)
                return None
            entry = domain.waiting_entry(profile, route, candidates, now, self.widening_days, previous)
            self.store.put_waiting(uow, entry)
            if previous is None or previous["contact_point_id"] != entry["contact_point_id"]:
                uow.emit(
                    "registration_waitlisted",
                    {
                        "registration_id": rid,
                        "contact_point_id": route["contact_point_id"],
                        "route_kind": route["kind"],
                        "reason": route["reason"],
                    },
                )
            return entry["home_pool"]

        pool = self.store.apply(event, change)
        if pool is not None:
            self.propose_pool(pool, newcomer=profile["registration_id"])
        return pool

    def forget(self, event, reason):
        """Withdrawn or erased: out of every pool and group; erasure also drops acquaintance pairs."""
        rid = event.data["registration_id"]
        now = self.clock()
        follow_up = {}

        def change(uow):
            entry = self.store.entry(rid, uow)
            if entry is not None and entry["group_id"]:
                group = self.store.group(entry["group_id"], uow)
                if group is not None and group["state"] not in ("closed", "rejected"):
                    follow_up["group"] = self._remove_member(uow, group, rid, reason, now)
            self.store.forget(uow, rid)
            if reason == "erased":
                self.store.forget_acquaintances(uow, rid)
                self.store.mark_erased(uow, domain.erasure_tombstone(rid))
            return True

        self.store.apply(event, change)
        if follow_up.get("group"):
            self.after_member_left(follow_up["group"])

    # --- proposing ----------------------------------------------------------------------------------

    def _load_pool(self, pool, now):
        entries = self.store.pool_entries(pool)
        settings = domain.pool_settings(
            pool, self.store.contact_point(domain.contact_point_of(pool)), self.widening_days, self.exact_budget
        )
        people = [domain.person(entry, pool, now, self.widening_days) for entry in entries]
        acquaintances = self.store.acquaintances_among([entry["_id"] for entry in entries])
        avoid = [frozenset(ids) for ids in self.store.pool_state(pool)["rejected"]]
        return entries, settings, people, acquaintances, avoid

    def propose_pool(self, pool, newcomer=None):
        """Propose what the pool allows now (only groups with `newcomer`, if given: incremental)."""
        with self.pool_lock(pool):
            return self._propose_pool(pool, newcomer)

    def _propose_pool(self, pool, newcomer):
        for _ in range(CLAIM_ATTEMPTS):
            now = self.clock()
            entries, settings, people, acquaintances, avoid = self._load_pool(pool, now)
            if newcomer is not None:
                one = engine.place_one(newcomer, people, settings, now, acquaintances, avoid)
                proposals = [one] if one else []
            else:
                proposals = self.offload(engine.propose, people, settings, now, acquaintances, avoid).proposals
            if not proposals:
                return []
            versions = {entry["_id"]: entry["version"] for entry in entries}
            try:
                return self.store.transaction(
                    partial(self._claim, proposals=proposals, versions=versions, pool=pool, settings=settings, now=now)
                )
            except ClaimLost:
                continue
        return []

    def _claim(self, uow, proposals, versions, pool, settings, now):
        for proposal in proposals:
            for rid in proposal.members:
                self.store.claim(uow, rid, versions[rid], proposal.group_id)
            group = domain.group_document(proposal, pool, settings, now)
            self.store.insert_group(uow, group)
            uow.emit("group_proposed", domain.group_event(group, explanation=proposal.explanation))
        return proposals

    def sweep(self, digital_contact_points, limit=200):
        """The periodic sweep: apply due widening steps, then re-propose every pool that changed.
        Idempotent: a step is applied once per person, and claims stop double placement."""
        now = self.clock()
        widened = 0
        for entry in self.store.due_for_widening(now, limit):
            changed = domain.widen(entry, now, self.widening_days, digital_contact_points)
            if changed is None:
                continue

            def change(uow, changed=changed, version=entry["version"]):
                if not self.store.replace_if_version(uow, changed, version):
                    return False
                for pool in domain.pools_of(changed):
                    self.store.mark_dirty(uow, pool)
                return True

            widened += bool(self.store.transaction(change))
        proposed = 0
        for doc in self.store.dirty_pools():
            proposed += len(self.propose_pool(doc["_id"]))
            self.store.clear_dirty(doc["_id"], doc["seq"])
        return {"widened": widened, "proposed": proposed}

    # --- contact points -------------------------------------------------------------------------------

    def track_contact_point(self, event):
        """Keep the newest revision of a contact point; stale revisions are ignored."""
        data = event.data

        def change(uow):
            current = self.store.contact_point(data["contact_point_id"], uow)
            if current is not None and current["revision"] >= data["revision"]:
                return False
            merged = {**(current or {}), **data, "active": data.get("active", False)}
            merged.pop("_id", None)
            self.store.save_contact_point(uow, merged)
            return True

        return bool(self.store.apply(event, change))

    def reroute_if_closed(self, contact_point_id, route_for):
        """A contact point closed: everyone waiting there is routed again (keeping their place in the
        queue). `route_for(profile)` asks the directory. Idempotent: once moved, nobody waits there,
        so a redelivered event finds nothing left to do."""
        contact_point = self.store.contact_point(contact_point_id)
        if contact_point is None or contact_point.get("active", True):
            return 0
        entries = self.store.entries_of_contact_point(contact_point_id)
        if not entries:
            return 0
        routes = {entry["_id"]: route_for(entry["profile"]) for entry in entries}
        now = self.clock()

        def change(uow):
            pools = set()
            for entry in entries:
                candidates = [c for c in routes[entry["_id"]] if c["contact_point_id"] != contact_point_id]
                route = domain.choose_route(candidates)
                rid = entry["_id"]
                if route is None:
                    reason = candidates[-1]["reason"] if candidates else "no route"
                    self.store.remove_waiting(uow, rid)
                    self.store.record_unroutable(uow, rid, reason, now)
                    uow.emit("registration_unroutable", {"registration_id": rid, "reason": reason})
                    continue
                moved = domain.waiting_entry(entry["profile"], route, candidates, now, self.widening_days, entry)
                self.store.put_waiting(uow, moved)
                pools.add(moved["home_pool"])
                uow.emit(
                    "registration_waitlisted",
                    {
                        "registration_id": rid,
                        "contact_point_id": route["contact_point_id"],
                        "route_kind": route["kind"],
                        "reason": f"re-routed: {contact_point_id} closed; {route['reason']}"[:300],
                    },
                )
            for pool in pools:
                self.store.mark_dirty(uow, pool)
            return len(entries)

        return self.store.transaction(change)

    # --- the group lifecycle (staff, by RPC) -------------------------------------------------------

    def _group_for(self, group_id, actor):
        group = self.store.group(group_id)
        if group is None:
            raise NotFound(f"no group {group_id!r}")
        require_contact_point(actor, group["contact_point_id"])
        return group

    def _write_group(self, change):
        """Run a group change; a lifecycle rule broken inside becomes InvalidInput or Conflict."""
        try:
            return self.store.transaction(change)
        except domain.RuleBroken as broken:
            if "state" in broken.field_errors:
                raise Conflict(broken.field_errors["state"][0]) from None
            raise InvalidInput(broken.field_errors) from None

    def _update(self, uow, group, changes):
        if not self.store.update_group(uow, group, changes):
            raise Conflict(f"group {group['_id']} changed meanwhile; reload and try again")

    def confirm(self, group_id, confirmation, actor, meeting_places):
        """`meeting_places(contact_point_id)` asks the directory; the place must suit everyone."""
        group = self._group_for(group_id, actor)
        if group["state"] != "proposed":
            raise Conflict(f"A {group['state']} group cannot be confirmed.")
        needs = {
            entry["_id"]: entry["profile"].get("accessibility_needs") or []
            for entry in self.store.entries(group["members"])
        }
        try:
            domain.check_meeting_place(
                group, confirmation["meeting_place_id"], meeting_places(group["contact_point_id"]), needs
            )
        except domain.RuleBroken as broken:
            raise InvalidInput(broken.field_errors) from None
        now = self.clock()

        def change(uow):
            fields = {
                "meeting_place_id": confirmation["meeting_place_id"],
                "first_meeting_at": confirmation["first_meeting_at"],
                "starter_id": confirmation["starter_id"],
            }
            self._update(uow, group, {**domain.transition(group, "confirmed", now), "confirmation": fields})
            uow.emit(
                "group_confirmed",
                domain.group_event(group, **{**fields, "first_meeting_at": iso(fields["first_meeting_at"])}),
            )
            return {"group_id": group_id, "state": "confirmed"}

        return self._write_group(change)

    def reject(self, group_id, reason, actor):
        """Members go back to the pool at their original place; this set is not proposed again."""
        group = self._group_for(group_id, actor)
        now = self.clock()

        def change(uow):
            self._update(uow, group, {**domain.transition(group, "rejected", now), "rejected_reason": reason})
            for rid in group["members"]:
                self.store.release(uow, rid, self.widening_days)
            self.store.add_rejected(uow, group["pool"], group["members"])
            self.store.mark_dirty(uow, group["pool"])
            uow.emit("group_rejected", domain.group_event(group, reason=reason))
            return {"group_id": group_id, "state": "rejected"}

        return self._write_group(change)

    def advance(self, group_id, to_state, actor):
        """confirmed -> started (the starter holds the first meetings) -> self_run."""
        if to_state not in ("started", "self_run"):
            raise InvalidInput({"state": ["Must be one of: started, self_run."]})
        group = self._group_for(group_id, actor)
        now = self.clock()
        return self._write_group(
            lambda uow: (
                self._update(uow, group, domain.transition(group, to_state, now)),
                {"group_id": group_id, "state": to_state},
            )[1]
        )

    def close(self, group_id, reason, actor):
        group = self._group_for(group_id, actor)
        return self._close(group, reason)

    def _close(self, group, reason):
        now = self.clock()

        def change(uow):
            self._update(uow, group, {**domain.transition(group, "closed", now), "closed_reason": reason})
            for rid in group["members"]:
                if group["state"] == "proposed":
                    self.store.release(uow, rid, self.widening_days)
                else:
                    self.store.remove_waiting(uow, rid)
            if group["state"] == "proposed":
                self.store.mark_dirty(uow, group["pool"])
            uow.emit("group_closed", domain.group_event(group, reason=reason))
            return {"group_id": group["_id"], "state": "closed"}

        return self._write_group(change)

    def leave(self, group_id, registration_id, actor):
        group = self._group_for(group_id, actor)
        if registration_id not in group["members"]:
            raise NotFound(f"{registration_id!r} is not a member of {group_id!r}")
        if group["state"] in ("closed", "rejected"):
            raise Conflict(f"A {group['state']} group has no members to leave.")
        updated = self._write_group(
            lambda uow: self._remove_member(uow, group, registration_id, "left", self.clock(), forget=True)
        )
        self.after_member_left(updated)
        return {"group_id": group_id, "registration_ids": updated["members"], "state": updated["state"]}

    def _remove_member(self, uow, group, registration_id, reason, now, forget=False):
        members = [m for m in group["members"] if m != registration_id]
        self._update(uow, group, {"members": members})
        if forget:
            self.store.remove_waiting(uow, registration_id)
        uow.emit(
            "group_member_left",
            {
                **domain.group_event(group),
                "registration_ids": members,
                "registration_id": registration_id,
                "reason": reason,
            },
        )
        return {**group, "members": members, "version": group["version"] + 1}

    def after_member_left(self, group):
        """Below its minimum: a confirmed group is refilled from the pool; a proposal that cannot
        be refilled is dissolved (its members back in the pool)."""
        if len(group["members"]) >= group["min_size"]:
            return group
        refilled = self.refill(group)
        if refilled is not None and len(refilled["members"]) >= group["min_size"]:
            return refilled
        if group["state"] == "proposed":
            return self._close(self.store.group(group["_id"]), "dissolved")
        return refilled or group

    def refill(self, group):
        for _ in range(CLAIM_ATTEMPTS):
            group = self.store.group(group["_id"])
            now = self.clock()
            settings = domain.pool_settings(
                group["pool"], self.store.contact_point(group["contact_point_id"]), self.widening_days
            )
            member_entries = self.store.entries(group["members"])
            entries = self.store.pool_entries(group["pool"])
            everyone = [e["_id"] for e in member_entries + entries]
            members = [domain.person(e, group["pool"], now, self.widening_days) for e in member_entries]
            candidates = [domain.person(e, group["pool"], now, self.widening_days) for e in entries]
            added = domain.refill_candidates(
                group, members, candidates, settings, self.store.acquaintances_among(everyone)
            )
            if not added:
                return None
            versions = {e["_id"]: e["version"] for e in entries}

            def change(uow, group=group, added=added, versions=versions):
                for rid in added:
                    self.store.claim(uow, rid, versions[rid], group["_id"])
                self._update(uow, group, {"members": group["members"] + added})
                for rid in added:
                    uow.emit(
                        "group_member_added",
                        {
                            **domain.group_event(group),
                            "registration_ids": group["members"] + added,
                            "registration_id": rid,
                        },
                    )
                return {**group, "members": group["members"] + added}

            try:
                return self.store.transaction(change)
            except (ClaimLost, Conflict):
                continue
        return None

    def record_acquaintances(self, a, b, actor):
        if a == b:
            raise InvalidInput({"registration_id_b": ["Must be another person than registration_id_a."]})
        entries = {e["_id"]: e for e in self.store.entries([a, b])}
        for field_name, rid in (("registration_id_a", a), ("registration_id_b", b)):
            if rid not in entries:
                raise NotFound(f"{field_name}: no one waiting or in a group with id {rid!r}")
            require_contact_point(actor, self._contact_point_of(entries[rid]))
        now = self.clock()
        self.store.transaction(lambda uow: self.store.add_acquaintances(uow, a, b, now))
        together = entries[a]["group_id"] if entries[a]["group_id"] == entries[b]["group_id"] else None
        return {"registration_ids": sorted((a, b)), "recorded": True, "same_group": together}

    def _contact_point_of(self, entry):
        if entry["group_id"]:
            group = self.store.group(entry["group_id"])
            if group is not None:
                return group["contact_point_id"]
        return entry["contact_point_id"]

    # --- read views for the gateway (ids only, no names) ---------------------------------------

    def pool_view(self, contact_point_id, actor):
        require_contact_point(actor, contact_point_id)
        return [
            {
                "registration_id": entry["_id"],
                "waiting_since": iso(entry["queue_since"]),
                "role": entry["profile"]["role"],
                "language": entry["profile"]["languages"][0],
                "themes": entry["profile"]["themes"],
                "slots": entry["profile"]["availability"],
                "open_to_mixed": entry["profile"]["open_to_mixed"],
                "route_kind": entry["route_kind"],
                "widening": [{"step": w["step"], "at": iso(w["at"]), "reason": w["reason"]} for w in entry["widening"]],
            }
            for entry in sorted(
                self.store.entries_of_contact_point(contact_point_id), key=lambda e: (e["queue_since"], e["_id"])
            )
        ]

    def groups_view(self, contact_point_id, actor, states):
        require_contact_point(actor, contact_point_id)
        return [
            group_view(group)
            for group in sorted(
                self.store.groups_of(contact_point_id, states), key=lambda g: (g["proposed_at"], g["_id"])
            )
        ]

    def figures(self):
        """Anonymous counts per county and nationwide."""
        counties, national = {}, {}
        for county, status in self.store.figure_rows():
            national[status] = national.get(status, 0) + 1
            if county:
                counties.setdefault(county, {})
                counties[county][status] = counties[county].get(status, 0) + 1
        groups = {}
        for state in self.store.group_states():
            groups[state] = groups.get(state, 0) + 1
        return {"national": {**national, "groups": groups}, "counties": counties}


def group_view(group):
    view = {
        "group_id": group["_id"],
        "contact_point_id": group["contact_point_id"],
        "state": group["state"],
        "registration_ids": list(group["members"]),
        "slot": engine.slot_dict(group["slot"]),
        "theme": group["theme"],
        "explanation": group["explanation"],
        "proposed_at": iso(group["proposed_at"]),
    }
    if group.get("confirmation"):
        view["confirmation"] = {
            **group["confirmation"],
            "first_meeting_at": iso(group["confirmation"]["first_meeting_at"]),
        }
    return view
