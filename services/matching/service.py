"""matching service: entrypoints only."""
from nameko.rpc import RpcProxy, rpc

from services.common.delivery import handle_event
from services.common.health import health_report
from services.common.store import MongoStore

from . import handlers
from .store import MatchingStorage


class MatchingService:
    name = "matching"
    store = MongoStore(MatchingStorage)
    directory = RpcProxy("directory")

    @handle_event("registration", "registration_created")
    def handle_registration_created(self, event):
        profile = event.data
        candidates = self.directory.route(profile["municipality_number"], handlers.route_preferences(profile))
        handlers.waitlist(self.store, event, candidates)

    @handle_event("registration", "registration_updated")
    def handle_registration_updated(self, event):
        profile = event.data
        candidates = self.directory.route(profile["municipality_number"], handlers.route_preferences(profile))
        handlers.waitlist(self.store, event, candidates)

    @handle_event("registration", "registration_withdrawn")
    def handle_registration_withdrawn(self, event):
        handlers.forget(self.store, event)

    @handle_event("registration", "registration_erased")
    def handle_registration_erased(self, event):
        handlers.forget(self.store, event)

    @handle_event("directory", "contact_point_upserted")
    def handle_contact_point_upserted(self, event):
        handlers.track_contact_point(self.store, event)

    @handle_event("directory", "contact_point_deactivated")
    def handle_contact_point_deactivated(self, event):
        handlers.track_contact_point(self.store, event)

    @rpc
    def health(self):
        return health_report(self.name, self.store, self.store.broker)
