"""matching service: entrypoints only. Each builds the ports and calls one use case (handlers/)."""

from eventlet import tpool
from nameko.timer import timer

from services.common.cache import SharedCache
from services.common.delivery import handle_event
from services.common.dependencies import ClockDependency, SettingsDependency
from services.common.health import health_report
from services.common.rpc import TimedRpcProxy, rpc
from services.common.settings import read_at_import
from services.common.store import MongoStore

from . import handlers
from .locks import PoolLocks
from .ports import Ports, Settings
from .settings import SETTINGS
from .store import MatchingStorage

#: The sweep interval is fixed when the class is defined (nameko's timer), so it is read at import;
#: the thresholds (days per widening step, JSON) are read at start (ports.Settings).
SWEEP_SECONDS = float(read_at_import(SETTINGS, "FLOKK_MATCHING_SWEEP_SECONDS"))
#: How long the directory's route for a municipality and a person's preferences is reused. A new
#: contact point is routed to within this time at the latest; a closed one at once (see
#: handlers.routing.cached_route), and this replica's cache is emptied on every contact point event.
ROUTE_CACHE_SECONDS = 30


class MatchingService:
    name = "matching"
    store = MongoStore(MatchingStorage)
    directory = TimedRpcProxy("directory")
    routes = SharedCache(ROUTE_CACHE_SECONDS, max_entries=5_000)
    pool_locks = PoolLocks()
    clock = ClockDependency()
    settings = SettingsDependency()

    def _ports(self) -> Ports:
        return Ports(
            store=self.store,
            directory=self.directory,
            routes=self.routes,
            clock=self.clock,
            settings=Settings.from_config(self.settings),
            offload=tpool.execute,
            pool_lock=self.pool_locks,
        )

    # --- events ------------------------------------------------------------------------------------

    @handle_event("registration", "registration_created")
    def handle_registration_created(self, event):
        handlers.waitlist(self._ports(), event)

    @handle_event("registration", "registration_updated")
    def handle_registration_updated(self, event):
        handlers.waitlist(self._ports(), event)

    @handle_event("registration", "registration_withdrawn")
    def handle_registration_withdrawn(self, event):
        handlers.forget(self._ports(), event, "withdrawn")

    @handle_event("registration", "registration_erased")
    def handle_registration_erased(self, event):
        handlers.forget(self._ports(), event, "erased")

    @handle_event("registration", "registration_paused")
    def handle_registration_paused(self, event):
        handlers.pause(self._ports(), event)

    @handle_event("registration", "registration_resumed")
    def handle_registration_resumed(self, event):
        handlers.resume(self._ports(), event)

    @handle_event("registration", "registration_pair_flagged")
    def handle_registration_pair_flagged(self, event):
        handlers.pair_flagged(self._ports(), event)

    @handle_event("registration", "registration_pair_cleared")
    def handle_registration_pair_cleared(self, event):
        handlers.pair_cleared(self._ports(), event)

    @handle_event("registration", "cohort_created")
    def handle_cohort_created(self, event):
        handlers.cohort_created(self._ports(), event)

    @handle_event("registration", "registration_contacted")
    def handle_registration_contacted(self, event):
        handlers.note_contact(self._ports(), event)

    @handle_event("directory", "contact_point_upserted")
    def handle_contact_point_upserted(self, event):
        handlers.contact_point_changed(self._ports(), event)

    @handle_event("directory", "contact_point_deactivated")
    def handle_contact_point_deactivated(self, event):
        handlers.contact_point_changed(self._ports(), event)

    @timer(interval=SWEEP_SECONDS)
    def sweep(self):
        return handlers.sweep(self._ports())

    @timer(interval=SWEEP_SECONDS)
    def group_life(self):
        """Self-run groups' check-ins that fell due (FLOKK_CHECKIN_MONTHS after their start), and
        course cohorts whose deadline came."""
        ports = self._ports()
        return {"checkins": handlers.send_due_checkins(ports), "cohorts": handlers.form_due_cohorts(ports)}

    # --- RPC for the gateway ---------------------------------------------------------------------

    @rpc
    def pool(self, contact_point_id, actor):
        return handlers.pool_view(self._ports(), contact_point_id, actor)

    @rpc
    def proposals(self, contact_point_id, actor):
        return handlers.proposals_view(self._ports(), contact_point_id, actor)

    @rpc
    def groups(self, contact_point_id, actor):
        return handlers.groups_view(self._ports(), contact_point_id, actor)

    @rpc
    def confirm_group(self, group_id, confirmation, actor):
        return handlers.confirm_group(self._ports(), group_id, confirmation, actor)

    @rpc
    def reject_group(self, group_id, reason, actor):
        return handlers.reject_group(self._ports(), group_id, reason, actor)

    @rpc
    def advance_group(self, group_id, state, actor):
        return handlers.advance_group(self._ports(), group_id, state, actor)

    @rpc
    def leave_group(self, group_id, registration_id, actor):
        return handlers.leave_group(self._ports(), group_id, registration_id, actor)

    @rpc
    def close_group(self, group_id, reason, actor):
        return handlers.close_group(self._ports(), group_id, reason, actor)

    @rpc
    def record_handover(self, group_id, handover, actor):
        return handlers.record_handover(self._ports(), group_id, handover, actor)

    @rpc
    def send_checkin(self, group_id, actor):
        return handlers.send_checkin(self._ports(), group_id, actor)

    @rpc
    def answer_checkin(self, checkin_id, answer, actor):
        return handlers.answer_checkin(self._ports(), checkin_id, answer, actor)

    @rpc
    def checkin_comment(self, checkin_id, actor):
        return handlers.checkin_comment(self._ports(), checkin_id, actor)

    @rpc
    def group_view(self, group_id, actor):
        return handlers.group_detail(self._ports(), group_id, actor)

    @rpc
    def person_status(self, registration_id, actor):
        return handlers.person_status(self._ports(), registration_id, actor)

    @rpc
    def record_acquaintances(self, registration_id_a, registration_id_b, actor):
        return handlers.record_acquaintances(self._ports(), registration_id_a, registration_id_b, actor)

    @rpc
    def figures(self, period=None):
        return handlers.national_figures(self._ports(), period)

    @rpc
    def contact_point_figures(self, contact_point_id, year, actor):
        return handlers.contact_point_figures(self._ports(), contact_point_id, year, actor)

    @rpc
    def national_queue(self, reference, actor):
        return handlers.national_queue(self._ports(), reference, actor)

    @rpc
    def assign_from_queue(self, registration_id, contact_point_id, actor):
        return handlers.assign_from_queue(self._ports(), registration_id, contact_point_id, actor)

    @rpc
    def health(self):
        return health_report(self.name, self.store, self.store.broker)
