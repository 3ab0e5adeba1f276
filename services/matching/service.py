"""matching service: entrypoints only."""

import json
import os

from eventlet import tpool
from nameko.dependency_providers import Config
from nameko.timer import timer

from services.common import clock
from services.common.cache import SharedCache
from services.common.delivery import handle_event
from services.common.health import health_report
from services.common.rpc import TimedRpcProxy, rpc
from services.common.store import MongoStore

from . import domain, engine, schemas
from .handlers import Matching, cached_route, route_preferences
from .locks import PoolLocks
from .store import MatchingStorage

#: The sweep interval is fixed when the class is defined (nameko's timer), so it comes from the
#: environment; the thresholds (days per widening step, JSON) come from the nameko config.
SWEEP_SECONDS = float(os.environ.get("FLOKK_MATCHING_SWEEP_SECONDS", "60"))
WIDENING_KEY = "FLOKK_MATCHING_WIDENING_DAYS"
EXACT_BUDGET_KEY = "FLOKK_MATCHING_EXACT_BUDGET"
#: How long the directory's route for a municipality and a person's preferences is reused. A new
#: contact point is routed to within this time at the latest; a closed one at once (see
#: handlers.cached_route), and this replica's cache is emptied on every contact point event.
ROUTE_CACHE_SECONDS = 30


class MatchingService:
    name = "matching"
    store = MongoStore(MatchingStorage)
    directory = TimedRpcProxy("directory")
    routes = SharedCache(ROUTE_CACHE_SECONDS, max_entries=5_000)
    pool_locks = PoolLocks()
    config = Config()

    def _matching(self):
        widening = dict(engine.DEFAULT_WIDENING_DAYS)
        configured = self.config.get(WIDENING_KEY)
        if configured:
            widening.update(json.loads(configured) if isinstance(configured, str) else configured)
        budget = float(self.config.get(EXACT_BUDGET_KEY, engine.DEFAULT_EXACT_BUDGET))
        return Matching(
            self.store, widening_days=widening, exact_budget=budget, offload=tpool.execute, pool_lock=self.pool_locks
        )

    def _route(self, profile):
        return cached_route(profile, self.routes, self._ask_directory, self.store)

    def _ask_directory(self, profile):
        return self.directory.route(profile["municipality_number"], route_preferences(profile))

    def _meeting_places(self, contact_point_id):
        return self.directory.get_contact_point(contact_point_id).get("meeting_places") or []

    # --- events ------------------------------------------------------------------------------------

    @handle_event("registration", "registration_created")
    def handle_registration_created(self, event):
        self._matching().waitlist(event, self._route(event.data))

    @handle_event("registration", "registration_updated")
    def handle_registration_updated(self, event):
        self._matching().waitlist(event, self._route(event.data))

    @handle_event("registration", "registration_withdrawn")
    def handle_registration_withdrawn(self, event):
        self._matching().forget(event, "withdrawn")

    @handle_event("registration", "registration_erased")
    def handle_registration_erased(self, event):
        self._matching().forget(event, "erased")

    @handle_event("directory", "contact_point_upserted")
    def handle_contact_point_upserted(self, event):
        self._track(event)

    @handle_event("directory", "contact_point_deactivated")
    def handle_contact_point_deactivated(self, event):
        self._track(event)

    def _track(self, event):
        self.routes.clear()
        matching = self._matching()
        matching.track_contact_point(event)
        matching.reroute_if_closed(event.data["contact_point_id"], self._ask_directory)

    @timer(interval=SWEEP_SECONDS)
    def sweep(self):
        return self._matching().sweep(self.store.digital_contact_points())

    # --- RPC for the gateway ---------------------------------------------------------------------

    @rpc
    def pool(self, contact_point_id, actor):
        return self._matching().pool_view(contact_point_id, actor)

    @rpc
    def proposals(self, contact_point_id, actor):
        return self._matching().groups_view(contact_point_id, actor, ("proposed",))

    @rpc
    def groups(self, contact_point_id, actor):
        return self._matching().groups_view(contact_point_id, actor, domain.ACTIVE_STATES + ("closed",))

    @rpc
    def confirm_group(self, group_id, confirmation, actor):
        confirmation = schemas.load_confirmation(confirmation, clock.now())
        return self._matching().confirm(
            schemas.check_id(group_id, "group_id"), confirmation, actor, self._meeting_places
        )

    @rpc
    def reject_group(self, group_id, reason, actor):
        return self._matching().reject(
            schemas.check_id(group_id, "group_id"), schemas.check_reason(reason, schemas.REJECT_REASONS), actor
        )

    @rpc
    def advance_group(self, group_id, state, actor):
        return self._matching().advance(schemas.check_id(group_id, "group_id"), state, actor)

    @rpc
    def leave_group(self, group_id, registration_id, actor):
        return self._matching().leave(
            schemas.check_id(group_id, "group_id"), schemas.check_id(registration_id, "registration_id"), actor
        )

    @rpc
    def close_group(self, group_id, reason, actor):
        return self._matching().close(
            schemas.check_id(group_id, "group_id"), schemas.check_reason(reason, schemas.CLOSE_REASONS), actor
        )

    @rpc
    def record_acquaintances(self, registration_id_a, registration_id_b, actor):
        return self._matching().record_acquaintances(
            schemas.check_id(registration_id_a, "registration_id_a"),
            schemas.check_id(registration_id_b, "registration_id_b"),
            actor,
        )

    @rpc
    def figures(self):
        return self._matching().figures()

    @rpc
    def health(self):
        return health_report(self.name, self.store, self.store.broker)
