"""Registrations, their encrypted contact records, erased-key tombstones and anonymous counts, in
registration's own database. Contact details are sealed by the vault before they reach the driver."""

import random
import uuid
from datetime import timedelta

from pymongo.errors import DuplicateKeyError

from services.common import clock
from services.common.cache import TtlCache
from services.common.settings import for_container
from services.common.store import MongoStore, Storage

from .domain import APPLIED_HERE, FOLLOW_READS, LAST_ACTIVITY, WITHDRAWN, stamped
from .ports import ChangedMeanwhile, KeyTaken
from .vault import Vault

COUNT_SHARDS = 32
#: How many ids of events applied to one registration alone it keeps (`follow`): many more than
#: can be on their way for one person at once.
APPLIED_KEPT = 32
#: How often `follow` reads again when the registration changed between its read and its update.
FOLLOW_ATTEMPTS = 3
#: How long an opened contact record is kept in memory (issue 19: the receipt's `contact_details`
#: a second after the intake costs no read and no decryption). A contact record never changes
#: once sealed; the registration itself is read every time, so an erased or withdrawn person is
#: told by it whichever replica holds a copy, and the replica that erases or withdraws drops its own.
OPENED_CONTACT_SECONDS = 30
#: How long a throttle's attempts are kept (the longest window counted is 24 hours).
ATTEMPTS_KEPT = timedelta(days=1)
#: The name MongoDB gives the unique index on `idempotency_key`, as its duplicate-key errors cite it.
IDEMPOTENCY_KEY_INDEX = "idempotency_key_1"
#: The log of contact_details calls is kept two years (a TTL index), for accountability.
CONTACT_READS_KEPT_SECONDS = 2 * 366 * 24 * 3600


