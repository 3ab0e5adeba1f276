"""registration's use cases: plain functions whose first argument is `ports` (ports.Ports), one
module per topic. service.py calls them through this package."""

from .cohorts import cohort_by_code, cohorts_of, create_cohort
from .duplicates import resolve_duplicate
from .erasure import erase, erase_after_retention
from .intake import register, register_cohort, take_intake
from .lifecycle import come_back, follow_matching, record_contact, withdraw
from .links import open_link, request_new_link, revoke_links
from .personal import end_due_pauses, pause, personal_view, resume, set_avoid_list, update_preferences
from .reading import (
    contact_details,
    counts,
    find_by_reference,
    first_names,
    get_registration,
    referral_status,
    referral_statuses,
    rotate_contact_keys,
)

__all__ = [
    "cohort_by_code",
    "cohorts_of",
    "come_back",
    "contact_details",
    "counts",
    "create_cohort",
    "end_due_pauses",
    "erase",
    "erase_after_retention",
    "find_by_reference",
    "first_names",
    "follow_matching",
    "get_registration",
    "open_link",
    "pause",
    "personal_view",
    "referral_status",
    "referral_statuses",
    "record_contact",
    "register",
    "register_cohort",
    "request_new_link",
    "resolve_duplicate",
    "resume",
    "revoke_links",
    "rotate_contact_keys",
    "set_avoid_list",
    "take_intake",
    "update_preferences",
    "withdraw",
]
