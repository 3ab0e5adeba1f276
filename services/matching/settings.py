"""Every setting matching reads (docs/configuration.md is generated from these)."""

from services.common.settings import COMMON, Setting

SETTINGS = (
    *COMMON,
    Setting(
        "FLOKK_MATCHING_WIDENING_DAYS",
        None,
        'Days of waiting that earn each widening step, as JSON over the defaults (e.g. {"neighbouring": 21}).',
    ),
    Setting(
        "FLOKK_MATCHING_EXACT_BUDGET",
        None,
        "Work budget of the exact solver per pool, in CP-SAT's deterministic seconds (default: the engine's).",
    ),
    Setting(
        "FLOKK_MATCHING_EXACT_WORKERS",
        None,
        "CP-SAT workers per exact solve (default 1; a fixed number keeps the groups deterministic).",
    ),
    Setting("FLOKK_MATCHING_SWEEP_SECONDS", "60", "How often the sweep widens and re-plans pools (read at import)."),
    Setting(
        "FLOKK_CHECKIN_MONTHS",
        "1,3,6,12,24",
        "Months after a group's start at which its check-in members are asked how it goes (1 to 5, rising).",
    ),
)
