"""registration service: entrypoints only."""

from nameko.timer import timer

from services.common.cache import SharedCache
from services.common.delivery import PermanentError, handle_event
from services.common.dependencies import ClockDependency
from services.common.errors import InvalidInput
from services.common.health import health_report
from services.common.rpc import TimedRpcProxy, rpc
from services.common.settings import read_at_import

from . import handlers
from .directory import DirectoryPlaces
from .ports import Ports
from .settings import SETTINGS
from .store import RegistrationStore

#: How often the retention sweep runs (read at import: nameko's timer takes a fixed interval).
RETENTION_SWEEP_SECONDS = float(read_at_import(SETTINGS, "FLOKK_RETENTION_SWEEP_SECONDS"))
#: How often pauses that ran out are ended (read at import, likewise).
PAUSE_SWEEP_SECONDS = float(read_at_import(SETTINGS, "FLOKK_PAUSE_SWEEP_SECONDS"))
#: How long the directory's answers on places are kept (directory.py says why they may be).
PLACE_CACHE_SECONDS = 3600


class RegistrationService:
    name = "registration"
    store = RegistrationStore()
    directory = TimedRpcProxy("directory")
    places = SharedCache(PLACE_CACHE_SECONDS, max_entries=20_000)
    clock = ClockDependency()

    def _ports(self):
        return Ports(store=self.store, directory=DirectoryPlaces(self.directory, self.places), clock=self.clock)

    # --- events ---------------------------------------------------------------------------------

    @handle_event("intake", "registration_requested", accept_invalid=True)
    def handle_registration_requested(self, event):
        try:
            handlers.take_intake(self._ports(), event)
        except InvalidInput as refused:  # the sender has its registration_rejected: dead-letter it
            raise PermanentError(f"intake rejected: {sorted(refused.errors)}") from None

    @handle_event("matching", "registration_waitlisted")
    def handle_registration_waitlisted(self, event):
        handlers.follow_matching(self._ports(), event)

    @handle_event("matching", "registration_unroutable")
    def handle_registration_unroutable(self, event):
        handlers.follow_matching(self._ports(), event)

    @handle_event("matching", "registration_assigned")
    def handle_registration_assigned(self, event):
        handlers.follow_matching(self._ports(), event)

    @handle_event("matching", "group_proposed")
    def handle_group_proposed(self, event):
        handlers.follow_matching(self._ports(), event)

    @handle_event("matching", "group_rejected")
    def handle_group_rejected(self, event):
        handlers.follow_matching(self._ports(), event)

    @handle_event("matching", "group_closed")
    def handle_group_closed(self, event):
        handlers.follow_matching(self._ports(), event)

    @handle_event("matching", "group_confirmed")
    def handle_group_confirmed(self, event):
        handlers.follow_matching(self._ports(), event)

    @handle_event("matching", "group_member_added")
    def handle_group_member_added(self, event):
        handlers.follow_matching(self._ports(), event)

    @handle_event("matching", "group_member_left")
    def handle_group_member_left(self, event):
        handlers.follow_matching(self._ports(), event)

    @timer(interval=RETENTION_SWEEP_SECONDS)
    def erase_after_retention(self):
        """Erase the withdrawn, those whose group closed and the unroutable, after the retention
        period without activity (docs/design.md §5)."""
        return handlers.erase_after_retention(self._ports())

    @timer(interval=PAUSE_SWEEP_SECONDS)
    def end_due_pauses(self):
        """End the pauses that ran out (registration_resumed, pause_ended)."""
        return handlers.end_due_pauses(self._ports())

    # --- RPC (docs/rpc.md) ----------------------------------------------------------------------

    @rpc
    def register(self, payload, actor):
        return handlers.register(self._ports(), payload, actor)

    @rpc
    def register_cohort(self, submission, actor):
        return handlers.register_cohort(self._ports(), submission, actor)

    @rpc
    def get_registration(self, registration_id, actor):
        return handlers.get_registration(self._ports(), registration_id, actor)

    @rpc
    def withdraw(self, registration_id, actor, reason="person"):
        return handlers.withdraw(self._ports(), registration_id, actor, reason)

    @rpc
    def record_contact(self, registration_id, purpose, actor):
        return handlers.record_contact(self._ports(), registration_id, purpose, actor)

    @rpc
    def come_back(self, registration_id, actor):
        return handlers.come_back(self._ports(), registration_id, actor)

    @rpc
    def erase(self, registration_id, actor, reason="request"):
        return handlers.erase(self._ports(), registration_id, actor, reason)

    # --- the person's own page (docs/rpc.md, "Personal links") -------------------------------------

    @rpc
    def resolve_duplicate(self, registration_id, other_id, actor):
        return handlers.resolve_duplicate(self._ports(), registration_id, other_id, actor)

    @rpc
    def find_by_reference(self, reference, actor):
        return handlers.find_by_reference(self._ports(), reference, actor)

    @rpc
    def first_names(self, registration_ids, contact_point_id, actor):
        return handlers.first_names(self._ports(), registration_ids, contact_point_id, actor)

    @rpc
    def open_link(self, token):
        return handlers.open_link(self._ports(), token)

    @rpc
    def revoke_links(self, registration_id, actor):
        return handlers.revoke_links(self._ports(), registration_id, actor)

    @rpc
    def request_new_link(self, contact):
        return handlers.request_new_link(self._ports(), contact)

    @rpc
    def personal_view(self, registration_id, actor):
        return handlers.personal_view(self._ports(), registration_id, actor)

    @rpc
    def update_preferences(self, registration_id, changes, actor):
        return handlers.update_preferences(self._ports(), registration_id, changes, actor)

    @rpc
    def pause(self, registration_id, weeks, actor):
        return handlers.pause(self._ports(), registration_id, weeks, actor)

    @rpc
    def resume(self, registration_id, actor):
        return handlers.resume(self._ports(), registration_id, actor)

    @rpc
    def set_avoid_list(self, registration_id, contacts, actor):
        return handlers.set_avoid_list(self._ports(), registration_id, contacts, actor)

    # --- course cohorts ------------------------------------------------------------------------------

    @rpc
    def create_cohort(self, payload, actor):
        return handlers.create_cohort(self._ports(), payload, actor)

    @rpc
    def cohort_by_code(self, code):
        return handlers.cohort_by_code(self._ports(), code)

    @rpc
    def cohorts(self, actor):
        return handlers.cohorts_of(self._ports(), actor)

    @rpc
    def referral_statuses(self, actor):
        return handlers.referral_statuses(self._ports(), actor)

    @rpc
    def referral_status(self, registration_id, actor):
        return handlers.referral_status(self._ports(), registration_id, actor)

    @rpc
    def contact_details(self, registration_id, actor):
        """For notification at send time and the gateway's staff view: never on the bus."""
        return handlers.contact_details(self._ports(), registration_id, actor)

    @rpc
    def rotate_contact_keys(self, actor):
        return handlers.rotate_contact_keys(self._ports(), actor)

    @rpc
    def counts(self):
        return handlers.counts(self._ports())

    @rpc
    def health(self):
        return health_report(self.name, self.store, self.store.broker)
