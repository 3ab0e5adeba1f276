"""Registrations and their contact records in registration's own database."""
from pymongo.errors import DuplicateKeyError

from services.common.store import Storage


class RegistrationStorage(Storage):
    @classmethod
    def ensure_indexes(cls, db):
        db.registrations.create_index("idempotency_key", unique=True)

    def by_idempotency_key(self, key, uow=None):
        session = uow.session if uow else None
        return self.db.registrations.find_one({"idempotency_key": key}, session=session)

    def get(self, registration_id):
        return self.db.registrations.find_one({"_id": registration_id})

    def contact(self, registration_id):
        return self.db.contacts.find_one({"_id": registration_id})

    def add(self, uow, registration, contact):
        uow.db.registrations.insert_one(registration, session=uow.session)
        uow.db.contacts.insert_one(contact, session=uow.session)


__all__ = ["RegistrationStorage", "DuplicateKeyError"]
