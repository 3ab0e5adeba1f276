"""What no page in Norwegian may show its reader: an English word, an id, an ISO date, or a text
key the page forgot to translate. Shared by the gateway's unit tests and the browser tests."""

import re

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
TRANSLATION_KEY = re.compile(r"\b[a-z]+_[a-z_]+\b")
ENGLISH = re.compile(r"\b(the|you|your|and|group|waiting|withdrawn|paused|started|self_run|None|null|True|False)\b")


def foreign_text(text, names=()):
    """The first thing in `text` a Norwegian reader should not see, with its surroundings; None when
    there is none. `names` are shown as people typed them (the example directory's rooms are English)."""
    for name in names:
        text = text.replace(name, "")
    for pattern in (ENGLISH, UUID, ISO_DATE, TRANSLATION_KEY):
        found = pattern.search(text)
        if found:
            return f"{found.group(0)!r} in {text[max(found.start() - 80, 0) : found.end() + 80]!r}"
    return None
