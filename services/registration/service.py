"""registration service: entrypoints only."""
from nameko.rpc import RpcProxy, rpc

from services.common.delivery import InvalidEvent, PermanentError, handle_event
from services.common.errors import InvalidInput, NotFound
from services.common.health import health_report
from services.common.store import MongoStore

from . import domain, handlers
from .store import RegistrationStorage


class RegistrationService:
    name = "registration"
    store = MongoStore(RegistrationStorage)
    directory = RpcProxy("directory")

    @handle_event("intake", "registration_requested", accept_invalid=True)
    def handle_registration_requested(self, event):
        if isinstance(event, InvalidEvent):
            handlers.reject(self.store, handlers.intake_key(event), handlers.intake_errors(event))
            return
        try:
            handlers.register(self.store, self.directory, event.data, event)
        except InvalidInput as invalid:
            raise PermanentError(f"intake rejected: {sorted(invalid.errors)}") from None

    @rpc
    def register(self, payload):
        registration_id, created = handlers.register(self.store, self.directory, handlers.validate_intake(payload))
        return {"registration_id": registration_id, "created": created}

    @rpc
    def contact_details(self, registration_id):
        """For notification only, at send time: contact details never travel on the bus."""
        registration, contact = self.store.get(registration_id), self.store.contact(registration_id)
        if registration is None or contact is None:
            raise NotFound(f"no registration {registration_id}")
        return domain.contact_for_notification(registration, contact)

    @rpc
    def health(self):
        return health_report(self.name, self.store, self.store.broker)
