"""directory service: entrypoints only; each builds the ports and calls one use case (handlers/)."""

from services.common.dependencies import ClockDependency
from services.common.health import health_report
from services.common.rpc import TimedRpcProxy, rpc
from services.common.store import MongoStore

from . import handlers
from .ports import Ports
from .reference import reference_data
from .store import DirectoryStorage


class DirectoryService:
    name = "directory"
    store = MongoStore(DirectoryStorage)
    matching = TimedRpcProxy("matching")  # whether a participant's group meets at a place
    clock = ClockDependency()

    def _ports(self) -> Ports:
        return Ports(store=self.store, reference=reference_data(), matching=self.matching, clock=self.clock)

    @rpc
    def municipality_for_postal_code(self, postal_code):
        return handlers.municipality_for_postal_code(self._ports(), postal_code)

    @rpc
    def municipality(self, municipality_number):
        return handlers.municipality(self._ports(), municipality_number)

    @rpc
    def route(self, municipality_number, preferences=None):
        return handlers.route(self._ports(), municipality_number, preferences)

    @rpc
    def upsert_contact_point(self, payload, actor):
        return handlers.upsert_contact_point(self._ports(), payload, actor)

    @rpc
    def create_contact_point(self, payload, actor):
        return handlers.create_contact_point(self._ports(), payload, actor)

    @rpc
    def update_contact_point(self, contact_point_id, changes, actor):
        return handlers.update_contact_point(self._ports(), contact_point_id, changes, actor)

    @rpc
    def deactivate_contact_point(self, contact_point_id, actor):
        return handlers.deactivate_contact_point(self._ports(), contact_point_id, actor)

    @rpc
    def get_contact_point(self, contact_point_id):
        return handlers.get_contact_point(self._ports(), contact_point_id)

    @rpc
    def list_contact_points(self, municipality_number=None, county_number=None, kind=None):
        return handlers.list_contact_points(self._ports(), municipality_number, county_number, kind)

    @rpc
    def meeting_link(self, meeting_place_id, actor, contact_point_id=None):
        return handlers.meeting_link(self._ports(), meeting_place_id, actor, contact_point_id)

    @rpc
    def open_contact_point(self, contact_point_id):
        return handlers.open_contact_point(self._ports(), contact_point_id)

    @rpc
    def open_contact_points(self, municipality_number=None, county_number=None, kind=None):
        return handlers.open_contact_points(self._ports(), municipality_number, county_number, kind)

    @rpc
    def coverage(self):
        return handlers.coverage(self._ports())

    @rpc
    def coverage_map_svg(self, labels=None):
        return handlers.coverage_map_svg(self._ports(), labels)

    @rpc
    def hsds_export(self, open_only=False):
        return handlers.hsds_export(self._ports(), open_only)

    @rpc
    def hsds_export_csv(self, open_only=False):
        return handlers.hsds_export_csv(self._ports(), open_only)

    @rpc
    def health(self):
        return health_report(self.name, self.store, self.store.broker)
