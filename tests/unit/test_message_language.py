"""Messages people can trust (issue 14), composed as notification composes them (composing.context_of,
with the directory's answer for the contact point) and rendered in every variant:

- the language test: every template x {nb, nn} x {e-mail subject, body, SMS} holds no English word
  (tests/data/english_words.txt), no UUID and no ISO date;
- discreet senders: for every template x contact point kind, neither the sender name, the subject
  nor the SMS names a theme or a themed organisation (a Nok. centre, a patients' association)."""

import re
import types
from unittest import mock

import pytest

from services.common import clock
from services.common.contact_point_input import DEFAULT_SENDER_NAME
from services.common.discretion import theme_words_in
from services.notification import domain, templates
from services.notification.handlers.composing import context_of
from tests.unit.test_language import problems_in
from tests.unit.test_notification_templates import CONTEXT, VARIANTS

PERSON = "0ac39f4d-1c2b-4e5f-8a9b-0123456789ab"
TO_STAFF = {domain.PROPOSAL_READY, domain.STAFF_DIGEST, domain.UNROUTABLE_STAFF}
#: Contact points of every kind; the themed ones name an illness or a topic in their own name.
KINDS = {
    "link_centre": "LINK Bergen og omegn",
    "municipal_service": "Bergen kommune, rask psykisk helsehjelp",
    "volunteer_centre": "Frivilligsentralen Årstad",
    "user_organisation": "Kreftforeningen Vest",
    "support_centre": "Nok. Bergen, senter mot seksuelle overgrep",
    "district_office": "Distriktskontor Vest",
    "national_office": "Nasjonalt kontor",
}
#: What the raw parameters of a message look like (composing turns them into words).
PARAMS = {
    "reference": "0ac39f4d",
    "size": 6,
    "meeting_place_id": "mp-1",
    "starter_id": "st-1",
    "first_meeting_at": "2026-12-08T17:00:00+00:00",
    "day": "2026-11-29",
    "new_people": 3,
    "status": "waiting",
    "unroutable": False,
}
URL = re.compile(r"https?://\S+")


def contact_point(kind, name, sender_name=None):
    point = {
        "contact_point_id": "cp-1",
        "kind": kind,
        "name": name,
        "email": "post@example.no",
        "meeting_places": [
            {"meeting_place_id": "mp-1", "name": "Biblioteket, rom 3", "address": {"street": "Strømgaten 6"}}
        ],
        "staff": [{"staff_id": "st-1", "first_name": "Ingrid"}],
    }
    return {**point, "sender_name": sender_name} if sender_name else point


def composed(template, language, variant, point):
    """The message as notification sends it: (sender name, subject, text) in `language`."""
    directory = mock.Mock()  # another service's RPC proxy
    directory.get_contact_point.return_value = point
    directory.meeting_link.return_value = "https://meet.example.no/g1"
    ports = types.SimpleNamespace(
        directory=directory, public_base_url="https://flokk.test", clock=clock.FixedClock(clock.now())
    )
    kind = "staff" if template in TO_STAFF else "referrer" if template == domain.REFERRAL_STATUS else "participant"
    params = {**PARAMS, **variant}
    if template == domain.STAFF_DIGEST:
        params["failures"] = [{**f, "template": "receipt"} for f in params.get("failures", [])]
        params["handovers"] = [{**h, "planned_on": "2026-11-01"} for h in params.get("handovers", [])]
    message = domain.Message("e1", {"kind": kind, "id": "cp-1"}, template, PERSON, "cp-1", params)
    addressee = {"name": "Kari Nordmann", "language": language, "link_token": f"v1.{PERSON}.me.x"}
    context = {**CONTEXT, **context_of(ports, message, addressee)}
    rendered = templates.render_message(template, language, context)
    return rendered.sender_name, rendered.subject, rendered.text


def messages(languages):
    for template in domain.TEMPLATES:
        for language in languages:
            for variant in VARIANTS.get(template, [{}]):
                yield template, language, variant


@pytest.mark.parametrize("template,language,variant", list(messages(("nb", "nn"))))
def test_every_message_in_bokmal_and_nynorsk_is_free_of_english_uuids_and_iso_dates(template, language, variant):
    _, subject, text = composed(template, language, variant, contact_point("link_centre", KINDS["link_centre"]))
    for part in (subject, URL.sub("", text)):  # the e-mail's subject and body; an SMS is the body
        assert problems_in(part) == [], (template, language, part)


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("template,language,variant", list(messages(templates.LANGUAGES)))
def test_no_sender_name_subject_or_sms_names_a_theme_or_a_themed_organisation(template, language, variant, kind):
    name = KINDS[kind]
    for point in (contact_point(kind, name), contact_point(kind, name, "Selvhjelp Vest")):
        sender, subject, sms = composed(template, language, variant, point)
        seen = (sender, subject) if template in TO_STAFF else (sender, subject, sms)  # staff know their name
        for part in seen:
            assert theme_words_in(part) == set() and name not in part, (template, kind, part)
        assert sender in (point.get("sender_name"), DEFAULT_SENDER_NAME)  # the contact point's, or Flokk's


def test_the_check_finds_a_themed_organisation():
    assert theme_words_in(KINDS["user_organisation"]) == {"kreft"}
    assert theme_words_in(KINDS["support_centre"]) == {"overgrep"}
