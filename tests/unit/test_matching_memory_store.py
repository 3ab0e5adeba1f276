"""matching's in-memory store keeps the store port's semantics. `StoreContract` holds what every
implementation of the port must do; it runs here on the memory store and, in
tests/integration/test_matching_store.py, on the Mongo store, so the two cannot drift apart."""

from datetime import UTC, datetime, timedelta

import pytest

from services.common.envelope import ContractViolation
from services.matching import domain, engine, figures
from services.matching.memory_store import MemoryMatchingStore
from services.matching.ports import ClaimLost
from tests.fakes import an_event

T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)
WIDENING = engine.DEFAULT_WIDENING_DAYS
BERGEN = {"kind": "contact_point", "contact_point_id": "link-bergen", "reason": "serves Bergen"}
POOL = "link-bergen|self|nb"


def an_entry(rid, minutes=0, municipality_number="4601", **profile_changes):
    """A waiting entry of the stored shape, registered `minutes` after T0."""
    profile = {
        "registration_id": rid,
        "municipality_number": municipality_number,
        "role": "self",
        "themes": ["grief"],
        "languages": ["nb"],
        "availability": [{"weekday": "tue", "part_of_day": "evening"}],
        "open_to_mixed": True,
        "not_in_own_municipality": False,
        "digital_ok": False,
        "registered_at": T0 + timedelta(minutes=minutes),
        **profile_changes,
    }
    return domain.waiting_entry(profile, BERGEN, [BERGEN], T0, WIDENING)


def put(store, *entries):
    def change(uow):
        for entry in entries:
            store.put_waiting(uow, entry)

    store.transaction(change)


def a_group(group_id="g-1", members=("r1", "r2")):
    return {
        "_id": group_id,
        "contact_point_id": "link-bergen",
        "pool": POOL,
        "state": "proposed",
        "members": list(members),
        "version": 1,
        "history": [],
    }


