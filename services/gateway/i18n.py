"""Bokmål by default, nynorsk and English: one JSON file of texts per language."""

import json
from functools import cache
from pathlib import Path

LANGUAGES = ("nb", "nn", "en")
DEFAULT_LANGUAGE = "nb"
HERE = Path(__file__).resolve().parent / "translations"


@cache
def texts(lang):
    return json.loads((HERE / f"{lang}.json").read_text(encoding="utf-8"))


def choose_language(request):
    """?lang= wins (and is remembered in a cookie by the page), then the cookie, then bokmål."""
    for candidate in (request.args.get("lang"), request.cookies.get("lang")):
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT_LANGUAGE


def translator(lang, variant=None):
    """t(key, **values): the text in `lang` (bokmål where it has none). With a `variant`, the text
    `<variant>_<key>` wins where there is one: the same question worded for another reader."""
    table, fallback = texts(lang), texts(DEFAULT_LANGUAGE)

    def t(key, **values):
        text = (variant and table.get(f"{variant}_{key}")) or table.get(key) or fallback.get(key) or key
        return text.format(**values) if values else text

    return t
