"""notification service: entrypoints only."""

from nameko.timer import timer

from services.common.cache import SharedCache
from services.common.delivery import handle_event
from services.common.dependencies import ClockDependency, SettingsDependency
from services.common.health import health_report
from services.common.rpc import TimedRpcProxy, rpc
from services.common.store import MongoStore

from . import handlers
from .mailer import Mailer
from .ports import Ports
from .remote import RemoteDirectory, RemoteGateway, RemoteRegistration
from .sms import Sms
from .store import NotificationStorage

#: How often the timer looks for due messages: more often than the shortest retry step (30 s).
DUE_SECONDS = 10
DAILY_CHECK_SECONDS = 300
#: How long a contact point fetched from the directory is reused (receipts name it: one RPC per
#: receipt otherwise). A TTL, not invalidation by contact_point_upserted: each replica keeps its
#: own cache while an event reaches only one replica of a service, so only a TTL bounds every
#: replica's staleness. A renamed contact point or a new staff address shows within this time.
CONTACT_POINT_CACHE_SECONDS = 30


class NotificationService:
    name = "notification"
    store = MongoStore(NotificationStorage)
    mailer = Mailer()
    sms = Sms()
    clock = ClockDependency()
    settings = SettingsDependency()
    registration = TimedRpcProxy("registration")
    directory = TimedRpcProxy("directory")
    gateway = TimedRpcProxy("gateway")  # referrers' addresses live with their accounts
    contact_points = SharedCache(CONTACT_POINT_CACHE_SECONDS, max_entries=1_000)

    def _ports(self):
        """Built per call: the adapters remember the other services' answers for that call only."""
        return Ports(
            store=self.store,
            mailer=self.mailer,
            sms=self.sms,
            registration=RemoteRegistration(self.registration),
            directory=RemoteDirectory(self.directory, self.contact_points),
            gateway=RemoteGateway(self.gateway),
            clock=self.clock,
            public_base_url=self.settings["FLOKK_PUBLIC_BASE_URL"],
        )

    @handle_event("matching", "registration_waitlisted")
    def handle_registration_waitlisted(self, event):
        handlers.on_waitlisted(self._ports(), event)

    @handle_event("matching", "registration_unroutable")
    def handle_registration_unroutable(self, event):
        handlers.on_unroutable(self._ports(), event)

    @handle_event("matching", "group_proposed")
    def handle_group_proposed(self, event):
        handlers.on_group_proposed(self._ports(), event)

    @handle_event("matching", "group_confirmed")
    def handle_group_confirmed(self, event):
        handlers.on_group_confirmed(self._ports(), event)

    @handle_event("matching", "group_member_added")
    def handle_group_member_added(self, event):
        handlers.on_group_member_added(self._ports(), event)

    @handle_event("matching", "group_member_left")
    def handle_group_member_left(self, event):
        handlers.on_group_member_left(self._ports(), event)

    @handle_event("matching", "group_closed")
    def handle_group_closed(self, event):
        handlers.on_group_closed(self._ports(), event)

    @handle_event("matching", "group_started")
    def handle_group_started(self, event):
        handlers.on_group_started(self._ports(), event)

    @handle_event("matching", "group_self_run")
    def handle_group_self_run(self, event):
        handlers.on_group_self_run(self._ports(), event)

    @handle_event("matching", "group_checkin_due")
    def handle_group_checkin_due(self, event):
        handlers.on_group_checkin_due(self._ports(), event)

    @handle_event("registration", "registration_withdrawn")
    def handle_registration_withdrawn(self, event):
        handlers.on_withdrawn(self._ports(), event)

    @handle_event("registration", "registration_erased")
    def handle_registration_erased(self, event):
        handlers.on_erased(self._ports(), event)

    @handle_event("registration", "personal_link_requested")
    def handle_personal_link_requested(self, event):
        handlers.on_personal_link_requested(self._ports(), event)

    @timer(interval=DUE_SECONDS)
    def send_due_messages(self):
        handlers.send_due(self._ports())

    @timer(interval=DAILY_CHECK_SECONDS)
    def send_reminders(self):
        handlers.send_reminders(self._ports())

    @timer(interval=DAILY_CHECK_SECONDS)
    def send_digests(self):
        handlers.send_digests(self._ports())

    @rpc
    def deliveries(self, registration_id, actor):
        return handlers.deliveries(self._ports(), registration_id, actor)

    @rpc
    def health(self):
        return health_report(self.name, self.store, self.store.broker)
