"""The texts of the information pages, the help lines and every consent text ever shown, from the
JSON files in content/ (one place each, in bokmål, nynorsk and English)."""

import json
from functools import cache
from pathlib import Path
from typing import Any

CONTENT = Path(__file__).resolve().parent / "content"
#: The information pages by path, and the key of each in info.json.
INFO_PAGES = {
    "/about": "about",
    "/about/ground-rules": "ground-rules",
    "/about/starter": "starter",
    "/for-professionals": "for-professionals",
}


@cache
def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((CONTENT / f"{name}.json").read_text(encoding="utf-8"))
    return loaded


def info_page(key: str, lang: str) -> dict[str, Any]:
    """{"title", "lead", "sections": [{"heading", "text": [paragraphs]}]}"""
    page: dict[str, Any] = _load("info")[key][lang]
    return page


def help_lines(lang: str) -> list[dict[str, str]]:
    """[{"key", "name", "number", "tel", "text"}] in the page's language."""
    return [{**line, "name": line["name"][lang], "text": line["text"][lang]} for line in _load("help_lines")["lines"]]


CURRENT_CONSENT: str = _load("consent")["current"]


def consent_versions() -> list[str]:
    return sorted(_load("consent")["versions"])


def consent_text(version: str, lang: str, controller: str, retention_days: str) -> list[str] | None:
    """The paragraphs of one consent text as it was shown, or None for a version there never was."""
    texts = _load("consent")["versions"].get(version)
    if texts is None:
        return None
    return [paragraph.format(controller=controller, retention_days=retention_days) for paragraph in texts[lang]]
