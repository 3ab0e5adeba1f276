"""notification service: entrypoints only."""
from nameko.rpc import RpcProxy, rpc

from services.common.delivery import handle_event
from services.common.health import health_report
from services.common.store import MongoStore

from . import handlers
from .mailer import Mailer
from .store import NotificationStorage


class NotificationService:
    name = "notification"
    store = MongoStore(NotificationStorage)
    mailer = Mailer()
    registration = RpcProxy("registration")
    directory = RpcProxy("directory")

    @handle_event("matching", "registration_waitlisted")
    def handle_registration_waitlisted(self, event):
        handlers.send_receipt(self.store, self.mailer, self.registration, self.directory, event)

    @handle_event("matching", "registration_unroutable")
    def handle_registration_unroutable(self, event):
        handlers.send_receipt(self.store, self.mailer, self.registration, self.directory, event, unroutable=True)

    @handle_event("registration", "registration_erased")
    def handle_registration_erased(self, event):
        handlers.forget(self.store, event)

    @rpc
    def health(self):
        return health_report(self.name, self.store, self.store.broker)
