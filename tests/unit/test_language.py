"""Bokmål and nynorsk pages say nothing in English, and show no UUID and no ISO date.

Every page route of the route table is rendered (so a new page is covered the day it is added),
in bokmål and nynorsk, with seeded data shaped like what the services answer: UUIDs for ids,
RFC 3339 times, and matching's English explanation summary beside its structured fields. The
visible text (and alt, title, aria-label and placeholder) must hold no word of
tests/data/english_words.txt, no UUID and nothing like 2026-12-08. Text marked lang="en" (the
language switcher's «English») is English on purpose. Messages: tests/unit/test_message_language.py."""

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from nameko.exceptions import RemoteError

from services.common.errors import MESSAGE_CODES, coded
from services.gateway.i18n import texts
from services.gateway.pipeline import routing
from services.gateway.routes import ROUTES
from tests.fakes.gateway import BERGEN, GROUP_VIEW, PERSONAL_VIEW, QUEUED, Caller, gateway

routing()  # fills ROUTES with every module's routes
WORDS_FILE = Path(__file__).resolve().parents[1] / "data" / "english_words.txt"
ENGLISH = frozenset(
    line.strip() for line in WORDS_FILE.read_text(encoding="utf-8").splitlines() if line.strip() and line[0] != "#"
)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
TRANSLATION_KEY = re.compile(r"\b[a-z]+_[a-z_]+\b")  # a text the page forgot to translate
WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
ADDRESS = re.compile(r"(?:https?:/)?/[\w.~%/-]*(?:\?\S*)?")  # a link shown to copy: no prose