class StoreContract:
    """What every implementation of ports.MatchingStore does; a subclass provides `store`."""

    def test_a_claim_is_versioned_and_places_a_person_once(self, store):
        put(store, an_entry("r1"))
        with pytest.raises(ClaimLost):
            store.transaction(lambda uow: store.claim(uow, "r1", 0, "g-1"))  # a stale version
        store.transaction(lambda uow: store.claim(uow, "r1", 1, "g-1"))
        with pytest.raises(ClaimLost):
            store.transaction(lambda uow: store.claim(uow, "r1", 2, "g-2"))  # placed already
        with pytest.raises(ClaimLost):
            store.transaction(lambda uow: store.claim(uow, "nobody", 1, "g-2"))
        entry = store.entry("r1")
        assert (entry["group_id"], entry["pools"], entry["version"], entry["next_widening_at"]) == ("g-1", [], 2, None)

    def test_a_transaction_that_raises_leaves_nothing_behind(self, store):
        put(store, an_entry("r1"))

        def proposal(uow):
            store.claim(uow, "r1", 1, "g-1")
            store.insert_group(uow, a_group(members=["r1", "r2"]))
            store.claim(uow, "r2", 1, "g-1")  # r2 is not there: the whole proposal is lost

        with pytest.raises(ClaimLost):
            store.transaction(proposal)
        assert store.entry("r1")["group_id"] is None and store.entry("r1")["version"] == 1
        assert store.group("g-1") is None and [e["_id"] for e in store.pool_entries(POOL)] == ["r1"]

    def test_an_event_is_applied_once_and_a_failed_one_can_be_applied_again(self, store):
        event = an_event("registration", "registration_created", {"registration_id": "r1"})
        with pytest.raises(ClaimLost):
            store.apply(event, lambda uow: store.claim(uow, "r1", 1, "g-1"))
        assert store.apply(event, lambda uow: (store.put_waiting(uow, an_entry("r1")), "done")[1]) == "done"
        assert store.apply(event, lambda uow: store.remove_waiting(uow, "r1")) is None
        assert store.entry("r1") is not None

    def test_a_group_update_is_versioned(self, store):
        store.transaction(lambda uow: store.insert_group(uow, a_group()))
        stale = store.group("g-1")
        assert store.transaction(lambda uow: store.update_group(uow, stale, {"state": "confirmed"})) is True
        assert store.transaction(lambda uow: store.update_group(uow, stale, {"state": "closed"})) is False
        group = store.group("g-1")
        assert (group["state"], group["version"], group["members"]) == ("confirmed", 2, ["r1", "r2"])
        assert store.transaction(lambda uow: store.update_group(uow, {"_id": "g-9", "version": 1}, {})) is False

    def test_a_group_id_is_inserted_once(self, store):
        store.transaction(lambda uow: store.insert_group(uow, a_group()))
        with pytest.raises(Exception, match="g-1"):
            store.transaction(lambda uow: store.insert_group(uow, {**a_group(), "state": "closed"}))
        assert store.group("g-1")["state"] == "proposed"

    def test_release_puts_a_person_back_in_their_pools_at_their_place(self, store):
        put(store, an_entry("r1"))
        store.transaction(lambda uow: store.claim(uow, "r1", 1, "g-1"))
        before = store.transaction(lambda uow: store.release(uow, "r1", WIDENING))
        assert before["group_id"] == "g-1"  # the entry as it was
        entry = store.entry("r1")
        assert (entry["group_id"], entry["pools"], entry["version"]) == (None, [POOL], 3)
        assert entry["queue_since"] == T0 and entry["next_widening_at"] == T0 + timedelta(days=14)
        assert store.transaction(lambda uow: store.release(uow, "nobody", WIDENING)) is None

    def test_pools_and_contact_points_list_only_those_free_to_place_oldest_first(self, store):
        put(store, an_entry("r2", minutes=2), an_entry("r1", minutes=1), an_entry("r3", minutes=3))
        store.transaction(lambda uow: store.claim(uow, "r2", 1, "g-1"))
        assert [e["_id"] for e in store.pool_entries(POOL)] == ["r1", "r3"]
        assert sorted(e["_id"] for e in store.entries_of_contact_point("link-bergen")) == ["r1", "r3"]
        assert sorted(e["_id"] for e in store.entries(["r1", "r2", "nobody"])) == ["r1", "r2"]
        assert store.pool_entries("elsewhere|self|nb") == []

    def test_profile_updates_replacements_and_removals(self, store):
        put(store, an_entry("r1"))
        store.transaction(lambda uow: store.update_profile(uow, "r1", {**store.entry("r1")["profile"], "themes": []}))
        assert store.entry("r1")["profile"]["themes"] == [] and store.entry("r1")["version"] == 1
        newer = {**store.entry("r1"), "version": 2}
        assert store.transaction(lambda uow: store.replace_if_version(uow, newer, 0)) is False
        assert store.transaction(lambda uow: store.replace_if_version(uow, newer, 1)) is True
        assert store.entry("r1")["version"] == 2
        assert store.transaction(lambda uow: store.remove_waiting(uow, "r1")) == 1
        assert store.transaction(lambda uow: store.remove_waiting(uow, "r1")) == 0

    def test_due_for_widening_gives_those_due_soonest_first_up_to_the_limit(self, store):
        put(store, an_entry("late", minutes=30), an_entry("early", minutes=10), an_entry("later", minutes=50))
        due = T0 + timedelta(days=14, minutes=40)
        assert [e["_id"] for e in store.due_for_widening(due)] == ["early", "late"]
        assert [e["_id"] for e in store.due_for_widening(due, limit=1)] == ["early"]
        assert store.due_for_widening(T0) == []

    def test_a_dirty_pool_is_cleared_only_if_not_marked_again_meanwhile(self, store):
        assert store.pool_state(POOL) == {"_id": POOL, "rejected": [], "dirty": False, "seq": 0}
        store.transaction(lambda uow: store.mark_dirty(uow, POOL))
        [seen] = store.dirty_pools()
        assert seen == {"_id": POOL, "seq": 1}
        store.transaction(lambda uow: store.mark_dirty(uow, POOL))
        store.clear_dirty(POOL, seen["seq"])  # a wake-up after it was read: not lost
        assert store.dirty_pools() == [{"_id": POOL, "seq": 2}]
        store.clear_dirty(POOL, 2)
        assert store.dirty_pools() == []
        store.transaction(lambda uow: store.add_rejected(uow, POOL, ["r2", "r1"]))
        assert store.pool_state(POOL)["rejected"] == [["r1", "r2"]]

    def test_a_pool_marked_for_later_is_due_then_and_keeps_its_earliest_time(self, store):
        later, latest = T0 + timedelta(minutes=10), T0 + timedelta(hours=2)
        store.transaction(lambda uow: store.mark_dirty(uow, POOL, later))
        store.transaction(lambda uow: store.mark_dirty(uow, POOL, latest))  # marked already: stays due at `later`
        assert store.dirty_pools(now=T0) == []
        assert store.dirty_pools(now=later) == [{"_id": POOL, "seq": 2}] == store.dirty_pools()
        store.transaction(lambda uow: store.mark_dirty(uow, POOL))  # at once wins over any time
        assert store.dirty_pools(now=T0) == [{"_id": POOL, "seq": 3}]
        store.clear_dirty(POOL, 3)
        store.transaction(lambda uow: store.mark_dirty(uow, POOL, latest))  # a fresh mark takes its own time
        assert store.dirty_pools(now=later) == [] and store.dirty_pools(now=latest) == [{"_id": POOL, "seq": 4}]

    def test_a_pool_resolved_lately_waits_until_the_given_moment(self, store):
        store.transaction(lambda uow: store.mark_dirty(uow, POOL))
        assert store.dirty_pools(now=T0, resolved_before=T0) == [{"_id": POOL, "seq": 1}]  # never resolved
        store.transaction(lambda uow: store.note_resolved(uow, POOL, T0))
        assert store.pool_state(POOL)["last_resolved_at"] == T0
        assert store.dirty_pools(now=T0, resolved_before=T0 - timedelta(seconds=1)) == []
        assert store.dirty_pools(now=T0, resolved_before=T0) == [{"_id": POOL, "seq": 1}]

    def test_acquaintances_among_a_set_and_forgotten_with_a_person(self, store):
        store.transaction(lambda uow: store.add_acquaintances(uow, "r2", "r1", T0))
        store.transaction(lambda uow: store.add_acquaintances(uow, "r1", "r3", T0))
        store.transaction(lambda uow: store.add_acquaintances(uow, "r1", "r2", T0))  # the same pair
        assert sorted(map(sorted, store.acquaintances_among(["r1", "r2", "r3"]))) == [["r1", "r2"], ["r1", "r3"]]
        assert store.acquaintances_among(["r1", "r2"]) == [frozenset({"r1", "r2"})]
        store.transaction(lambda uow: store.forget_acquaintances(uow, "r1"))
        assert store.acquaintances_among(["r1", "r2", "r3"]) == []

    def test_forgetting_erasing_and_the_national_office_queue(self, store):
        put(store, an_entry("r1"), an_entry("r2", municipality_number="0301"))
        profile = an_entry("r4", municipality_number=None)["profile"]
        store.transaction(lambda uow: store.record_unroutable(uow, "r4", "no route", T0, profile))
        store.transaction(lambda uow: store.note_contact(uow, "r4", {"at": T0, "purpose": "clarify_wishes"}))
        store.transaction(lambda uow: store.record_unroutable(uow, "r4", "still no route", T0, profile))
        [queued] = store.unroutable_entries()
        assert (queued["reason"], queued["profile"]["registration_id"]) == ("still no route", "r4")
        assert queued["contact"] == {"at": T0, "purpose": "clarify_wishes"}  # a new reason keeps the contact
        assert store.unroutable_entry("r4")["since"] == T0 and store.unroutable_entry("r1") is None
        store.transaction(lambda uow: (store.forget(uow, "r1"), store.forget(uow, "r4")))
        assert store.entry("r1") is None and store.unroutable_entries() == []
        assert store.transaction(lambda uow: store.remove_unroutable(uow, "r4")) == 0
        store.transaction(lambda uow: store.mark_erased(uow, domain.erasure_tombstone("r1")))
        assert store.is_erased(domain.erasure_tombstone("r1")) and not store.is_erased("r1")

    def test_an_arrival_reads_the_entry_and_the_erasure_at_once_and_a_tombstone_is_in_no_pool(self, store):
        tombstone = domain.erasure_tombstone("r2")
        put(store, an_entry("r1"))
        store.transaction(lambda uow: store.mark_erased(uow, tombstone))
        entry, erased = store.transaction(lambda uow: store.arrival_entry("r1", domain.erasure_tombstone("r1"), uow))
        assert (entry["_id"], erased) == ("r1", False)
        assert store.transaction(lambda uow: store.arrival_entry("r2", tombstone, uow)) == (None, True)
        assert store.is_erased(tombstone) and not store.is_erased(domain.erasure_tombstone("r1"))
        assert [e["_id"] for e in store.pool_entries(POOL)] == ["r1"]
        assert [e["_id"] for e in store.entries_of_contact_point("link-bergen")] == ["r1"]
        assert [e["_id"] for e in store.due_for_widening(T0 + timedelta(days=400))] == ["r1"]
        assert store.entries_of_cohort("coh-1") == []

    def test_a_registration_s_figure_record_keeps_its_placement_until_the_person_leaves(self, store):
        profile = an_entry("r1")["profile"]
        fresh = figures.person_record(profile, "link-bergen")
        key = fresh["_id"]
        assert store.transaction(lambda uow: store.register_figure_person(uow, fresh)) is False
        assert store.figure_person(key) == fresh
        placed = {"placed_at": T0, "placed_contact_point_id": "link-bergen", "placed_group_id": "g-1"}
        store.transaction(lambda uow: store.put_figure_person(uow, {**fresh, **placed, "paused_seconds": 60.0}))
        moved = figures.person_record({**profile, "themes": ["anxiety"]}, "link-oslo")
        assert store.transaction(lambda uow: store.register_figure_person(uow, moved)) is True
        assert store.figure_person(key) == {**moved, **placed, "paused_seconds": 60.0}
        store.transaction(lambda uow: store.put_figure_person(uow, {**store.figure_person(key), "left_at": T0}))
        assert store.transaction(lambda uow: store.register_figure_person(uow, fresh)) is True
        assert store.figure_person(key) == fresh  # back after leaving: a new wait

    def test_figure_records_are_kept_by_their_digest_and_groups_by_their_history(self, store):
        record = {"_id": "digest-1", "county_number": "46", "registered_at": T0, "placed_at": None}
        store.transaction(lambda uow: store.put_figure_person(uow, record))
        store.transaction(lambda uow: store.put_figure_person(uow, {**record, "placed_at": T0}))
        assert store.figure_person("digest-1")["placed_at"] == T0 and store.figure_person("digest-2") is None
        assert [r["_id"] for r in store.figure_people()] == ["digest-1"]
        history = [{"state": "proposed", "at": T0}]
        store.transaction(lambda uow: store.insert_group(uow, {**a_group("g-1"), "history": history}))
        [group] = store.group_histories()
        assert (group["_id"], group["contact_point_id"], group["history"]) == ("g-1", "link-bergen", history)
        assert store.checkin_answers() == {}
        data = {"contact_point_id": "cp-a", "revision": 1, "county_number": "46"}
        store.transaction(lambda uow: store.save_contact_point(uow, data))
        assert store.contact_point_counties() == {"cp-a": "46"}

    def test_contact_points_and_those_running_digital_groups(self, store):
        for cp, digital, active in (("cp-a", True, True), ("cp-b", True, False), ("cp-c", False, True)):
            data = {"contact_point_id": cp, "revision": 1, "digital_groups": digital, "active": active}
            store.transaction(lambda uow, data=data: store.save_contact_point(uow, data))
        assert store.contact_point("cp-a")["revision"] == 1 and store.contact_point("cp-x") is None
        assert store.digital_contact_points() == {"cp-a"}

    def test_groups_of_a_contact_point_by_state(self, store):
        store.transaction(lambda uow: store.insert_group(uow, a_group("g-1")))
        store.transaction(lambda uow: store.insert_group(uow, {**a_group("g-2"), "state": "confirmed"}))
        store.transaction(lambda uow: store.insert_group(uow, {**a_group("g-3"), "contact_point_id": "cp-x"}))
        assert [g["_id"] for g in store.groups_of("link-bergen", ("proposed",))] == ["g-1"]
        assert sorted(g["_id"] for g in store.groups_of("link-bergen", ("proposed", "confirmed"))) == ["g-1", "g-2"]
        replaced = {**a_group("g-4"), "state": "closed", "closed_reason": "superseded", "history": []}
        store.transaction(lambda uow: store.insert_group(uow, replaced))
        assert "g-4" not in [g["_id"] for g in store.group_histories()]  # a replaced proposal was never a group

    def test_what_a_read_hands_out_is_a_copy(self, store):
        put(store, an_entry("r1"))
        entry = store.entry("r1")
        entry["profile"]["themes"].append("anxiety")
        store.pool_entries(POOL)[0]["pools"].clear()
        assert store.entry("r1")["profile"]["themes"] == ["grief"] and store.entry("r1")["pools"] == [POOL]

    # --- issue 13 ----------------------------------------------------------------------------------

    def test_flagged_pairs_are_kept_apart_from_those_staff_recorded(self, store):
        store.transaction(lambda uow: store.add_acquaintances(uow, "r1", "r2", T0))
        store.transaction(lambda uow: store.add_flagged_pair(uow, "r2", "r1", "avoid", T0))
        store.transaction(lambda uow: store.add_flagged_pair(uow, "r1", "r3", "avoid", T0))
        assert sorted(map(sorted, store.acquaintances_among(["r1", "r2", "r3"]))) == [["r1", "r2"], ["r1", "r3"]]
        store.transaction(lambda uow: store.clear_flagged_pair(uow, "r1", "r2", "avoid"))
        store.transaction(lambda uow: store.clear_flagged_pair(uow, "r3", "r1", "avoid"))
        assert store.acquaintances_among(["r1", "r2", "r3"]) == [frozenset({"r1", "r2"})]  # the staff's stays

    def test_what_is_kept_of_the_withdrawn_and_the_unroutable_goes_with_forgetting(self, store):
        profile = an_entry("r1")["profile"]
        store.transaction(lambda uow: store.record_unroutable(uow, "r1", "no route", T0, profile))
        assert store.unroutable_entry("r1")["profile"]["registration_id"] == "r1"
        kept = domain.withdrawn_record(store.unroutable_entry("r1"), T0)
        store.transaction(lambda uow: store.keep_withdrawn(uow, kept))
        assert store.withdrawn_entry("r1")["queue_since"] == T0
        assert list(store.figure_people()) == []  # what is kept for a return counts in no figure
        store.transaction(lambda uow: store.forget(uow, "r1"))
        assert store.withdrawn_entry("r1") is None and store.unroutable_entry("r1") is None
        store.transaction(lambda uow: store.keep_withdrawn(uow, kept))
        store.transaction(lambda uow: store.drop_withdrawn(uow, "r1"))
        assert store.withdrawn_entry("r1") is None

    def test_check_ins_and_their_comments(self, store):
        store.transaction(lambda uow: store.insert_group(uow, {**a_group("g-1"), "next_checkin_at": T0}))
        store.transaction(lambda uow: store.insert_group(uow, {**a_group("g-2"), "next_checkin_at": None}))
        assert [g["_id"] for g in store.groups_due_for_checkin(T0)] == ["g-1"]
        assert store.groups_due_for_checkin(T0 - timedelta(seconds=1)) == []
        for number in (2, 1):
            checkin = {"_id": f"c{number}", "group_id": "g-1", "number": number, "due_at": T0, "answer": None}
            store.transaction(lambda uow, checkin=checkin: store.put_checkin(uow, checkin))
        assert [c["_id"] for c in store.checkins_of("g-1")] == ["c1", "c2"] and store.checkin("c2")["number"] == 2
        assert store.checkin_answers() == {}  # none answered yet
        answered = {**store.checkin("c1"), "answer": {"still_meeting": True}, "answered_at": T0}
        store.transaction(lambda uow: store.put_checkin(uow, answered))
        assert store.checkin_answers() == {"g-1": [{"answered_at": T0, "still_meeting": True}]}
        for key, group, author in (("c1", "g-1", "r1"), ("c2", "g-1", "r2"), ("c3", "g-2", "r1")):
            comment = {"_id": key, "group_id": group, "author": author, "comment": "tekst"}
            store.transaction(lambda uow, comment=comment: store.put_comment(uow, comment))
        store.transaction(lambda uow: store.drop_comments_by(uow, "r1"))
        assert store.comment("c1") is None and store.comment("c3") is None and store.comment("c2")["comment"] == "tekst"
        store.transaction(lambda uow: store.drop_comments_of_group(uow, "g-1"))
        assert store.comment("c2") is None
        store.audit({"at": T0, "action": "read_checkin_comment", "checkin_id": "c2"})

    def test_cohorts_due_and_the_entries_naming_one(self, store):
        cohort = {"_id": "coh-1", "contact_point_id": "link-bergen", "deadline": T0, "formed": False}
        store.transaction(lambda uow: store.save_cohort(uow, cohort))
        store.transaction(lambda uow: store.save_cohort(uow, {**cohort, "_id": "coh-2", "formed": True}))
        assert [c["_id"] for c in store.cohorts_due(T0)] == ["coh-1"] and store.cohorts_due(T0 - timedelta(1)) == []
        assert store.cohort("coh-1")["contact_point_id"] == "link-bergen" and store.cohort("coh-x") is None
        put(store, an_entry("r1", cohort={"cohort_id": "coh-1", "keep_together": True}), an_entry("r2"))
        assert [e["_id"] for e in store.entries_of_cohort("coh-1")] == ["r1"]