class RegistrationStorage(Storage):
    def __init__(self, provider):
        super().__init__(provider)
        self.vault = provider.vault
        self.retention_days = provider.retention_days
        self.opened = provider.opened

    @classmethod
    def ensure_indexes(cls, db):
        db.registrations.create_index("idempotency_key", unique=True, name=IDEMPOTENCY_KEY_INDEX)
        db.registrations.create_index("same_person_lookups")
        db.registrations.create_index("referral.referrer_id")
        db.registrations.create_index([("status", 1), ("updated_at", 1)])
        db.registrations.create_index([("status", 1), (LAST_ACTIVITY, 1)])
        db.registrations.create_index([("retention_reason", 1), (LAST_ACTIVITY, 1)])
        db.registrations.create_index([("status", 1), ("paused_until", 1)])
        db.registrations.create_index("avoid_digests")
        db.registrations.create_index("cohort.cohort_id")
        db.attempts.create_index([("kind", 1), ("key", 1), ("at", 1)])
        db.audit.create_index("registration_id")
        db.cohorts.create_index("code", unique=True)
        db.cohorts.create_index("created_by")
        db.contact_reads.create_index("at", expireAfterSeconds=CONTACT_READS_KEPT_SECONDS)

    def transaction(self, change, event_id=None):
        """The shared transaction; a registration whose idempotency key another took meanwhile
        (the unique index says so) raises the port's KeyTaken."""
        try:
            return super().transaction(change, event_id)
        except DuplicateKeyError as exc:
            if IDEMPOTENCY_KEY_INDEX not in str(exc):
                raise
            raise KeyTaken() from None

    @staticmethod
    def _session(uow):
        return uow.session if uow else None

    def by_idempotency_key(self, key, uow=None):
        return self.db.registrations.find_one({"idempotency_key": key}, session=self._session(uow))

    def get(self, registration_id, uow=None):
        return self.db.registrations.find_one({"_id": registration_id}, session=self._session(uow))

    def follow(self, event_id, registration_id, changes_for, likely=None):
        """One event's change to one registration, its ledger entry in the same document: a read
        and one conditional update, no transaction (issue 19; before: a read, an update, a ledger
        insert and a commit). The update holds only while the event is not applied and the fields
        the rules read (FOLLOW_READS) are as read; otherwise it reads again. With `likely` (those
        fields as the registration most likely has them) the update is tried first without a read:
        one operation when the guess holds, the read as before when it does not. Returns the
        changes, or None when there is nothing to do: applied before, no such registration, no
        change."""
        if likely is not None:
            changes = changes_for(dict(likely))
            if changes and self._update_unless_changed(event_id, registration_id, likely, changes):
                return changes
        for _ in range(FOLLOW_ATTEMPTS):
            current = self.get(registration_id)
            if current is None or event_id in current.get(APPLIED_HERE, ()):
                return None
            changes = changes_for(current)
            if not changes:
                return None
            if self._update_unless_changed(event_id, registration_id, current, changes):
                return changes
        raise ChangedMeanwhile(registration_id)

    def _update_unless_changed(self, event_id, registration_id, read, changes):
        """Apply `changes` and note the event, while the event is not applied and the fields the
        rules read are as in `read`; whether it did."""
        unchanged = {field: read.get(field) for field in FOLLOW_READS}
        applied = {"$each": [event_id], "$slice": -APPLIED_KEPT}
        result = self.db.registrations.update_one(
            {"_id": registration_id, APPLIED_HERE: {"$ne": event_id}, **unchanged},
            {"$set": stamped(changes, clock.now()), "$push": {APPLIED_HERE: applied}},
        )
        return result.matched_count > 0

    def contact(self, registration_id):
        """The decrypted contact record (kept OPENED_CONTACT_SECONDS); one sealed under an older key
        is re-sealed under the newest."""
        try:
            return self.opened.get_or_load(registration_id, lambda: self._open(registration_id))
        except LookupError:
            return None

    def _open(self, registration_id):
        doc = self.db.contacts.find_one({"_id": registration_id})
        if doc is None:
            raise LookupError(registration_id)  # not kept: errors are never cached
        if not self.vault.is_current(doc["sealed"]):
            self.db.contacts.update_one(
                {"_id": registration_id, "sealed": doc["sealed"]},
                {"$set": {"sealed": self.vault.rotate(doc["sealed"])}},
            )
        return self.vault.open(doc["sealed"])

    def rotate_contacts(self, batch=500):
        """Re-seal every contact record under the newest key; returns how many changed."""
        rotated = 0
        for doc in self.db.contacts.find({}, {"sealed": 1}).batch_size(batch):
            if not self.vault.is_current(doc["sealed"]):
                result = self.db.contacts.update_one(
                    {"_id": doc["_id"], "sealed": doc["sealed"]}, {"$set": {"sealed": self.vault.rotate(doc["sealed"])}}
                )
                rotated += result.modified_count
        return rotated

    def add(self, uow, registration, contact):
        """Store a registration and its sealed contact; flag others with the same e-mail or phone
        (and this one with them) so staff can review, without decrypting anything."""
        same_person = (
            [
                doc["_id"]
                for doc in uow.db.registrations.find(
                    {"same_person_lookups": {"$in": registration["same_person_lookups"]}},
                    {"_id": 1},
                    session=uow.session,
                )
            ]
            if registration["same_person_lookups"]
            else []
        )
        registration = {**registration, "possible_duplicates": same_person}
        uow.db.registrations.insert_one(registration, session=uow.session)
        uow.db.contacts.insert_one(
            {"_id": registration["_id"], "sealed": self.vault.seal(contact)}, session=uow.session
        )
        self.opened.put(registration["_id"], contact)  # (an aborted transaction leaves no registration to read it by)
        if same_person:
            uow.db.registrations.update_many(
                {"_id": {"$in": same_person}},
                {"$addToSet": {"possible_duplicates": registration["_id"]}},
                session=uow.session,
            )
        return registration

    def update(self, uow, registration_id, changes):
        """Set `changes` (an update by key; read the result with `get`). Not find_one_and_update:
        the development store answers that by scanning the whole collection (it re-asserts the
        filter under `$and`), a cost that grew with every registration."""
        uow.db.registrations.update_one(
            {"_id": registration_id}, {"$set": stamped(changes, clock.now())}, session=uow.session
        )
        self._forget_opened_if_withdrawn([registration_id], changes)

    def update_all(self, uow, registration_ids, changes):
        registration_ids = list(registration_ids)
        uow.db.registrations.update_many(
            {"_id": {"$in": registration_ids}}, {"$set": stamped(changes, clock.now())}, session=uow.session
        )
        self._forget_opened_if_withdrawn(registration_ids, changes)

    def _forget_opened_if_withdrawn(self, registration_ids, changes):
        """A withdrawn person's kept contact goes at once, on the replica that withdrew them."""
        if changes.get("status") == WITHDRAWN:
            for registration_id in registration_ids:
                self.opened.drop(registration_id)

    def erase(self, uow, registration, reason):
        """Delete the person here; keep a keyed digest of the idempotency key (so a resend does not
        bring them back), anonymous counts, and their audit entries without the id."""
        registration_id = registration["_id"]
        deleted = uow.db.registrations.delete_one({"_id": registration_id}, session=uow.session).deleted_count
        uow.db.contacts.delete_one({"_id": registration_id}, session=uow.session)
        self.opened.drop(registration_id)
        for field in ("possible_duplicates", "avoid_flagged"):
            uow.db.registrations.update_many(
                {field: registration_id}, {"$pull": {field: registration_id}}, session=uow.session
            )
        uow.db.audit.update_many(
            {"registration_id": registration_id}, {"$set": {"registration_id": None}}, session=uow.session
        )
        uow.db.erased_keys.replace_one(
            {"_id": self.vault.key_digest(registration["idempotency_key"])},
            {"_id": self.vault.key_digest(registration["idempotency_key"])},
            upsert=True,
            session=uow.session,
        )
        self._count(uow, f"erased_{reason}")
        return deleted

    def record_contact_read(self, entry):
        self.db.contact_reads.insert_one(dict(entry))

    def key_was_erased(self, key):
        return self.db.erased_keys.find_one({"_id": self.vault.key_digest(key)}) is not None

    def by_id_prefix(self, prefix, limit=20):
        """Registrations whose id starts with `prefix` (a range on the key: any store answers it)."""
        query = {"_id": {"$gte": prefix, "$lt": prefix + "\U0010ffff"}}
        return list(self.db.registrations.find(query).sort("_id", 1).limit(limit))

    def by_referrer(self, referrer_id):
        return list(self.db.registrations.find({"referral.referrer_id": referrer_id}).sort("registered_at", 1))

    def inactive_since(self, statuses, reasons, cutoff, limit=100):
        """Two queries, each on an index, rather than one `$or` of both: a registration stored before
        `last_activity_at` was kept counts from its `updated_at`, the latest write, never earlier
        than its last activity (so the migration erases no one sooner than the old rule did)."""
        due = []
        for since in ({LAST_ACTIVITY: {"$lt": cutoff}}, {LAST_ACTIVITY: None, "updated_at": {"$lt": cutoff}}):
            query = {
                "$or": [{"status": {"$in": list(statuses)}}, {"retention_reason": {"$in": list(reasons)}}],
                **since,
            }
            due += self.db.registrations.find(query, {"_id": 1}).limit(limit - len(due))
            if len(due) >= limit:
                break
        return due

    def note_activity(self, registration_id, at):
        self.db.registrations.update_one({"_id": registration_id}, {"$set": {LAST_ACTIVITY: at}})

    def by_ids(self, registration_ids, uow=None):
        return list(self.db.registrations.find({"_id": {"$in": list(registration_ids)}}, session=self._session(uow)))

    def with_lookups(self, digests, uow=None):
        digests = list(digests)
        if not digests:
            return []
        return list(self.db.registrations.find({"same_person_lookups": {"$in": digests}}, session=self._session(uow)))

    def avoiding(self, digests, uow=None):
        digests = list(digests)
        if not digests:
            return []
        return list(self.db.registrations.find({"avoid_digests": {"$in": digests}}, session=self._session(uow)))

    def add_avoid_flag(self, uow, registration_id, other_id):
        uow.db.registrations.update_one(
            {"_id": registration_id}, {"$addToSet": {"avoid_flagged": other_id}}, session=uow.session
        )

    def due_pauses(self, now, limit=100):
        return list(
            self.db.registrations.find({"status": "paused", "paused_until": {"$lte": now}}, {"_id": 1}).limit(limit)
        )

    def audit(self, entry):
        self.db.audit.insert_one({"_id": str(uuid.uuid4()), **entry})

    def count_attempts(self, kind, key, since):
        return self.db.attempts.count_documents({"kind": kind, "key": key, "at": {"$gte": since}})

    def record_attempt(self, kind, key, at):
        self.db.attempts.delete_many({"kind": kind, "key": key, "at": {"$lt": at - ATTEMPTS_KEPT}})
        self.db.attempts.insert_one({"_id": str(uuid.uuid4()), "kind": kind, "key": key, "at": at})

    def add_cohort(self, uow, cohort):
        uow.db.cohorts.insert_one(cohort, session=uow.session)

    def cohort(self, cohort_id):
        return self.db.cohorts.find_one({"_id": cohort_id})

    def cohort_with_code(self, code):
        return self.db.cohorts.find_one({"code": code})

    def cohorts_of(self, referrer_id):
        return list(self.db.cohorts.find({"created_by": referrer_id}).sort("created_at", 1))

    def registered_in_cohort(self, cohort_id):
        return self.db.registrations.count_documents({"cohort.cohort_id": cohort_id})

    def counts(self):
        """Erasures by reason from their count documents; `registered` is derived, the registrations
        here plus those erased, so an intake writes no count (one store operation fewer on every
        registration: issue 19). Count documents named `registered`, written before, are ignored."""
        totals = {}
        for doc in self.db.counts.find():
            name = doc.get("name", doc["_id"])
            if name != "registered":
                totals[name] = totals.get(name, 0) + doc["count"]
        erased = sum(count for name, count in totals.items() if name.startswith("erased_"))
        registered = self.db.registrations.count_documents({}) + erased
        return {"registered": registered, **totals} if registered else totals

    @staticmethod
    def _count(uow, name):
        """One of COUNT_SHARDS documents per count, picked at random: with a single document every
        concurrent registration's transaction wrote the same one, and all but one of them failed
        with a write conflict and started again (measured: four tries per registration at 30/s)."""
        shard = random.randrange(COUNT_SHARDS)
        uow.db.counts.update_one(
            {"_id": f"{name}#{shard}"}, {"$inc": {"count": 1}, "$set": {"name": name}}, upsert=True, session=uow.session
        )


RETENTION_DAYS_KEY = "FLOKK_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 365


class RegistrationStore(MongoStore):
    """The shared Mongo provider, plus the vault that seals contact details (keys from the
    environment or nameko's config; see vault.py) and the retention period in days."""

    def __init__(self):
        super().__init__(RegistrationStorage)
        self.vault = None
        self.retention_days = DEFAULT_RETENTION_DAYS
        self.opened = None

    def setup(self):
        settings = for_container(self.container)
        self.vault = Vault.from_settings(settings)
        self.opened = TtlCache(OPENED_CONTACT_SECONDS)
        self.retention_days = settings.as_float(RETENTION_DAYS_KEY)
        super().setup()
