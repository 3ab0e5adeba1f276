"""matching's use cases: plain functions, each taking `ports: Ports` first (docs/architecture.md).

arrivals       a registration created, updated, withdrawn, back or erased
holds          a person's break: paused, resumed
routing        the directory's routes (cached) and contact point events
proposals      planning a pool and claiming its people
sweep          widening steps that fell due, and the pools that changed
lifecycle      confirm, reject, advance, close a group (staff)
membership     members leaving, groups refilled or dissolved
acquaintances  pairs never proposed together (recorded by staff, flagged by registration)
views          the pool, proposals, groups and figures for the gateway
"""

from .acquaintances import pair_cleared, pair_flagged, record_acquaintances
from .arrivals import forget, waitlist
from .holds import pause, resume
from .lifecycle import advance_group, close_group, confirm_group, reject_group
from .membership import leave_group
from .proposals import propose_pool
from .routing import contact_point_changed
from .sweep import sweep
from .views import figures, groups_view, pool_view, proposals_view

__all__ = [
    "advance_group",
    "close_group",
    "confirm_group",
    "contact_point_changed",
    "figures",
    "forget",
    "groups_view",
    "leave_group",
    "pair_cleared",
    "pair_flagged",
    "pause",
    "pool_view",
    "propose_pool",
    "proposals_view",
    "record_acquaintances",
    "reject_group",
    "resume",
    "sweep",
    "waitlist",
]
