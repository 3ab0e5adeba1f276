"""The delivery log (masked addresses only), messages waiting for the timer (SMS held through quiet
hours, retries after a failure for now), confirmed groups for reminders, and the pool arrivals for
the staff digest. Everything about a person goes on `registration_erased`."""

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from services.common.store import LEDGER, Storage

SETTLED = ("sent", "failed")
#: Waiting for the timer, each until its own time: quiet hours end, or the next retry.
WAITING = {"held": "release_at", "retrying": "retry_at"}


class NotificationStorage(Storage):
    @classmethod
    def ensure_indexes(cls, db):
        db.deliveries.create_index("registration_id")
        db.deliveries.create_index([("status", ASCENDING), ("release_at", ASCENDING)])
        db.deliveries.create_index([("status", ASCENDING), ("retry_at", ASCENDING)])
        db.deliveries.create_index([("status", ASCENDING), ("lease_until", ASCENDING)])
        db.deliveries.create_index([("status", ASCENDING), ("digested_on", ASCENDING)])
        db.arrivals.create_index("digested_on")
        db.groups.create_index("reminder_sent")
        db.groups.create_index([("handover_reminded", ASCENDING), ("handover_planned_on", ASCENDING)])

    def already_applied(self, event_id):
        return self.db[LEDGER].find_one({"_id": event_id}) is not None

    # --- the delivery log ---------------------------------------------------------------------

    def delivery(self, notification_id):
        return self.db.deliveries.find_one({"_id": notification_id})

    def settle(self, uow, record):
        """Record a final outcome (sent / failed) once: False if it was already settled. Usually
        one conditional write, over this worker's claim; a read only when nothing unsettled was
        there to replace (a failure settled without a claim, or a message settled before)."""
        unsettled = {"_id": record["_id"], "status": {"$nin": list(SETTLED)}}
        if uow.db.deliveries.replace_one(unsettled, record, session=uow.session).matched_count:
            return True
        if uow.db.deliveries.find_one({"_id": record["_id"]}, {"_id": 1}, session=uow.session) is not None:
            return False
        uow.db.deliveries.insert_one(record, session=uow.session)
        return True

    def claim(self, notification_id, now, lease_until, claimable=()):
        """Take the right to send this message (status 'sending' until `lease_until`): False while
        another worker holds it or it is settled. A claim whose lease ran out can be taken over.

        Each step is one atomic write by key: a new message is an insert (the unique `_id` decides
        between racing workers), an existing one a conditional update. No `$or` filter: the
        development store answers a top-level operator by scanning the whole delivery log."""
        claimed = {"$set": {"status": "sending", "lease_until": lease_until}}
        if self.claim_new(notification_id, lease_until):
            return True
        expired = {"_id": notification_id, "status": "sending", "lease_until": {"$lt": now}}
        if self.db.deliveries.update_one(expired, claimed).modified_count:
            return True
        return (
            bool(claimable)
            and self.db.deliveries.update_one(
                {"_id": notification_id, "status": {"$in": list(claimable)}}, claimed
            ).modified_count
            == 1
        )

    def claim_new(self, notification_id, lease_until):
        """Claim a message the log does not know yet, with one insert: False if it is there."""
        try:
            self.db.deliveries.insert_one({"_id": notification_id, "status": "sending", "lease_until": lease_until})
            return True
        except DuplicateKeyError:
            return False

    def unclaim(self, notification_id, previous_status=None):
        """Give the claim back after a failed attempt: to 'held', or gone if it was new."""
        if previous_status is None:
            self.db.deliveries.delete_one({"_id": notification_id, "status": "sending"})
        else:
            self.db.deliveries.update_one(
                {"_id": notification_id, "status": "sending"}, {"$set": {"status": previous_status}}
            )

    def wait(self, record):
        self.db.deliveries.replace_one({"_id": record["_id"], "status": {"$nin": list(SETTLED)}}, record, upsert=True)

    def due(self, now, limit=100):
        """One query per kind (no `$or`: see `claim`). A dead claim on a waiting message still has
        the message and its `attempts`; a new message's claim has neither (its event comes again)."""
        queries = [{"status": status, time_field: {"$lte": now}} for status, time_field in WAITING.items()]
        queries.append({"status": "sending", "lease_until": {"$lt": now}, "attempts": {"$exists": True}})
        found = []
        for query in queries:
            if len(found) < limit:  # (a limit of 0 would mean none)
                found += self.db.deliveries.find(query).limit(limit - len(found))
        return found

    def drop_unsent(self, notification_id, now):
        self.db.deliveries.delete_one({"_id": notification_id, "status": {"$in": list(WAITING)}})
        self.db.deliveries.delete_one({"_id": notification_id, "status": "sending", "lease_until": {"$lt": now}})

    def deliveries_for(self, registration_id):
        return list(self.db.deliveries.find({"registration_id": registration_id}).sort("at", ASCENDING))

    def forget(self, uow, registration_id):
        """Erasure: the person's log entries, held messages and pool arrivals."""
        session = uow.session
        uow.db.arrivals.delete_many({"registration_id": registration_id}, session=session)
        return uow.db.deliveries.delete_many({"registration_id": registration_id}, session=session).deleted_count

    # --- the staff digest ---------------------------------------------------------------------

    def add_arrival(self, uow, registration_id, contact_point_id, at):
        uow.db.arrivals.replace_one(
            {"_id": registration_id},
            {
                "_id": registration_id,
                "registration_id": registration_id,
                "contact_point_id": contact_point_id,
                "at": at,
                "digested_on": None,
            },
            upsert=True,
            session=uow.session,
        )

    def undigested(self):
        """(arrivals, failures) not yet in any digest."""
        return (
            list(self.db.arrivals.find({"digested_on": None})),
            list(self.db.deliveries.find({"status": "failed", "digested_on": None})),
        )

    def mark_digested(self, uow, arrival_ids, failure_ids, day):
        session = uow.session
        uow.db.arrivals.update_many({"_id": {"$in": arrival_ids}}, {"$set": {"digested_on": day}}, session=session)
        uow.db.deliveries.update_many({"_id": {"$in": failure_ids}}, {"$set": {"digested_on": day}}, session=session)

    # --- groups, for invitations to late members and reminders --------------------------------

    def save_group(self, uow, group):
        uow.db.groups.replace_one({"_id": group["_id"]}, group, upsert=True, session=uow.session)

    def group(self, group_id):
        return self.db.groups.find_one({"_id": group_id})

    def set_members(self, uow, group_id, registration_ids):
        uow.db.groups.update_one(
            {"_id": group_id}, {"$set": {"registration_ids": registration_ids}}, session=uow.session
        )

    def drop_group(self, uow, group_id):
        uow.db.groups.delete_one({"_id": group_id}, session=uow.session)

    def update_group(self, uow, group_id, changes):
        uow.db.groups.update_one({"_id": group_id}, {"$set": changes}, session=uow.session)

    def overdue_handovers(self, planned_on_or_before):
        return list(
            self.db.groups.find(
                {
                    "handover_reminded": False,
                    "handover_planned_on": {"$lte": planned_on_or_before},
                    "state": {"$ne": "self_run"},
                }
            )
        )

    def mark_handovers_reminded(self, uow, group_ids):
        uow.db.groups.update_many(
            {"_id": {"$in": group_ids}}, {"$set": {"handover_reminded": True}}, session=uow.session
        )

    def groups_awaiting_reminder(self):
        return list(self.db.groups.find({"reminder_sent": False}))

    def mark_reminded(self, group_id):
        self.db.groups.update_one({"_id": group_id}, {"$set": {"reminder_sent": True}})
