"""In-memory fake of the directory's own store port (`services.directory.ports.DirectoryStore`)."""

import copy

from tests.fakes import FakeStorageBase


class FakeDirectoryStorage(FakeStorageBase):
    source = "directory"

    def __init__(self):
        super().__init__()
        self.docs = {}

    def contact_points(self):
        return [copy.deepcopy(doc) for doc in self.docs.values()]

    def contact_point(self, contact_point_id):
        return copy.deepcopy(self.docs.get(contact_point_id))

    def current(self, uow, contact_point_id):
        return self.contact_point(contact_point_id)

    def save(self, uow, doc):
        self.docs[doc["contact_point_id"]] = copy.deepcopy(doc)