class TestTheMemoryStore(StoreContract):
    @pytest.fixture
    def store(self):
        return MemoryMatchingStore()


# --- what only the memory store shows: its outbox ------------------------------------------------------


def waitlisted(rid):
    return {"registration_id": rid, "contact_point_id": "link-bergen", "route_kind": "contact_point", "reason": "x"}


def test_the_outbox_holds_what_committed_transactions_emitted_in_order():
    store = MemoryMatchingStore()
    store.transaction(lambda uow: uow.emit("registration_waitlisted", waitlisted("r1")))
    with pytest.raises(ClaimLost):
        store.transaction(
            lambda uow: (uow.emit("registration_waitlisted", waitlisted("r2")), store.claim(uow, "r2", 1, "g"))
        )
    store.transaction(lambda uow: uow.emit("registration_unroutable", {"registration_id": "r3", "reason": "none"}))
    assert store.emitted_types() == ["registration_waitlisted", "registration_unroutable"]
    taken = store.take_outbox()
    assert [e["data"]["registration_id"] for e in taken] == ["r1", "r3"] and taken[0]["source"] == "matching"
    assert store.take_outbox() == []


def test_an_event_that_breaks_its_contract_undoes_its_transaction():
    store = MemoryMatchingStore()

    def change(uow):
        store.put_waiting(uow, an_entry("r1"))
        uow.emit("registration_waitlisted", {"registration_id": "r1"})

    with pytest.raises(ContractViolation):
        store.transaction(change)
    assert store.entry("r1") is None and store.outbox == []


def test_no_write_outside_its_transaction_and_no_nested_transactions():
    store = MemoryMatchingStore()
    kept = []
    store.transaction(kept.append)
    with pytest.raises(RuntimeError, match="outside"):
        store.put_waiting(kept[0], an_entry("r1"))
    with pytest.raises(RuntimeError, match="nest"):
        store.transaction(lambda uow: store.transaction(lambda inner: None))
    assert store.entry("r1") is None
