"""The delivery log: masked addresses only, deleted with the person on erasure."""
from services.common.store import Storage


class NotificationStorage(Storage):
    @classmethod
    def ensure_indexes(cls, db):
        db.deliveries.create_index("registration_id")

    def delivery(self, notification_id):
        return self.db.deliveries.find_one({"_id": notification_id})

    def record_sent(self, uow, delivery):
        uow.db.deliveries.replace_one({"_id": delivery["_id"]}, delivery, upsert=True, session=uow.session)

    def forget(self, uow, registration_id):
        return uow.db.deliveries.delete_many({"registration_id": registration_id}, session=uow.session).deleted_count
