"""Contact points in the directory's own database, one document per contact point."""

from services.common.store import Storage


class DirectoryStorage(Storage):
    @classmethod
    def ensure_indexes(cls, db):
        db.contact_points.create_index("municipalities")
        db.contact_points.create_index("kind")

    def contact_points(self):
        return [_public(doc) for doc in self.db.contact_points.find({})]

    def contact_point(self, contact_point_id):
        doc = self.db.contact_points.find_one({"_id": contact_point_id})
        return None if doc is None else _public(doc)

    def current(self, uow, contact_point_id):
        """The stored contact point, read inside the unit of work's transaction."""
        doc = uow.db.contact_points.find_one({"_id": contact_point_id}, session=uow.session)
        return None if doc is None else _public(doc)

    def save(self, uow, doc):
        uow.db.contact_points.replace_one(
            {"_id": doc["contact_point_id"]}, {**doc, "_id": doc["contact_point_id"]}, upsert=True, session=uow.session
        )


def _public(doc):
    return {key: value for key, value in doc.items() if key != "_id"}
