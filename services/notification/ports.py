"""What notification's use cases need, each as a small Protocol, and `Ports`, the bundle every use
case takes first. The implementations: store.py (the store), mailer.py and sms.py (the channels),
remote.py (the other services), services.common.clock (the clock); tests/fakes/notification.py
holds the in-memory ones."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from services.common.clock import Clock
from services.common.envelope import Event

from .templates import Rendered

T = TypeVar("T")
#: A stored document (a delivery, an arrival, a group) or another service's answer.
Record = dict[str, Any]

NATIONAL_OFFICE_ID = "national-office"
#: The gateway on a developer machine (the FLOKK_PUBLIC_BASE_URL default).
LOCAL_GATEWAY = "http://127.0.0.1:8000"


class DeliveryFailure(Exception):
    """A channel could not deliver. `transient`: worth retrying later (4xx SMTP, 5xx HTTP,
    connection trouble); otherwise retrying cannot help (address refused, bad number)."""

    def __init__(self, channel: str, reason: str, transient: bool) -> None:
        super().__init__(f"{channel}: {reason}")
        self.channel, self.reason, self.transient = channel, reason, transient


# --- the store ---------------------------------------------------------------------------------


class UnitOfWork(Protocol):
    """One store transaction, as the use cases see it: they hand it on, and emit events in it."""

    def emit(self, event_type: str, data: dict[str, Any]) -> dict[str, Any]: ...


class Ledger(Protocol):
    """Transactions, and the ledger that applies each event's change once."""

    def transaction(self, change: Callable[[UnitOfWork], T]) -> T: ...

    def apply(self, event: Event, change: Callable[[UnitOfWork], T]) -> T | None: ...

    def already_applied(self, event_id: str) -> bool: ...


class DeliveryLog(Protocol):
    """One record per message (masked addresses only): claimed while sending, waiting for the timer
    (held through quiet hours, or retrying after a failure for now), settled once as sent or failed."""

    def delivery(self, notification_id: str) -> Record | None: ...

    def claim(
        self, notification_id: str, now: datetime, lease_until: datetime, claimable: tuple[str, ...] = ()
    ) -> bool: ...

    def claim_new(self, notification_id: str, lease_until: datetime) -> bool:
        """Claim a message not in the log yet (one write): False if the log has it."""
        ...

    def unclaim(self, notification_id: str, previous_status: str | None = None) -> None: ...

    def settle(self, uow: UnitOfWork, record: Record) -> bool: ...

    def wait(self, record: Record) -> None:
        """Store a message the timer sends later ('held' or 'retrying'), unless it is settled."""
        ...

    def due(self, now: datetime, limit: int = 100) -> list[Record]:
        """Waiting messages whose time has come, and claims on them whose worker died mid-send."""
        ...

    def drop_unsent(self, notification_id: str, now: datetime) -> None:
        """Forget a waiting message (or a dead claim on one) that will never be sent."""
        ...

    def deliveries_for(self, registration_id: str) -> list[Record]: ...

    def forget(self, uow: UnitOfWork, registration_id: str) -> int: ...


class Arrivals(Protocol):
    """People who joined a contact point's pool, and failed messages, until a digest names them."""

    def add_arrival(self, uow: UnitOfWork, registration_id: str, contact_point_id: str, at: datetime) -> None: ...

    def undigested(self) -> tuple[list[Record], list[Record]]: ...

    def mark_digested(self, uow: UnitOfWork, arrival_ids: list[str], failure_ids: list[str], day: str) -> None: ...


class Groups(Protocol):
    """Confirmed groups, for invitations to members added later and for reminders."""

    def save_group(self, uow: UnitOfWork, group: Record) -> None: ...

    def group(self, group_id: str) -> Record | None: ...

    def set_members(self, uow: UnitOfWork, group_id: str, registration_ids: list[str]) -> None: ...

    def drop_group(self, uow: UnitOfWork, group_id: str) -> None: ...

    def update_group(self, uow: UnitOfWork, group_id: str, changes: Record) -> None:
        """The group's state as matching announces it (started, self-run with its schedule)."""
        ...

    def groups_awaiting_reminder(self) -> list[Record]: ...

    def mark_reminded(self, group_id: str) -> None: ...

    def overdue_handovers(self, planned_on_or_before: str) -> list[Record]:
        """Groups not yet self-run whose handover was planned on that day (ISO) or before, and
        that no digest has named yet."""
        ...

    def mark_handovers_reminded(self, uow: UnitOfWork, group_ids: list[str]) -> None: ...


class NotificationStore(Ledger, DeliveryLog, Arrivals, Groups, Protocol):
    """The whole store port (services/notification/store.py)."""


# --- the channels ------------------------------------------------------------------------------


class EmailChannel(Protocol):
    def send(self, to: str, rendered: Rendered, message_id: str) -> None:
        """Hand one message over; raises DeliveryFailure."""
        ...


class SmsChannel(Protocol):
    def send(self, to: str, text: str, reference: str) -> None:
        """Hand one text over; raises DeliveryFailure."""
        ...


# --- the other services, asked at send time ----------------------------------------------------


class Registration(Protocol):
    def contact_details(self, registration_id: str) -> Record | None:
        """The person's contact details now, with a fresh personal link (`link_token`), or None
        once they are erased."""
        ...


class Directory(Protocol):
    def get_contact_point(self, contact_point_id: str, fresh: bool = False) -> Record:
        """The contact point; a copy a little old will do unless `fresh`."""
        ...

    def meeting_link(self, meeting_place_id: str, contact_point_id: str) -> str | None:
        """A digital meeting place's video link (asked as notification itself), or None if it has none."""
        ...


class Gateway(Protocol):
    def referrer_contact(self, referrer_id: str) -> Record | None:
        """The referrer's `{"email", "name"}`, or None when no account has this id (any more)."""
        ...


@dataclass(frozen=True)
class Ports:
    store: NotificationStore
    mailer: EmailChannel
    sms: SmsChannel
    registration: Registration
    directory: Directory
    gateway: Gateway
    clock: Clock
    national_office_id: str = NATIONAL_OFFICE_ID
    #: Where people reach the gateway: personal links are `<public_base_url>/me?t=<token>`.
    public_base_url: str = LOCAL_GATEWAY
