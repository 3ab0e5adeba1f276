"""The columns of the figures matching serves and the gateway shows (docs/rpc.md), named once so
the two cannot drift apart, and the small-number rule they were made under (docs/design.md §5)."""

from .contracts import THEMES

#: No count below this is shown; every other count is rounded to the nearest ROUNDED_TO.
SMALLEST_SHOWN = 5
ROUNDED_TO = 5

#: Counts of what was so at the end of a period (or now, for one not yet over).
STOCKS = ("waiting", "in_group", "groups_proposed", "groups_confirmed", "groups_running")
#: Counts of people who registered, or were placed in a group, in the period.
PEOPLE_FLOWS = ("registered", "placed")
#: Counts of groups that started, came to run themselves, closed, or were still meeting 6, 12 and
#: 24 months after their start (by a check-in), in the period.
GROUP_FLOWS = (
    "groups_started",
    "groups_self_run",
    "groups_closed",
    "groups_meeting_6m",
    "groups_meeting_12m",
    "groups_meeting_24m",
)
#: Days from registration to placement (the median and 90th percentile of those placed in the
#: period), and the days those still waiting have waited (the median).
WAITING_DAYS = ("median_waiting_days", "p90_waiting_days", "waiting_now_median_days")
#: Shares of those who registered in the period, in per cent with one decimal.
SHARES = ("share_relatives", "share_referred", *(f"share_theme_{theme}" for theme in THEMES))
