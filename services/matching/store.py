"""matching's own database: waiting people, groups, acquaintance pairs, pool state, contact points
(the store port of ports.MatchingStore; memory_store.py keeps the same in memory).

Every hot path is a lookup by key or by one pool (a small result set): the store's cost grows with
the documents a query matches (docs/operations.md, "Platform facts"). Placing a person is a *versioned claim*: the write
only succeeds if the person is unclaimed and still at the version the proposal was computed from,
inside the transaction that writes the group, so two replicas never put one person in two groups.
"""

import uuid

from pymongo import ASCENDING, UpdateOne

from services.common.store import Storage

from . import domain, figures
from .ports import ClaimLost

#: Where the erasure tombstones were before they moved into the waiting collection's id space
#: (issue 19): copied over at start, and still written for replicas of the earlier code.
LEGACY_ERASED = "erased"


class MatchingStorage(Storage):
    def __init__(self, provider):
        super().__init__(provider)
        self._contact_points = {}  # read in this worker's run, outside transactions

    @classmethod
    def ensure_indexes(cls, db):
        db.waiting.create_index([("pools", ASCENDING)])
        db.waiting.create_index([("contact_point_id", ASCENDING)])
        db.waiting.create_index([("next_widening_at", ASCENDING)])
        db.groups.create_index([("contact_point_id", ASCENDING), ("state", ASCENDING)])
        db.groups.create_index([("next_checkin_at", ASCENDING)])
        db.checkins.create_index([("group_id", ASCENDING)])
        db.checkin_comments.create_index([("group_id", ASCENDING)])
        db.checkin_comments.create_index([("author", ASCENDING)])
        db.acquaintances.create_index([("pair", ASCENDING)])
        db.waiting.create_index([("profile.cohort.cohort_id", ASCENDING)])
        db.cohorts.create_index([("formed", ASCENDING), ("deadline", ASCENDING)])
        db.pool_state.create_index([("dirty", ASCENDING)])
        cls.copy_legacy_tombstones(db)

    @staticmethod
    def copy_legacy_tombstones(db):
        """The tombstones the earlier code kept in their own collection, into the waiting
        collection's id space (idempotent: run at every start)."""
        ids = [doc["_id"] for doc in db[LEGACY_ERASED].find({}, {"_id": 1})]
        if ids:
            upserts = [UpdateOne({"_id": i}, {"$set": {"erased": True}}, upsert=True) for i in ids]
            db.waiting.bulk_write(upserts, ordered=False)
        return len(ids)

    # --- waiting people ---------------------------------------------------------------------------

    def entry(self, registration_id, uow=None):
        return self._db(uow).waiting.find_one({"_id": registration_id}, session=_session(uow))

    def arrival_entry(self, registration_id, tombstone, uow):
        """The person's waiting entry and whether they were erased, in one read: the tombstone is a
        document of the waiting collection under its own digest (`_id` lookups, no scan)."""
        found = {
            doc["_id"]: doc
            for doc in uow.db.waiting.find({"_id": {"$in": [registration_id, tombstone]}}, session=uow.session)
        }
        return found.get(registration_id), tombstone in found

    def entries(self, registration_ids, uow=None):
        return list(self._db(uow).waiting.find({"_id": {"$in": list(registration_ids)}}, session=_session(uow)))

    def put_waiting(self, uow, entry):
        uow.db.waiting.replace_one({"_id": entry["_id"]}, entry, upsert=True, session=uow.session)

    def update_profile(self, uow, registration_id, profile):
        uow.db.waiting.update_one({"_id": registration_id}, {"$set": {"profile": profile}}, session=uow.session)

    def replace_if_version(self, uow, entry, version):
        result = uow.db.waiting.replace_one({"_id": entry["_id"], "version": version}, entry, session=uow.session)
        return result.modified_count == 1

    def remove_waiting(self, uow, registration_id):
        return uow.db.waiting.delete_one({"_id": registration_id}, session=uow.session).deleted_count

    def pool_entries(self, pool):
        """Everyone who can be placed from one pool now (claimed people have no pools)."""
        return list(self.db.waiting.find({"pools": pool}))

    def entries_of_contact_point(self, contact_point_id):
        return list(self.db.waiting.find({"contact_point_id": contact_point_id, "group_id": None}))

    def due_for_widening(self, now, limit=200):
        return list(self.db.waiting.find({"next_widening_at": {"$lte": now}}).limit(limit))

    def claim(self, uow, registration_id, version, group_id):
        result = uow.db.waiting.update_one(
            {"_id": registration_id, "version": version, "group_id": None},
            {"$set": {"group_id": group_id, "pools": [], "next_widening_at": None}, "$inc": {"version": 1}},
            session=uow.session,
        )
        if result.modified_count != 1:
            raise ClaimLost(registration_id)

    def release(self, uow, registration_id, widening_days):
        """Back in the pool at the original place in the queue (`queue_since` is kept)."""
        entry = uow.db.waiting.find_one({"_id": registration_id}, session=uow.session)
        if entry is None:
            return None
        uow.db.waiting.update_one(
            {"_id": registration_id},
            {
                "$set": {
                    "group_id": None,
                    "pools": domain.pools_of(entry),
                    "next_widening_at": domain.next_widening_at(entry, widening_days),
                },
                "$inc": {"version": 1},
            },
            session=uow.session,
        )
        return entry

    def record_unroutable(self, uow, registration_id, reason, now, profile=None):
        """Only the national office can take the person: in its queue with their profile (to
        assign them), why and since when; a contact already noted is kept."""
        uow.db.unroutable.update_one(
            {"_id": registration_id},
            {"$set": {"reason": reason, "since": now, "profile": profile}},
            upsert=True,
            session=uow.session,
        )

    def unroutable_entry(self, registration_id, uow=None):
        return self._db(uow).unroutable.find_one({"_id": registration_id}, session=_session(uow))

    def keep_withdrawn(self, uow, doc):
        uow.db.withdrawn.replace_one({"_id": doc["_id"]}, doc, upsert=True, session=uow.session)

    def withdrawn_entry(self, registration_id, uow=None):
        return self._db(uow).withdrawn.find_one({"_id": registration_id}, session=_session(uow))

    def drop_withdrawn(self, uow, registration_id):
        uow.db.withdrawn.delete_one({"_id": registration_id}, session=uow.session)

    def forget(self, uow, registration_id):
        for name in ("waiting", "unroutable", "withdrawn"):
            uow.db[name].delete_one({"_id": registration_id}, session=uow.session)

    def mark_erased(self, uow, tombstone):
        """A tombstone (a digest, no id) in the waiting collection, where an arrival's read of its
        entry finds it too; and in the earlier code's collection, for its replicas while a deploy
        rolls (they read only that one)."""
        doc = {"_id": tombstone, "erased": True}
        uow.db.waiting.replace_one({"_id": tombstone}, doc, upsert=True, session=uow.session)
        uow.db[LEGACY_ERASED].replace_one({"_id": tombstone}, {"_id": tombstone}, upsert=True, session=uow.session)

    def is_erased(self, tombstone, uow=None):
        return self._db(uow).waiting.find_one({"_id": tombstone}, session=_session(uow)) is not None

    # --- groups -----------------------------------------------------------------------------------

    def group(self, group_id, uow=None):
        return self._db(uow).groups.find_one({"_id": group_id}, session=_session(uow))

    def insert_group(self, uow, group):
        uow.db.groups.insert_one(group, session=uow.session)

    def update_group(self, uow, group, changes):
        """Versioned: False if the group changed since it was read."""
        result = uow.db.groups.update_one(
            {"_id": group["_id"], "version": group["version"]},
            {"$set": changes, "$inc": {"version": 1}},
            session=uow.session,
        )
        return result.modified_count == 1

    def groups_of(self, contact_point_id, states):
        return list(self.db.groups.find({"contact_point_id": contact_point_id, "state": {"$in": list(states)}}))

    def groups_due_for_checkin(self, now, limit=100):
        return list(self.db.groups.find({"next_checkin_at": {"$lte": now}}).limit(limit))

    # --- check-ins and their comments -------------------------------------------------------------

    def checkins_of(self, group_id, uow=None):
        found = self._db(uow).checkins.find({"group_id": group_id}, session=_session(uow))
        return sorted(found, key=lambda checkin: checkin["number"])

    def checkin(self, checkin_id, uow=None):
        return self._db(uow).checkins.find_one({"_id": checkin_id}, session=_session(uow))

    def put_checkin(self, uow, checkin):
        uow.db.checkins.replace_one({"_id": checkin["_id"]}, checkin, upsert=True, session=uow.session)

    def put_comment(self, uow, comment):
        uow.db.checkin_comments.replace_one({"_id": comment["_id"]}, comment, upsert=True, session=uow.session)

    def comment(self, checkin_id):
        return self.db.checkin_comments.find_one({"_id": checkin_id})

    def drop_comment(self, uow, checkin_id):
        uow.db.checkin_comments.delete_one({"_id": checkin_id}, session=uow.session)

    def drop_comments_of_group(self, uow, group_id):
        uow.db.checkin_comments.delete_many({"group_id": group_id}, session=uow.session)

    def drop_comments_by(self, uow, registration_id):
        uow.db.checkin_comments.delete_many({"author": registration_id}, session=uow.session)

    def audit(self, entry):
        self.db.audit.insert_one({"_id": str(uuid.uuid4()), **entry})

    # --- acquaintances and rejected sets ---------------------------------------------------------

    def acquaintances_among(self, registration_ids, uow=None):
        """Every pair among the ids, staff-recorded or flagged, each once."""
        ids = set(registration_ids)
        docs = self._db(uow).acquaintances.find({"pair": {"$in": sorted(ids)}}, session=_session(uow))
        return list(dict.fromkeys(frozenset(doc["pair"]) for doc in docs if set(doc["pair"]) <= ids))

    def add_acquaintances(self, uow, a, b, now):
        pair = sorted((a, b))
        uow.db.acquaintances.replace_one(
            {"_id": "|".join(pair)}, {"_id": "|".join(pair), "pair": pair, "at": now}, upsert=True, session=uow.session
        )

    def add_flagged_pair(self, uow, a, b, reason, now):
        key, pair = domain.flagged_pair_key(a, b, reason), sorted((a, b))
        uow.db.acquaintances.replace_one(
            {"_id": key}, {"_id": key, "pair": pair, "reason": reason, "at": now}, upsert=True, session=uow.session
        )

    def clear_flagged_pair(self, uow, a, b, reason):
        uow.db.acquaintances.delete_one({"_id": domain.flagged_pair_key(a, b, reason)}, session=uow.session)

    def forget_acquaintances(self, uow, registration_id):
        uow.db.acquaintances.delete_many({"pair": registration_id}, session=uow.session)

    def pool_state(self, pool, uow=None):
        found = self._db(uow).pool_state.find_one({"_id": pool}, session=_session(uow)) or {}
        return {"_id": pool, "rejected": [], "dirty": False, "seq": 0, **found}

    def add_rejected(self, uow, pool, registration_ids):
        uow.db.pool_state.update_one(
            {"_id": pool}, {"$push": {"rejected": sorted(registration_ids)}}, upsert=True, session=uow.session
        )

    def mark_dirty(self, uow, pool, due_at=None):
        """A pool marked already keeps its earlier due time (None, at once, is the earliest): one
        write, `$min` (a cleared pool has no due time, so a fresh mark takes its own)."""
        uow.db.pool_state.update_one(
            {"_id": pool},
            {"$set": {"dirty": True}, "$min": {"due_at": due_at}, "$inc": {"seq": 1}},
            upsert=True,
            session=uow.session,
        )

    def dirty_pools(self, limit=50, now=None, resolved_before=None):
        conditions = [{"dirty": True}]
        if now is not None:
            conditions.append({"$or": [{"due_at": None}, {"due_at": {"$lte": now}}]})
        if resolved_before is not None:
            conditions.append({"$or": [{"last_resolved_at": None}, {"last_resolved_at": {"$lte": resolved_before}}]})
        query = {"$and": conditions}
        return list(self.db.pool_state.find(query, {"seq": 1}).limit(limit))

    def note_resolved(self, uow, pool, now):
        uow.db.pool_state.update_one(
            {"_id": pool}, {"$set": {"last_resolved_at": now}}, upsert=True, session=uow.session
        )

    def clear_dirty(self, pool, seq):
        """Only if nothing marked it again meanwhile (no lost wake-up)."""
        self.db.pool_state.update_one({"_id": pool, "seq": seq}, {"$set": {"dirty": False}, "$unset": {"due_at": ""}})

    # --- course cohorts ----------------------------------------------------------------------------

    def cohort(self, cohort_id, uow=None):
        return self._db(uow).cohorts.find_one({"_id": cohort_id}, session=_session(uow))

    def save_cohort(self, uow, cohort):
        uow.db.cohorts.replace_one({"_id": cohort["_id"]}, cohort, upsert=True, session=uow.session)

    def cohorts_due(self, now, limit=50):
        return list(self.db.cohorts.find({"formed": False, "deadline": {"$lte": now}}).limit(limit))

    def entries_of_cohort(self, cohort_id, uow=None):
        return list(self._db(uow).waiting.find({"profile.cohort.cohort_id": cohort_id}, session=_session(uow)))

    # --- contact points ---------------------------------------------------------------------------

    def contact_point(self, contact_point_id, uow=None):
        """Outside a transaction, read once per handler run (this storage lives for one worker):
        an arrival's route check and its planning ask for the same one (issue 19)."""
        if uow is not None:
            return uow.db.contact_points.find_one({"_id": contact_point_id}, session=uow.session)
        if contact_point_id not in self._contact_points:
            self._contact_points[contact_point_id] = self.db.contact_points.find_one({"_id": contact_point_id})
        return self._contact_points[contact_point_id]

    def save_contact_point(self, uow, data):
        self._contact_points.pop(data["contact_point_id"], None)
        uow.db.contact_points.replace_one(
            {"_id": data["contact_point_id"]},
            {**data, "_id": data["contact_point_id"]},
            upsert=True,
            session=uow.session,
        )

    def digital_contact_points(self):
        return {doc["_id"] for doc in self.db.contact_points.find({"digital_groups": True, "active": True}, {"_id": 1})}

    # --- the national office's queue --------------------------------------------------------------

    def unroutable_entries(self):
        return list(self.db.unroutable.find({}))

    def remove_unroutable(self, uow, registration_id):
        return uow.db.unroutable.delete_one({"_id": registration_id}, session=uow.session).deleted_count

    def note_contact(self, uow, registration_id, contact):
        uow.db.unroutable.update_one({"_id": registration_id}, {"$set": {"contact": contact}}, session=uow.session)

    # --- figures ------------------------------------------------------------------------------------

    def figure_person(self, key, uow=None):
        return self._db(uow).figure_people.find_one({"_id": key}, session=_session(uow))

    def put_figure_person(self, uow, record):
        uow.db.figure_people.replace_one({"_id": record["_id"]}, record, upsert=True, session=uow.session)

    def register_figure_person(self, uow, record):
        """One write, no read: an update pipeline that keeps what `figures.KEPT_UNTIL_LEFT` names
        from a record whose person has not left, and takes the rest from `record`. Returns whether
        a record was there (an upsert that matched)."""
        not_left = {"$eq": [{"$ifNull": ["$left_at", None]}, None]}
        fields = {name: {"$literal": value} for name, value in record.items() if name != "_id"}
        for name, fresh in figures.KEPT_UNTIL_LEFT.items():
            fields[name] = {"$cond": [not_left, {"$ifNull": [f"${name}", fresh]}, fresh]}
        result = uow.db.figure_people.update_one(
            {"_id": record["_id"]}, [{"$set": fields}], upsert=True, session=uow.session
        )
        return result.matched_count == 1

    def figure_people(self):
        return self.db.figure_people.find({})

    def group_histories(self):
        """Replaced proposals (closed as superseded) were never groups: left out."""
        return list(
            self.db.groups.find({"closed_reason": {"$ne": "superseded"}}, {"contact_point_id": 1, "history": 1})
        )

    def checkin_answers(self):
        answers = {}
        for doc in self.db.checkins.find(
            {"answered_at": {"$ne": None}}, {"group_id": 1, "answered_at": 1, "answer": 1}
        ):
            still = (doc.get("answer") or {}).get("still_meeting")
            answers.setdefault(doc["group_id"], []).append({"answered_at": doc["answered_at"], "still_meeting": still})
        return answers

    def contact_point_counties(self):
        return {doc["_id"]: doc.get("county_number") for doc in self.db.contact_points.find({}, {"county_number": 1})}

    def _db(self, uow):
        return uow.db if uow is not None else self.db


def _session(uow):
    return uow.session if uow is not None else None
