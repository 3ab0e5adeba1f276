"""Pools (the people waiting) and contact-point revisions in matching's own database."""
from services.common.store import Storage


class MatchingStorage(Storage):
    @classmethod
    def ensure_indexes(cls, db):
        db.waiting.create_index([("pool", 1), ("waiting_since", 1)])

    def waiting(self, registration_id):
        return self.db.waiting.find_one({"_id": registration_id})

    def put_waiting(self, uow, entry):
        uow.db.waiting.replace_one({"_id": entry["_id"]}, entry, upsert=True, session=uow.session)

    def remove_waiting(self, uow, registration_id):
        return uow.db.waiting.delete_one({"_id": registration_id}, session=uow.session).deleted_count

    def record_unroutable(self, uow, registration_id, reason, now):
        uow.db.unroutable.replace_one({"_id": registration_id},
                                      {"_id": registration_id, "reason": reason, "since": now},
                                      upsert=True, session=uow.session)

    def forget(self, uow, registration_id):
        for name in ("waiting", "unroutable"):
            uow.db[name].delete_one({"_id": registration_id}, session=uow.session)

    def contact_point_revision(self, uow, contact_point_id):
        doc = uow.db.contact_points.find_one({"_id": contact_point_id}, session=uow.session)
        return doc["revision"] if doc else 0

    def save_contact_point(self, uow, data):
        uow.db.contact_points.replace_one({"_id": data["contact_point_id"]},
                                          {**data, "_id": data["contact_point_id"]},
                                          upsert=True, session=uow.session)
