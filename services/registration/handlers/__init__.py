"""registration's use cases: plain functions whose first argument is `ports` (ports.Ports), one
module per topic. service.py calls them through this package."""

from .erasure import erase, erase_after_retention
from .intake import register, register_cohort, take_intake
from .lifecycle import come_back, follow_matching, withdraw
from .reading import (
    contact_details,
    counts,
    get_registration,
    referral_status,
    referral_statuses,
    rotate_contact_keys,
)

__all__ = [
    "come_back",
    "contact_details",
    "counts",
    "erase",
    "erase_after_retention",
    "follow_matching",
    "get_registration",
    "referral_status",
    "referral_statuses",
    "register",
    "register_cohort",
    "rotate_contact_keys",
    "take_intake",
    "withdraw",
]
