"""directory service: entrypoints only."""
from marshmallow import ValidationError
from nameko.rpc import rpc

from services.common.errors import InvalidInput, NotFound
from services.common.health import health_report
from services.common.store import MongoStore

from . import routing
from .reference import reference_data
from .schemas import ContactPointInput
from .store import DirectoryStorage



class DirectoryService:
    name = "directory"
    store = MongoStore(DirectoryStorage)

    @rpc
    def municipality_for_postal_code(self, postal_code):
        return reference_data().place_for_postal_code(postal_code)

    @rpc
    def municipality(self, municipality_number):
        m = reference_data().municipality(municipality_number)
        return {"municipality_number": m.number, "name": m.name, "county_number": m.county_number}

    @rpc
    def route(self, municipality_number, preferences=None):
        preferences = preferences or {}
        if municipality_number is not None:
            self.municipality(municipality_number)
        return routing.route(
            reference_data(), self.store.contact_points(), municipality_number,
            not_in_own_municipality=bool(preferences.get("not_in_own_municipality")),
            digital_ok=bool(preferences.get("digital_ok")))

    @rpc
    def upsert_contact_point(self, payload):
        try:
            fields = ContactPointInput().load(payload)
        except ValidationError as exc:
            raise InvalidInput(exc.messages) from None
        for number in fields["municipalities"] + [fields["municipality_number"]]:
            self.municipality(number)
        return self.store.transaction(lambda uow: self.store.upsert_contact_point(uow, fields))

    @rpc
    def get_contact_point(self, contact_point_id):
        contact_point = self.store.contact_point(contact_point_id)
        if contact_point is None:
            raise NotFound(f"no contact point {contact_point_id!r}")
        return contact_point

    @rpc
    def health(self):
        return health_report(self.name, self.store, self.store.broker)
