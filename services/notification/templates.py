"""Jinja2 templates per message and language; the subject is the template's first comment.

Each message has one plain-text template per language (`<template>.<language>.txt`); the HTML part
of an e-mail is that text laid out in `layout.html` (autoescaped), so the two can never say
different things. SMS carries the plain text.
"""

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATE_DIR = Path(__file__).parent / "templates"
SUBJECT = re.compile(r"^\{#\s*subject:\s*(.+?)\s*#\}")
LANGUAGES = ("nb", "nn", "en")
DEFAULT_LANGUAGE = "nb"


@dataclass(frozen=True)
class Rendered:
    language: str
    subject: str
    text: str
    html: str


@lru_cache(maxsize=1)
def environment():
    return Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html"]),
        keep_trailing_newline=True,
        auto_reload=False,  # the templates ship with the code: no stat of the file per message
    )


@cache
def subject_of(name):
    """The subject line of one template file (its first comment), read once."""
    return SUBJECT.match((TEMPLATE_DIR / name).read_text(encoding="utf-8")).group(1)


def language_or_default(language):
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def render(template, language, context):
    """`(subject, text)` of a message in the person's language (bokmål by default)."""
    rendered = render_message(template, language, context)
    return rendered.subject, rendered.text


def render_message(template, language, context):
    """Subject, plain text and HTML of one message in one language."""
    language = language_or_default(language)
    name = f"{template}.{language}.txt"
    subject = subject_of(name)
    text = environment().get_template(name).render(**context).strip() + "\n"
    paragraphs = [block.splitlines() for block in re.split(r"\n\s*\n", text.strip()) if block.strip()]
    html = environment().get_template("layout.html").render(language=language, subject=subject, paragraphs=paragraphs)
    return Rendered(language, subject, text, html)
