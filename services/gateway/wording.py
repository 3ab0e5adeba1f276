"""How the pages put values into words, in the page's language: times in Europe/Oslo as Norwegians
write them («tirsdag 8. desember kl. 18.00»), plurals, a time slot, a phone number, a short
reference instead of an id, and a proposal's explanation from its structured fields. Pure: the
texts come in as a translator `t(key, **values)`."""

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any

from services.common.dates import OSLO, clock_words, date_words, time_words

REFERENCE_LENGTH = 8
Translate = Callable[..., str]

#: Small counts as words, as a sentence opens with them («Fem personer kan møtes …»).
NUMBER_WORDS = {
    "nb": ("null", "én", "to", "tre", "fire", "fem", "seks", "sju", "åtte", "ni", "ti", "elleve", "tolv"),
    "nn": ("null", "éin", "to", "tre", "fire", "fem", "seks", "sju", "åtte", "ni", "ti", "elleve", "tolv"),
    "en": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"),
}


def moment(value: Any) -> datetime | None:
    """An RFC 3339 text or a datetime, in Oslo time; None for nothing or something unreadable."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=OSLO)
    return value.astimezone(OSLO)


def date_text(value: Any, lang: str) -> str:
    """«8. desember 2026» / «8 December 2026»; a date, or a time in Oslo."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return date_words(value, lang)
    here = moment(value)
    return date_words(here.date(), lang) if here else ""


def time_text(value: Any, lang: str) -> str:
    """«tirsdag 8. desember kl. 18.00» / «Tuesday 8 December at 18:00», in Oslo time."""
    here = moment(value)
    return time_words(here, lang) if here else ""


def local_input(value: Any) -> str:
    """A time as a datetime-local field shows it: Oslo time, to the minute."""
    here = moment(value)
    return here.strftime("%Y-%m-%dT%H:%M") if here else ""


def count_text(t: Translate, key: str, count: int, **values: Any) -> str:
    """A text with a number in it, singular or plural: `<key>_one` for 1, `<key>_other` else."""
    return t(f"{key}_{'one' if count == 1 else 'other'}", count=count, **values)


def number_word(count: int, lang: str) -> str:
    words = NUMBER_WORDS.get(lang, NUMBER_WORDS["nb"])
    return words[count] if 0 <= count < len(words) else str(count)


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def slot_text(slot: Mapping[str, Any] | None, t: Translate) -> str:
    """«tirsdag kveld»: a weekday and a part of the day, as they read inside a sentence."""
    if not slot:
        return ""
    return f"{t('day_' + str(slot.get('weekday'))).lower()} {t('part_' + str(slot.get('part_of_day'))).lower()}"


def phone_text(phone: str | None) -> str:
    """«912 34 567» for +4791234567; another number as given."""
    if phone and len(phone) == 11 and phone.startswith("+47") and phone[3:].isdigit():
        digits = phone[3:]
        return f"{digits[:3]} {digits[3:5]} {digits[5:]}"
    return phone or ""


def reference(identifier: Any) -> str:
    """The short reference a person or group is shown by where no name may be: the first 8
    characters of the id (staff can search for it)."""
    return str(identifier or "")[:REFERENCE_LENGTH]


def person_text(registration_id: str, names: Mapping[str, str]) -> str:
    """A first name where the page may show one, else the short reference."""
    return names.get(registration_id) or reference(registration_id)


def people_text(ids: Iterable[str], names: Mapping[str, str]) -> str:
    return ", ".join(person_text(rid, names) for rid in ids)


def explanation_sentences(
    explanation: Mapping[str, Any], size: int, t: Translate, lang: str, names: Mapping[str, str]
) -> list[str]:
    """A proposal's explanation in the page's language, from its structured fields (group_proposed
    v2: `longest_wait_days`, and per relaxation `after_days` and `registration_ids`). A v1
    explanation lacks them: those sentences are left out rather than guessed."""
    slot = slot_text(explanation.get("slot"), t)
    theme = explanation.get("theme")
    who = capitalised(number_word(size, lang))
    if explanation.get("mixed") or not theme:
        sentences = [t("explain_mixed", who=who, slot=slot)]
    else:
        sentences = [t("explain_theme", who=who, slot=slot, theme=t("theme_" + str(theme)).lower())]
    days = explanation.get("longest_wait_days")
    if isinstance(days, int):
        sentences.append(count_text(t, "explain_longest_wait", days))
    relaxed = [r for r in explanation.get("relaxed") or [] if isinstance(r, Mapping)]
    if not relaxed:
        sentences.append(t("explain_nothing_relaxed"))
        return sentences
    phrases = []
    for step in relaxed:
        after = step.get("after_days")
        phrase = (
            count_text(t, f"relaxed_{step.get('step')}_after", after)
            if isinstance(after, int)
            else t(f"relaxed_{step.get('step')}")
        )
        joined = step.get("registration_ids") or []
        if joined:
            phrase = t("relaxed_who", what=phrase, who=people_text(joined, names))
        phrases.append(phrase)
    sentences.append(t("explain_relaxed", what="; ".join(phrases)))
    return sentences


class Words:
    """The helpers above, bound to one page's language and texts: `words.when(...)` in a template."""

    def __init__(self, t: Translate, lang: str) -> None:
        self.t, self.lang = t, lang

    def when(self, value: Any) -> str:
        return time_text(value, self.lang)

    def day(self, value: Any) -> str:
        return date_text(value, self.lang)

    def clock(self, value: Any) -> str:
        return clock_words(str(value or ""), self.lang)

    def count(self, key: str, count: int, **values: Any) -> str:
        return count_text(self.t, key, count, **values)

    def slot(self, slot: Mapping[str, Any] | None) -> str:
        return capitalised(slot_text(slot, self.t))

    def slots(self, slots: Iterable[Mapping[str, Any]] | None) -> str:
        return ", ".join(slot_text(s, self.t) for s in slots or ())

    def themes(self, themes: Iterable[str] | None) -> str:
        return ", ".join(self.t("theme_" + str(theme)) for theme in themes or ())

    def phone(self, phone: str | None) -> str:
        return phone_text(phone)

    def ref(self, identifier: Any) -> str:
        return reference(identifier)

    def person(self, registration_id: str, names: Mapping[str, str]) -> str:
        return person_text(registration_id, names)

    def explanation(self, explanation: Mapping[str, Any], size: int, names: Mapping[str, str]) -> list[str]:
        return explanation_sentences(explanation, size, self.t, self.lang, names)

    def local_input(self, value: Any) -> str:
        return local_input(value)
