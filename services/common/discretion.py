"""Discretion: what would tell a reader someone's theme. A message's sender name, subject and SMS
never may (issue 14): the notification templates are tested against these words, and a contact
point's `sender_name` that holds one is refused."""

import re

#: Stems, matched as the start of a word, so "rus" catches "rusavhengig" but not "krus".
THEME_WORDS = {
    "grief": ["sorg", "sørg", "grief", "griev", "bereave", "mourn", "etterlatt", "dødsfall", "dødsfall", "død"],
    "loneliness": ["ensom", "einsam", "einsemd", "lonel", "isolat"],
    "anxiety": ["angst", "anxi", "panikk", "panic", "uro"],
    "depression": ["depresj", "depress", "nedstemt", "tungsinn"],
    "chronic_illness": ["kronisk", "chronic", "sjukdom", "sykdom", "illness", "syk", "sjuk"],
    "chronic_pain": ["smerte", "pain", "vondt"],
    "cancer": ["kreft", "cancer", "onkolog", "tumou", "tumor"],
    "addiction": ["rus", "avhengig", "addict", "alkohol", "alcohol", "drug", "narkoti", "spillavhengig"],
    "eating_disorder": ["spiseforstyrr", "eating", "anoreksi", "anorexi", "bulimi"],
    "trauma": ["traum", "overgrep", "abuse", "vold", "violen"],
    "burnout": ["utbrent", "utbrend", "burnout", "burn-out", "burned out", "burnt out", "utmatt", "exhaust"],
    "separation": ["samlivsbrudd", "samlivsbrot", "skilsmisse", "skilnad", "divorce", "separat", "brudd"],
    "job_loss": [
        "arbeidsledig",
        "arbeidslaus",
        "arbeidsløs",
        "unemploy",
        "jobless",
        "job loss",
        "oppsagt",
        "permitter",
        "redundan",
        "laid off",
    ],
    "caregiving": ["omsorg", "caregiv", "carer", "pårørende", "pårørande", "relative"],
    "other": [
        "diagnos",
        "psykisk",
        "psychiatr",
        "mental",
        "helse",
        "health",
        "terapi",
        "therap",
        "pasient",
        "patient",
        "problem",
        "tema",
        "theme",
        "topic",
        "emne",
    ],
}


def theme_words_in(text: str) -> set[str]:
    """The theme words (stems, as the start of a word) that `text` holds: empty when it is discreet."""
    lowered = text.lower()
    return {
        word for words in THEME_WORDS.values() for word in words if re.search(rf"(?<![\w]){re.escape(word)}", lowered)
    }