PERSON = "0ac39f4d-1c2b-4e5f-8a9b-0123456789ab"
OTHER = "7e1f2a3b-4c5d-4e6f-9a0b-abcdefabcdef"
VISITOR = "5b6c7d8e-9f00-4a1b-8c2d-3e4f5a6b7c8d"
GROUP = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
MEMBERS = [PERSON, OTHER, VISITOR, "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e"]
EXPLANATION = {
    "summary": f"5 people ({', '.join(MEMBERS)}) can all meet Tuesday evening and share the theme grief.",
    "slot": {"weekday": "tue", "part_of_day": "evening"},
    "theme": "grief",
    "mixed": False,
    "longest_wait_days": 34,
    "relaxed": [
        {
            "step": "neighbouring",
            "reason": f"{VISITOR} waited more than 28 days at their own contact point",
            "after_days": 28,
            "registration_ids": [VISITOR],
        },
        {"step": "mixed_themes", "reason": "all accept mixed groups", "after_days": 1, "registration_ids": []},
    ],
}
PROPOSAL = {
    "group_id": GROUP,
    "contact_point_id": "link-bergen",
    "state": "proposed",
    "registration_ids": MEMBERS,
    "slot": {"weekday": "tue", "part_of_day": "evening"},
    "theme": "grief",
    "proposed_at": "2026-11-28T09:00:00Z",
    "explanation": EXPLANATION,
}
WAITING = {
    "registration_id": PERSON,
    "waiting_since": "2026-10-25T10:00:00Z",
    "role": "self",
    "language": "nb",
    "themes": ["grief", "loneliness"],
    "slots": [{"weekday": "tue", "part_of_day": "evening"}, {"weekday": "sat", "part_of_day": "morning"}],
    "open_to_mixed": True,
    "route_kind": "contact_point",
    "widening": [{"step": "mixed_themes", "at": "2026-11-08T10:00:00Z", "reason": "waited 14 days"}],
}
SEEDED = {
    "registration": {
        "get_registration": {
            "registration_id": PERSON,
            "name": "Kari",
            "email": "kari@example.no",
            "phone": "+4791234567",
            "status": "waiting",
            "role": "relative",
            "themes": ["grief"],
            "availability": [{"weekday": "tue", "part_of_day": "evening"}],
            "contact_point_id": "link-oslo",
            "registered_at": "2026-10-25T10:00:00Z",
            "consent": {
                "purpose": "self_help_group_matching",
                "text_version": "2026-01",
                "given_at": "2026-10-25T10:00:00Z",
            },
            "referral": {"referrer_id": "ref-1", "organisation": "Legekontoret Sentrum"},
            "possible_duplicates": [OTHER],
            "free_text": "Kan bare på kveldstid.",
        },
        "referral_statuses": [
            {"registration_id": PERSON, "status": "waiting", "updated_at": "2026-11-28T09:00:00Z"},
            {"registration_id": OTHER, "status": "withdrawn", "updated_at": "2026-11-29T09:00:00Z"},
        ],
        "first_names": {PERSON: "Kari", OTHER: "Ola"},
        "find_by_reference": [{"registration_id": PERSON, "status": "in_group", "contact_point_id": "link-bergen"}],
        "personal_view": {**PERSONAL_VIEW, "registration_id": PERSON},
    },
    "matching": {
        "group_view": {
            **GROUP_VIEW,
            "group_id": GROUP,
            "registration_ids": MEMBERS,
            "checkin_registration_ids": [OTHER],
        },
        "national_queue": [{**QUEUED, "registration_id": PERSON}],
        "pool": [WAITING, {**WAITING, "registration_id": OTHER, "role": "relative", "widening": []}],
        "proposals": [PROPOSAL],
        "groups": [
            {
                **PROPOSAL,
                "state": "confirmed",
                "confirmation": {
                    "meeting_place_id": "group-room",
                    "first_meeting_at": "2026-12-08T17:00:00Z",
                    "starter_id": "st-1",
                },
            }
        ],
    },
    "directory": {"get_contact_point": {**BERGEN, "name": "LINK Bergen og omegn"}},
    "notification": {
        "deliveries": [
            {"template": t, "channel": c, "status": s, "at": "2026-11-28T09:00:00Z"}
            for t, c, s in (("receipt", "email", "sent"), ("invitation", "sms", "held"), ("reminder", "sms", "failed"))
        ]
    },
}
PATH_VALUES = {
    "contact_point_id": "link-bergen",
    "registration_id": PERSON,
    "group_id": GROUP,
    "other_id": OTHER,
    "action": "erase",
    "version": "2026-01",
    "postal_code": "5003",
    "checkin_id": "chk-1",
    "meeting_place_id": "group-room",
}
#: The states a page shows beside its plain one (queries by route name).
QUERIES = {
    "person_details": [{"purpose": "answer_question"}, {"purpose": "correction", "done": "duplicate"}],
    "search": [{"reference": PERSON[:8]}, {"reference": "ffff"}, {}],
    "find": [{"postal_code": "5003"}, {"postal_code": "50"}],
    "staff_pool": [{}, {"done": "withdraw", "ref": PERSON[:8]}, {"done": "erase", "ref": PERSON[:8]}],
    "staff_groups": [{"done": "confirm", "ref": GROUP[:8]}, {"done": "close"}],
    "staff_group": [{}, {"done": "removed", "ref": PERSON[:8]}, {"done": "started"}, {"done": "handover"}],
    "staff_acquaintances": [{}, {"done": "acquaintances"}],
    "staff_proposals": [{"done": "reject", "ref": GROUP[:8]}],
    "referrer_home": [{}, {"done": "sent"}, {"done": "withdrawn", "ref": PERSON[:8]}],
    "person_confirm": [{}],
}
#: Forms sent with mistakes, so their errors show (by route name).
FORMS = {
    "register_submit": {"birth_year": "2011", "phone": "123"},
    "referrer_submit": {"birth_year": "19x0"},
    "login_submit": {"email": "nobody@example.no", "password": "wrong"},
    "staff_confirm": {"meeting_place_id": "", "first_meeting_at": "soon", "starter_id": ""},
    "staff_reject": {"reason": "bored"},
    "directory_submit": {"name": "", "min_size": "five", "max_size": "8"},
}


