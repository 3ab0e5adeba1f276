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

from services.common.contact_point_input import DEFAULT_SENDER_NAME

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
    #: The e-mail's sender name: the contact point's `sender_name`, never its own name (which may
    #: name an illness: a Nok. centre, a patients' association).
    sender_name: str = DEFAULT_SENDER_NAME


@lru_cache(maxsize=1)
def environment():
    return Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html"]),
        keep_trailing_newline=True,
        auto_reload=False,  # the templates ship with the code: no stat of the file per message
    )


def language_or_default(language):
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def render(template, language, context):
    """`(subject, text)` of a message in the person's language (bokmål by default)."""
    rendered = render_message(template, language, context)
    return rendered.subject, rendered.text


@cache
def subject_of(template, language):
    """A message's subject line in `language` (its template file's first comment, read once): also
    how staff are told which message it was."""
    source = (TEMPLATE_DIR / f"{template}.{language_or_default(language)}.txt").read_text(encoding="utf-8")
    return SUBJECT.match(source).group(1)


def render_message(template, language, context):
    """Subject, plain text and HTML of one message in one language."""
    language = language_or_default(language)
    name = f"{template}.{language}.txt"
    subject = subject_of(template, language)
    text = environment().get_template(name).render(**context).strip() + "\n"
    paragraphs = [block.splitlines() for block in re.split(r"\n\s*\n", text.strip()) if block.strip()]
    html = environment().get_template("layout.html").render(language=language, subject=subject, paragraphs=paragraphs)
    return Rendered(language, subject, text, html, context.get("sender_name") or DEFAULT_SENDER_NAME)
