"""matching's use cases: plain functions, each taking `ports: Ports` first (docs/architecture.md).

arrivals       a registration created, updated, withdrawn, back or erased
holds          a person's break: paused, resumed
routing        the directory's routes (cached) and contact point events
proposals      planning a pool and claiming its people
sweep          widening steps that fell due, and the pools that changed
lifecycle      confirm, reject, advance, close a group (staff)
group_life     the handover, check-ins sent and answered, check-in comments (audited)
cohorts        course cohorts: gathered in a pool of their own, proposed whole
membership     members leaving, groups refilled or dissolved
acquaintances  pairs never proposed together (recorded by staff, flagged by registration)
views          the pool, proposals, groups, one group and a person's status for the gateway
figures        the figures per period, and what is noted for them
queue          the national office's queue: find, assign, contacts noted
"""

from .acquaintances import pair_cleared, pair_flagged, record_acquaintances
from .arrivals import forget, waitlist
from .cohorts import cohort_created, form_due_cohorts
from .figures import contact_point_figures, national_figures
from .group_life import answer_checkin, checkin_comment, record_handover, send_checkin, send_due_checkins
from .holds import pause, resume
from .lifecycle import advance_group, close_group, confirm_group, reject_group
from .membership import leave_group
from .proposals import propose_pool
from .queue import assign_from_queue, national_queue, note_contact
from .routing import contact_point_changed
from .sweep import sweep
from .views import group_detail, groups_view, person_status, pool_view, proposals_view

__all__ = [
    "advance_group",
    "answer_checkin",
    "assign_from_queue",
    "checkin_comment",
    "cohort_created",
    "close_group",
    "confirm_group",
    "contact_point_changed",
    "contact_point_figures",
    "forget",
    "form_due_cohorts",
    "group_detail",
    "groups_view",
    "leave_group",
    "national_figures",
    "national_queue",
    "note_contact",
    "pair_cleared",
    "pair_flagged",
    "pause",
    "person_status",
    "pool_view",
    "propose_pool",
    "proposals_view",
    "record_acquaintances",
    "record_handover",
    "reject_group",
    "resume",
    "send_checkin",
    "send_due_checkins",
    "sweep",
    "waitlist",
]
