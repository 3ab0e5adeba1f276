"""Use cases of notification: plain functions, each taking `ports` first.

Exactly once: every message has a deterministic notification id. Before sending, the delivery
log is checked; right after the channel accepted a message, 'sent' is recorded (with its
`notification_sent` in the same transaction), so a handler that the shared delivery retries after
a later failure never sends a message twice. The event's ledger entry comes last.

events.py maps each event to its messages, delivery.py sends one message once, composing.py
says to whom and what, timers.py holds what the clock starts, views.py what staff read.
"""

from .delivery import CLAIM_LEASE, DeliveryPostponed
from .events import (
    on_erased,
    on_group_closed,
    on_group_confirmed,
    on_group_member_added,
    on_group_member_left,
    on_group_proposed,
    on_unroutable,
    on_waitlisted,
    on_withdrawn,
)
from .timers import release_held, send_digests, send_reminders
from .views import deliveries

__all__ = [
    "CLAIM_LEASE",
    "DeliveryPostponed",
    "deliveries",
    "on_erased",
    "on_group_closed",
    "on_group_confirmed",
    "on_group_member_added",
    "on_group_member_left",
    "on_group_proposed",
    "on_unroutable",
    "on_waitlisted",
    "on_withdrawn",
    "release_held",
    "send_digests",
    "send_reminders",
]
