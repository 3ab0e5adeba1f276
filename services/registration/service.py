"""registration service: entrypoints only."""

import os

from nameko.timer import timer

from services.common import clock
from services.common.access import require_role
from services.common.cache import CachedCalls, SharedCache
from services.common.delivery import InvalidEvent, PermanentError, handle_event
from services.common.errors import InvalidInput
from services.common.health import health_report
from services.common.rpc import TimedRpcProxy, rpc

from . import domain, handlers
from .store import RegistrationStore

#: How often the retention sweep runs (read at import: nameko's timer takes a fixed interval).
RETENTION_SWEEP_SECONDS = float(os.environ.get("FLOKK_RETENTION_SWEEP_SECONDS", "3600"))
#: The directory's answers on places (its reference data: postal codes and municipalities change
#: with a release of it, not during the day) are kept this long, so a registration needs no RPC.
PLACE_CACHE_SECONDS = 3600
PLACE_LOOKUPS = ("municipality_for_postal_code", "municipality")


class RegistrationService:
    name = "registration"
    store = RegistrationStore()
    directory = TimedRpcProxy("directory")
    places = SharedCache(PLACE_CACHE_SECONDS, max_entries=20_000)

    def _directory(self):
        return CachedCalls(self.directory, self.places, PLACE_LOOKUPS)

    # --- events ---------------------------------------------------------------------------------

    @handle_event("intake", "registration_requested", accept_invalid=True)
    def handle_registration_requested(self, event):
        if isinstance(event, InvalidEvent):
            handlers.reject(self.store, handlers.intake_key(event), handlers.intake_errors(event))
            return
        try:
            handlers.register(self.store, self._directory(), event.data, event)
        except InvalidInput as invalid:
            raise PermanentError(f"intake rejected: {sorted(invalid.errors)}") from None

    @handle_event("matching", "registration_waitlisted")
    def handle_registration_waitlisted(self, event):
        handlers.follow_matching(self.store, event)

    @handle_event("matching", "group_confirmed")
    def handle_group_confirmed(self, event):
        handlers.follow_matching(self.store, event)

    @handle_event("matching", "group_member_added")
    def handle_group_member_added(self, event):
        handlers.follow_matching(self.store, event)

    @handle_event("matching", "group_member_left")
    def handle_group_member_left(self, event):
        handlers.follow_matching(self.store, event)

    @timer(interval=RETENTION_SWEEP_SECONDS)
    def erase_after_retention(self):
        """Erase those without activity for longer than the retention period (DESIGN §5)."""
        return handlers.erase_inactive(self.store, clock.now(), self.store.retention_days)

    # --- RPC (docs/rpc.md) ----------------------------------------------------------------------

    @rpc
    def register(self, payload, actor=None):
        data = handlers.validate_intake(payload)
        domain.check_register_actor(actor, data)
        registration_id, created = handlers.register(self.store, self._directory(), data)
        return {"registration_id": registration_id, "created": created}

    @rpc
    def register_cohort(self, submission, actor=None):
        return handlers.register_cohort(self.store, self._directory(), submission, actor)

    @rpc
    def get_registration(self, registration_id, actor):
        return handlers.get_registration(self.store, registration_id, actor)

    @rpc
    def withdraw(self, registration_id, actor, reason="person"):
        return handlers.withdraw(self.store, registration_id, actor, reason)

    @rpc
    def come_back(self, registration_id, actor):
        return handlers.come_back(self.store, registration_id, actor)

    @rpc
    def erase(self, registration_id, actor, reason="request"):
        return handlers.erase(self.store, registration_id, actor, reason)

    @rpc
    def referral_statuses(self, actor):
        return handlers.referral_statuses(self.store, actor)

    @rpc
    def referral_status(self, registration_id, actor):
        return handlers.referral_status(self.store, registration_id, actor)

    @rpc
    def contact_details(self, registration_id):
        """For notification only, at send time: contact details never travel on the bus."""
        return handlers.contact_details(self.store, registration_id)

    @rpc
    def rotate_contact_keys(self, actor):
        """Re-seal every contact record under the newest key (reads also do it one by one)."""
        require_role(actor, "national_admin")
        return {"rotated": self.store.rotate_contacts()}

    @rpc
    def counts(self):
        """Anonymous counts only: registered, and erased by reason."""
        return self.store.counts()

    @rpc
    def health(self):
        return health_report(self.name, self.store, self.store.broker)