class Visible(HTMLParser):
    """The text a reader meets: text nodes and alt/title/aria-label/placeholder, except what is
    marked as English (lang="en") or is not shown (script, style)."""

    SHOWN_ATTRIBUTES = ("alt", "title", "aria-label", "placeholder")
    VOID = {"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self, page):
        super().__init__()
        self.parts, self.stack = [], []
        self.feed(page)

    def _english(self):
        return any(lang == "en" or tag in ("script", "style") for tag, lang in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            return
        inherited = self.stack[-1][1] if self.stack else None
        if tag not in self.VOID:
            self.stack.append((tag, attrs.get("lang", inherited)))
        if not self._english() and attrs.get("lang", inherited) != "en":
            self.parts += [attrs[a] for a in self.SHOWN_ATTRIBUTES if attrs.get(a)]

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if not self._english():
            self.parts.append(data)

    @property
    def text(self):
        return " ".join(" ".join(self.parts).split())


def problems_in(text):
    """English words, UUIDs and ISO dates found in a text: [] when it is clean."""
    found = [f"English word «{w}»" for w in WORD.findall(ADDRESS.sub(" ", text)) if w.lower() in ENGLISH]
    found += [f"UUID «{u}»" for u in UUID.findall(text)]
    found += [f"ISO date «{d}»" for d in ISO_DATE.findall(text)]
    found += [f"text key «{k}»" for k in TRANSLATION_KEY.findall(text)]
    return found


def seed(service):
    for name, methods in SEEDED.items():
        for method, value in methods.items():
            getattr(getattr(service, name), method).return_value = json.loads(json.dumps(value))


def caller_for(route, callers):
    for role in ("public", "national_admin", "contact_point_staff", "referrer", "integration", "participant"):
        if role in route.roles:
            return callers[role]
    raise AssertionError(f"{route.path}: no caller the language test can be for ({route.roles})")


def concrete(route):
    values = {**PATH_VALUES, **(route.path_example or {})}
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: values[m.group(1)], route.path)


PAGES = [r for r in ROUTES if r.kind == "page"]
CASES = [
    (route, lang, query)
    for route in PAGES
    for lang in ("nb", "nn")
    for query in (QUERIES.get(route.name, [{}]) if route.method == "GET" else [{}])
]


@pytest.fixture(scope="module")
def world():
    service, store = gateway()
    callers = {
        "public": Caller(service, store),
        "national_admin": Caller(service, store, "national_admin", name="Nora"),
        "contact_point_staff": Caller(
            service, store, "contact_point_staff", name="Sigrid", contact_point_ids=["link-bergen"]
        ),
        "referrer": Caller(service, store, "referrer", name="Rune", referrer_id="ref-1"),
        "integration": Caller(service, store, "integration", name="Inntak"),
        "participant": Caller(service, store, "participant", registration_id=PERSON),
    }
    return service, callers


@pytest.mark.parametrize("route,lang,query", CASES, ids=[f"{r.method} {r.path} {lang} {q}" for r, lang, q in CASES])
def test_every_page_in_bokmal_and_nynorsk_is_free_of_english_uuids_and_iso_dates(world, route, lang, query):
    service, callers = world
    seed(service)
    caller = caller_for(route, callers)
    if route.method == "POST":
        response = caller("POST", f"{concrete(route)}?lang={lang}", form=FORMS.get(route.name, {}))
    else:
        response = caller("GET", concrete(route), query={**query, "lang": lang})
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    if response.status_code in (301, 302, 303):
        return  # a redirect has no page of its own: the page it leads to is a case of its own
    page = response.get_data(as_text=True)
    if response.mimetype == "text/csv":  # a download: its words as they are
        assert problems_in(page) == [], route.path
        return
    assert response.mimetype == "text/html", route.path
    assert f'<html lang="{lang}">' in page
    assert problems_in(Visible(page).text) == [], route.path


@pytest.mark.parametrize("lang", ["nb", "nn"])
def test_a_services_error_codes_are_in_the_pages_language_and_an_unknown_code_is_logged(world, lang, caplog):
    service, callers = world
    seed(service)
    staff = callers["contact_point_staff"]
    form = {"meeting_place_id": "group-room", "first_meeting_at": "2030-01-08T18:00", "starter_id": "st-1"}
    for code, words in (("capacity_too_small", {"nb": "Rommet er for lite", "nn": "Rommet er for lite"}),):
        service.matching.confirm_group.side_effect = RemoteError(
            "InvalidInput", json.dumps({"meeting_place_id": [code]})
        )
        page = staff("POST", f"/staff/link-bergen/groups/{GROUP}/confirm?lang={lang}", form=form).get_data(as_text=True)
        assert words[lang] in page and problems_in(Visible(page).text) == []
    service.matching.confirm_group.side_effect = RemoteError("InvalidInput", json.dumps({"starter_id": ["on_leave"]}))
    page = staff("POST", f"/staff/link-bergen/groups/{GROUP}/confirm?lang={lang}", form=form).get_data(as_text=True)
    assert texts(lang)["err_starter_id"] in page  # the field's own words, where the code has none
    assert [r.error for r in caplog.records if r.getMessage() == "error code without words"] == ["on_leave"]
    service.matching.confirm_group.side_effect = None


def test_the_check_finds_english_uuids_and_iso_dates_and_leaves_norwegian_alone():
    assert problems_in("Fem personer kan møtes tirsdag kveld. Den som har ventet lengst, har ventet 34 dager.") == []
    assert problems_in("Sju personar kan møtast tysdag kveld og har sorg som felles tema.") == []
    assert problems_in(f"5 people ({PERSON}) can meet Tuesday evening, 2026-12-08") == [
        "English word «people»",
        "English word «can»",
        "English word «meet»",
        "English word «Tuesday»",
        "English word «evening»",
        f"UUID «{PERSON}»",
        "ISO date «2026-12-08»",
    ]
    assert len(ENGLISH) >= 300
    assert problems_in("Del lenken: https://flokk.example/register?cohort=7KQ2M9XH3D") == []  # an address
    assert "text key «done_started»" in problems_in("Ferdig: done_started")
    assert Visible('<p>Språk: <a lang="en" href="?lang=en">English</a></p>').text == "Språk:"


#: The codes services raise themselves (besides those `coded` gives marshmallow's messages).
RAISED_CODES = (
    "capacity_too_small",
    "date_in_past",
    "place_lacks_access",
    "unknown_meeting_place",
    "same_person",
    "key_reused",
    "key_erased",
    "cannot_change",
    "consent_channel",
    "place_kind_mismatch",
    "before_first_meeting",
    "not_member",
    "too_many",
    "not_contact",
    "unknown_contact_point",
    "contact_point_closed",
    "cohort_closed",
    "invalid_reference",
    "invalid_year",
    "national_office_not_assignable",
    "themed_sender_name",
)


@pytest.mark.parametrize("lang", ["nb", "nn", "en"])
def test_every_error_code_the_services_give_has_words_in_each_language(lang):
    known = texts(lang)
    codes = {code for _, code in MESSAGE_CODES} | set(RAISED_CODES)
    assert sorted(c for c in codes if f"code_{c}" not in known and c not in known) == []
    if lang != "en":
        assert [c for c in codes if problems_in(known.get(f"code_{c}", known.get(c, "")))] == []


def test_marshmallows_messages_become_codes_and_a_code_stays_as_it_is():
    assert coded({"phone": ["Must be a Norwegian mobile number: +47 and 8 digits."], "x": {"0": ["date_in_past"]}}) == {
        "phone": ["not_norwegian_mobile"],
        "x": {"0": ["date_in_past"]},
    }
    assert coded(["Holds 4; the group needs room for 5.", "Missing data for required field."]) == [
        "invalid",  # a sentence nobody gave a code: no value crosses
        "required",
    ]


GATEWAY = Path(__file__).resolve().parents[2] / "services" / "gateway"
NOTIFICATION_TEMPLATES = Path(__file__).resolve().parents[2] / "services" / "notification" / "templates"


def nynorsk_texts():
    """{where: text} of every nynorsk text: translations, message templates, information and consent."""
    found = {f"nn.json {key}": value for key, value in texts("nn").items()}
    found.update({path.name: path.read_text(encoding="utf-8") for path in NOTIFICATION_TEMPLATES.glob("*.nn.txt")})

    def walk(value, where, nynorsk):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, f"{where}.{key}", nynorsk or key == "nn")
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                walk(inner, f"{where}[{index}]", nynorsk)
        elif nynorsk and isinstance(value, str):
            found[where] = value

    for path in (GATEWAY / "content").glob("*.json"):
        if path.name != "glossary.json":
            walk(json.loads(path.read_text(encoding="utf-8")), path.name, False)
    return found


def test_nynorsk_keeps_to_the_glossary():
    glossary = json.loads((GATEWAY / "content" / "glossary.json").read_text(encoding="utf-8"))
    avoided = [re.compile(rf"(?<!\w){re.escape(form)}(?!\w)", re.I) for form in glossary["avoid_in_nn"]]
    nynorsk = nynorsk_texts()
    assert len(nynorsk) > 400 and any(name.endswith(".nn.txt") for name in nynorsk)
    wrong = [(where, form.pattern) for where, text in nynorsk.items() for form in avoided if form.search(text)]
    assert wrong == []
    assert texts("nn")["status_confirmed"] == "Stadfesta"  # the participle, not «stadfestar»
    assert avoided[1].search("Gruppen er klar") and not avoided[1].search("Gruppene er klare")
