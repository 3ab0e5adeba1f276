"""Use cases of notification: plain functions, each taking `ports` first.

Exactly once: every message has a deterministic notification id. Before sending, the delivery
log is checked; right after the channel accepted a message, 'sent' is recorded (with its
`notification_sent` in the same transaction), so a handler that the shared delivery retries after
a later failure never sends a message twice. The event's ledger entry comes last. A channel that
fails only for now does not fail the handler: the message waits in the delivery log as
'retrying', and the timer tries it again on its schedule (domain.retry_time).

events.py maps each event to its messages, delivery.py sends one message once, composing.py
says to whom and what, timers.py holds what the clock starts, views.py what staff read.
"""

from .delivery import CLAIM_LEASE, DeliveryPostponed
from .events import (
    on_erased,
    on_group_checkin_due,
    on_group_closed,
    on_group_confirmed,
    on_group_member_added,
    on_group_member_left,
    on_group_proposed,
    on_group_self_run,
    on_group_started,
    on_personal_link_requested,
    on_unroutable,
    on_waitlisted,
    on_withdrawn,
)
from .timers import send_digests, send_due, send_reminders
from .views import deliveries

__all__ = [
    "CLAIM_LEASE",
    "DeliveryPostponed",
    "deliveries",
    "on_erased",
    "on_group_checkin_due",
    "on_group_closed",
    "on_group_confirmed",
    "on_group_member_added",
    "on_group_member_left",
    "on_group_proposed",
    "on_group_self_run",
    "on_group_started",
    "on_personal_link_requested",
    "on_unroutable",
    "on_waitlisted",
    "on_withdrawn",
    "send_digests",
    "send_due",
    "send_reminders",
]
