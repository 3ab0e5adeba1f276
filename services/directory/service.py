"""directory service: entrypoints only."""

from services.common.health import health_report
from services.common.rpc import rpc
from services.common.store import MongoStore

from . import coverage, coverage_map, domain, handlers, hsds, routing
from .reference import reference_data
from .schemas import ContactPointQuery, RoutePreferences
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
        preferences = handlers.load(RoutePreferences(), preferences or {})
        if municipality_number is not None:
            reference_data().municipality(municipality_number)  # UnknownMunicipality for a wrong number
        return routing.route(reference_data(), self.store.contact_points(), municipality_number, **preferences)

    @rpc
    def upsert_contact_point(self, payload, actor=None):
        return handlers.upsert(self.store, reference_data(), payload, actor)

    @rpc
    def create_contact_point(self, payload, actor=None):
        return handlers.create(self.store, reference_data(), payload, actor)

    @rpc
    def update_contact_point(self, contact_point_id, changes, actor=None):
        return handlers.update(self.store, reference_data(), contact_point_id, changes, actor)

    @rpc
    def deactivate_contact_point(self, contact_point_id, actor=None):
        return handlers.deactivate(self.store, reference_data(), contact_point_id, actor)

    @rpc
    def get_contact_point(self, contact_point_id):
        return handlers.get(self.store, reference_data(), contact_point_id)

    @rpc
    def list_contact_points(self, municipality_number=None, county_number=None, kind=None):
        query = handlers.load(
            ContactPointQuery(),
            {"municipality_number": municipality_number, "county_number": county_number, "kind": kind},
        )
        reference = reference_data()
        return [
            domain.public_view(cp, reference)
            for cp in sorted(self.store.contact_points(), key=lambda cp: cp["contact_point_id"])
            if domain.matches(cp, reference, **query)
        ]

    @rpc
    def coverage(self):
        return coverage.coverage(reference_data(), self.store.contact_points())

    @rpc
    def coverage_map_svg(self):
        contact_points = self.store.contact_points()
        return coverage_map.render(
            coverage.coverage(reference_data(), contact_points), coverage_map.contact_point_names(contact_points)
        )

    @rpc
    def hsds_export(self):
        return hsds.export(reference_data(), self.store.contact_points())

    @rpc
    def hsds_export_csv(self):
        return hsds.to_csv(hsds.tables(reference_data(), self.store.contact_points()))

    @rpc
    def health(self):
        return health_report(self.name, self.store, self.store.broker)
