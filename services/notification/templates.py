"""Jinja2 templates per message and language; the subject is the template's first comment."""
import re
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATE_DIR = Path(__file__).parent / "templates"
SUBJECT = re.compile(r"^\{#\s*subject:\s*(.+?)\s*#\}")
LANGUAGES = ("nb", "nn", "en")


@lru_cache(maxsize=1)
def environment():
    return Environment(loader=FileSystemLoader(TEMPLATE_DIR), undefined=StrictUndefined,
                       autoescape=False, keep_trailing_newline=True)


def render(template, language, context):
    """`(subject, body)` of a plain-text message in the person's language (bokmål by default)."""
    language = language if language in LANGUAGES else "nb"
    name = f"{template}.{language}.txt"
    source = (TEMPLATE_DIR / name).read_text(encoding="utf-8")
    subject = SUBJECT.match(source).group(1)
    body = environment().get_template(name).render(**context).strip() + "\n"
    return subject, body
