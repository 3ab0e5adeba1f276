"""Dates and times as people in Norway read them, in bokmål, nynorsk and English, in Europe/Oslo
time: «tirsdag 8. desember kl. 18.00» (the gateway's pages and notification's messages say the
same time the same way). Pure. The nynorsk words follow docs/glossary.md."""

from datetime import date, datetime

from services.common.clock import OSLO

WEEKDAYS = {
    "nb": ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"),
    "nn": ("måndag", "tysdag", "onsdag", "torsdag", "fredag", "laurdag", "sundag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_NORWEGIAN_MONTHS = (
    "januar",
    "februar",
    "mars",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "desember",
)
MONTHS = {
    "nb": _NORWEGIAN_MONTHS,
    "nn": _NORWEGIAN_MONTHS,
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}
LANGUAGES = tuple(WEEKDAYS)


def _language(language: str) -> str:
    return language if language in WEEKDAYS else "nb"


def in_oslo(moment: datetime) -> datetime:
    """An aware time in Oslo; a naive one is taken to be Oslo time already."""
    return moment.replace(tzinfo=OSLO) if moment.tzinfo is None else moment.astimezone(OSLO)


def date_words(day: date, language: str, year: bool = True) -> str:
    """«8. desember 2026» / «8 December 2026» (without the year if `year` is false)."""
    language = _language(language)
    month = MONTHS[language][day.month - 1]
    text = f"{day.day} {month}" if language == "en" else f"{day.day}. {month}"
    return f"{text} {day.year}" if year else text


def time_words(moment: datetime, language: str, year: bool = True) -> str:
    """«tirsdag 8. desember 2026 kl. 18.00» / «Tuesday 8 December 2026 at 18:00», in Oslo time."""
    language = _language(language)
    here = in_oslo(moment)
    weekday = WEEKDAYS[language][here.weekday()]
    if language == "en":
        return f"{weekday} {date_words(here.date(), language, year)} at {here:%H:%M}"
    return f"{weekday} {date_words(here.date(), language, year)} kl. {here:%H.%M}"


def clock_words(clock: str, language: str) -> str:
    """A clock time as typed («18:00») as the language writes it: «18.00» in Norwegian."""
    return clock if _language(language) == "en" else clock.replace(":", ".")
