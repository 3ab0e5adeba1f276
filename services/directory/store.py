"""Contact points in the directory's own database."""
from services.common.store import Storage

EVENT_FIELDS = ("contact_point_id", "kind", "name", "municipalities", "digital_groups", "languages",
                "min_size", "max_size", "active")


def upserted_event(doc):
    """The contact_point_upserted data for a stored contact point (no personal data in it)."""
    data = {key: doc[key] for key in EVENT_FIELDS}
    data["county_number"] = doc["municipality_number"][:2]
    data["revision"] = doc["revision"]
    return data


class DirectoryStorage(Storage):
    @classmethod
    def ensure_indexes(cls, db):
        db.contact_points.create_index("municipalities")

    def contact_points(self):
        return list(self.db.contact_points.find({}, {"_id": 0}))

    def contact_point(self, contact_point_id):
        return self.db.contact_points.find_one({"contact_point_id": contact_point_id}, {"_id": 0})

    def upsert_contact_point(self, uow, fields):
        """Write the contact point with the next revision; returns the stored document."""
        current = uow.db.contact_points.find_one({"_id": fields["contact_point_id"]}, session=uow.session)
        unchanged = current is not None and all(current.get(k) == v for k, v in fields.items())
        if unchanged:
            return _public(current)
        doc = {**fields, "_id": fields["contact_point_id"], "revision": (current or {}).get("revision", 0) + 1}
        uow.db.contact_points.replace_one({"_id": doc["_id"]}, doc, upsert=True, session=uow.session)
        uow.emit("contact_point_upserted", upserted_event(doc))
        return _public(doc)


def _public(doc):
    return {k: v for k, v in doc.items() if k != "_id"}
