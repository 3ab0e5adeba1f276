"""Discretion: every template, in every language, in text and HTML, with every variant it has,
names no theme, diagnosis or group topic (bokmål, nynorsk and English forms)."""

import itertools
from pathlib import Path

import pytest

from services.common.contracts import THEMES
from services.common.discretion import THEME_WORDS, theme_words_in
from services.notification import domain, templates

VARIANTS = {
    domain.RECEIPT: [{"unroutable": False}, {"unroutable": True}],
    domain.REFERRAL_STATUS: [{"status": s} for s in domain.REFERRAL_STATUSES],
    domain.STAFF_DIGEST: [
        {"failures": []},
        {"failures": [{"reference": "ab12cd34", "template": "invitation"}]},
        {"failures": [], "handovers": [{"reference": "ab12cd34", "planned_on": "2026-11-01"}]},
    ],
    domain.INVITATION: [{}, {"digital": True, "video_url": "https://meet.example.no/g1"}],
    domain.REMINDER: [{}, {"digital": True}],
    domain.NEWCOMER: [
        {"schedule_text": "", "when": "", "place": "", "address": "", "starter": ""},
        {"schedule_text": "hver torsdag kl. 18.00", "when": "torsdag 3. desember kl. 18.00", "starter": "Ingrid"},
    ],
    domain.HANDOVER: [
        {"schedule_text": "", "place": "", "contact_email": ""},
        {"schedule_text": "hver torsdag kl. 18.00", "place": "Biblioteket", "contact_email": "post@example.no"},
    ],
}
CONTEXT = {
    "first_name": "Kari",
    "contact_point": "LINK Bergen og omegn",
    "reference": "ab12cd34",
    "size": 6,
    "when": "tirsdag 1. desember kl. 18.00",
    "place": "Biblioteket, rom 3",
    "address": "Strømgaten 6, Bergen",
    "starter": "Ingrid",
    "contact_email": "post@link-bergen.example.no",
    "day": "2026-11-29",
    "new_people": 3,
    "personal_link": "https://flokk.test/me?t=v1.r1.me.token",
    "digital": False,
    "video_url": "",
}


def renderings():
    for template, language in itertools.product(domain.TEMPLATES, templates.LANGUAGES):
        for variant in VARIANTS.get(template, [{}]):
            yield template, language, variant


def test_every_theme_has_words_to_look_for_and_the_scan_finds_them():
    assert set(THEME_WORDS) == set(THEMES)
    assert theme_words_in("Ei gruppe for Sorg og rusavhengige, og krus") == {"sorg", "rus"}


def test_every_template_exists_in_every_language_and_no_other_is_lying_around():
    files = {p.name for p in Path(templates.TEMPLATE_DIR).glob("*.txt")}
    assert files == {f"{t}.{lang}.txt" for t in domain.TEMPLATES for lang in templates.LANGUAGES}


@pytest.mark.parametrize("template,language,variant", list(renderings()))
def test_no_message_names_a_theme(template, language, variant):
    rendered = templates.render_message(template, language, {**CONTEXT, **variant})
    assert rendered.language == language and rendered.subject and rendered.text.strip()
    for part in (rendered.subject, rendered.text, rendered.html):
        assert theme_words_in(part) == set(), (template, language)


def test_the_html_part_says_what_the_text_says_and_escapes_it():
    rendered = templates.render_message(domain.INVITATION, "en", {**CONTEXT, "place": "Room <3> & co"})
    assert "Room &lt;3&gt; &amp; co" in rendered.html and "Room <3> & co" in rendered.text
    assert "Ingrid" in rendered.html and '<html lang="en">' in rendered.html


def test_an_unknown_language_falls_back_to_bokmal():
    assert templates.render_message(domain.WITHDRAWAL, "de", CONTEXT).subject == "Påmeldingen din er trukket"
