"""The server-rendered pages: forms that work without JavaScript, errors tied to their fields,
three languages, CSRF on every form."""

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from nameko.exceptions import RemoteError

from services.gateway.context import ANON_CSRF_COOKIE, SESSION_COOKIE
from tests.fakes.gateway import GROUP_VIEW, PASSWORD, Caller, cookies_set, gateway, request
from tests.page_text import foreign_text

GATEWAY = Path(__file__).resolve().parents[2] / "services" / "gateway"
FORM = {
    "name": "Kari",
    "email": "kari@example.no",
    "phone": "912 34 567",
    "postal_code": "5003",
    "role": "self",
    "themes": ["grief", "loneliness"],
    "language": "nb",
    "availability": ["tue-evening", "thu-morning"],
    "open_to_mixed": "yes",
    "consent": "yes",
    "idempotency_key": "web-abc",
}


class Elements(HTMLParser):
    def __init__(self, html):
        super().__init__()
        self.elements = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def all(self, tag):
        return [attrs for t, attrs in self.elements if t == tag]


def html(response):
    return response.get_data(as_text=True)


def test_the_three_languages_have_the_same_texts_and_every_text_a_page_asks_for():
    tables = {lang: json.loads((GATEWAY / "translations" / f"{lang}.json").read_text()) for lang in ("nb", "nn", "en")}
    assert set(tables["nb"]) == set(tables["nn"]) == set(tables["en"])
    used = set()
    for template in (GATEWAY / "templates").glob("*.html"):
        used |= set(re.findall(r"\bt\('([a-z0-9_]+)'\s*[,)]", template.read_text()))
    assert used and used <= set(tables["nb"]), used - set(tables["nb"])


def test_bokmal_by_default_nynorsk_and_english_on_request_and_remembered():
    service, store = gateway()
    assert '<html lang="nb">' in html(request(service, "GET", "/register"))
    nynorsk = request(service, "GET", "/register", query={"lang": "nn"})
    assert '<html lang="nn">' in html(nynorsk) and "Meld deg på ei sjølvhjelpsgruppe" in html(nynorsk)
    assert cookies_set(nynorsk)["lang"] == "nn"
    english = request(service, "GET", "/register", headers={"Cookie": "lang=en"})
    assert "Sign up for a self-help group" in html(english)


def test_every_form_control_of_the_public_form_has_a_label_and_the_form_needs_no_script():
    service, store = gateway()
    page = html(request(service, "GET", "/register"))
    parsed = Elements(page)
    labelled = {attrs.get("for") for attrs in parsed.all("label")}
    controls = [
        a for a in parsed.all("input") + parsed.all("select") + parsed.all("textarea") if a.get("type") != "hidden"
    ]
    assert controls and all(c["id"] in labelled for c in controls), [c for c in controls if c["id"] not in labelled]
    assert "<script" not in page
    [form] = [f for f in parsed.all("form") if f.get("action") == "/register"]
    assert form["method"] == "post"
    assert 'href="#main"' in page  # skip link


def anonymous_post(service, path, form, csrf="t0k"):
    """A form post as a browser sends it: the double-submit cookie and the same token in the form."""
    return request(
        service, "POST", path, form={**form, "csrf_token": csrf}, headers={"Cookie": f"{ANON_CSRF_COOKIE}={csrf}"}
    )


def test_registering_through_the_public_form():
    service, store = gateway()
    response = anonymous_post(service, "/register", FORM)
    assert response.status_code == 201 and "Takk, vi har fått påmeldingen din" in html(response)
    payload, actor = service.registration.register.call_args.args
    assert actor["role"] == "public"  # the public form's calls are signed with role public
    assert payload["phone"] == "+4791234567" and payload["themes"] == ["grief", "loneliness"]
    assert payload["availability"] == [
        {"weekday": "tue", "part_of_day": "evening"},
        {"weekday": "thu", "part_of_day": "morning"},
    ]
    assert payload["consent"]["channel"] == "self" and payload["idempotency_key"] == "web-abc"
    assert payload["message_language"] == "nb" and payload["open_to_mixed"] is True


def test_form_errors_are_listed_and_tied_to_their_fields_and_what_was_typed_stays():
    service, store = gateway()
    response = anonymous_post(service, "/register", {**FORM, "phone": "123", "themes": [], "consent": ""})
    page = html(response)
    assert response.status_code == 400 and not service.registration.register.called
    assert 'class="error-summary" role="alert"' in page
    for field in ("phone", "themes", "consent"):
        assert f'href="#{field}"' in page and f'id="{field}-error"' in page
    phone = next(a for a in Elements(page).all("input") if a.get("id") == "phone")
    assert phone["aria-invalid"] == "true" and "phone-error" in phone["aria-describedby"] and phone["value"] == "123"
    assert "Du må samtykke" in page


def test_errors_from_the_registration_service_land_on_their_field():
    service, store = gateway()
    service.registration.register.side_effect = RemoteError(
        "InvalidInput", json.dumps({"postal_code": ["Unknown postal code."]})
    )
    page = html(anonymous_post(service, "/register", FORM))
    assert 'id="postal_code-error"' in page and "Skriv et postnummer som finnes, med fire sifre." in page


def test_a_form_without_its_csrf_token_is_refused():
    service, store = gateway()
    response = request(service, "POST", "/register", form=FORM, headers={"Cookie": f"{ANON_CSRF_COOKIE}=a"})
    assert response.status_code == 403 and not service.registration.register.called
    form_page = request(service, "GET", "/register")
    token = cookies_set(form_page)[ANON_CSRF_COOKIE]
    assert f'name="csrf_token" value="{token}"' in html(form_page)


def test_signing_in_on_the_page_lands_staff_on_their_pool():
    service, store = gateway()
    Caller(service, store, "contact_point_staff", email="s@example.no", contact_point_ids=["link-bergen"])
    response = anonymous_post(service, "/login", {"email": "s@example.no", "password": PASSWORD, "next": ""})
    assert response.status_code == 303 and response.headers["Location"].endswith("/staff/link-bergen/pool")
    assert SESSION_COOKIE in cookies_set(response)
    wrong = anonymous_post(service, "/login", {"email": "s@example.no", "password": "x"})
    assert wrong.status_code == 401 and "Feil e-postadresse eller passord." in html(wrong)
    off_site = anonymous_post(service, "/login", {"email": "s@example.no", "password": PASSWORD, "next": "//evil"})
    assert off_site.headers["Location"].endswith("/staff/link-bergen/pool")


def test_a_page_for_the_signed_in_sends_the_public_to_sign_in():
    service, store = gateway()
    response = request(service, "GET", "/staff/link-bergen/pool")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login?next=/staff/link-bergen/pool")


def test_staff_see_proposals_with_their_explanation_and_confirm_one():
    service, store = gateway()
    staff = Caller(service, store, "contact_point_staff", contact_point_ids=["link-bergen"])
    page = html(staff("GET", "/staff/link-bergen/proposals"))
    assert (
        "<p>Fem personer kan møtes tirsdag kveld og har sorg som felles tema.</p>"
        "<p>Den som har ventet lengst, har ventet 34 dager.</p><p>Ingenting er lempet på.</p>"
    ) in page
    assert "Tirsdag kveld" in page and "Five people" not in page  # matching's English summary is not shown
    assert '<option value="group-room">Grupperommet (10 plasser)</option>' in page  # the directory's places
    assert '<option value="st-1">Kristin</option>' in page and "Jonas" not in page  # starters only
    response = staff(
        "POST",
        "/staff/link-bergen/groups/grp-1/confirm",
        form={"meeting_place_id": "mp-1", "first_meeting_at": "2026-12-01T18:00", "starter_id": "st-1"},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/link-bergen/groups?done=confirm&ref=grp-1"
    group_id, confirmation, actor = service.matching.confirm_group.call_args.args
    assert confirmation == {
        "meeting_place_id": "mp-1",
        "first_meeting_at": "2026-12-01T18:00:00+01:00",
        "starter_id": "st-1",
    }
    bad = staff(
        "POST",
        "/staff/link-bergen/groups/grp-1/confirm",
        form={"meeting_place_id": "mp-1", "first_meeting_at": "soon", "starter_id": ""},
    )
    assert bad.status_code == 400
    assert 'id="first_meeting_at-grp-1-error"' in html(bad) and 'id="starter_id-grp-1-error"' in html(bad)
    assert 'href="#starter_id-grp-1">Skriv hvem som er igangsetter.' in html(bad)


def test_the_groups_page_shows_each_groups_state_and_where_it_meets():
    service, store = gateway()
    staff = Caller(service, store, "contact_point_staff", contact_point_ids=["link-bergen"])
    page = html(staff("GET", "/staff/link-bergen/groups"))
    assert "<td>Startet</td>" in page and "<td>Grupperommet</td>" in page
    assert "tirsdag 8. desember 2026 kl. 18.00" in page  # 17:00 UTC is 18:00 in Oslo, as participants are told
    assert "2026-12-08" not in page


def test_staff_reject_with_a_reason():
    service, store = gateway()
    staff = Caller(service, store, "contact_point_staff", contact_point_ids=["link-bergen"])
    response = staff("POST", "/staff/link-bergen/groups/grp-1/reject", form={"reason": "no_room"})
    assert response.status_code == 303
    assert service.matching.reject_group.call_args.args[:2] == ("grp-1", "no_room")


SUPERSEDED = (
    "proposal_superseded: proposal grp-1 was replaced by grp-2, which keeps all of its people; review that one instead."
)


@pytest.mark.parametrize(
    "lang,words",
    [
        ("nb", "Forslaget er erstattet av et nytt forslag med de samme personene"),
        ("nn", "Forslaget er bytt ut med eit nytt forslag med dei same personane"),
        ("en", "This proposal was replaced by a new one with the same people"),
    ],
)
def test_a_proposal_a_new_one_replaced_is_refused_in_the_pages_language_with_the_way_to_the_new_one(lang, words):
    service, store = gateway()
    staff = Caller(service, store, "contact_point_staff", contact_point_ids=["link-bergen"])
    service.matching.confirm_group.side_effect = RemoteError("Conflict", SUPERSEDED)
    service.matching.reject_group.side_effect = RemoteError("Conflict", SUPERSEDED)
    form = {"meeting_place_id": "group-room", "first_meeting_at": "2030-01-08T18:00", "starter_id": "st-1"}
    confirmed = staff("POST", f"/staff/link-bergen/groups/grp-1/confirm?lang={lang}", form=form)
    rejected = staff("POST", f"/staff/link-bergen/groups/grp-1/reject?lang={lang}", form={"reason": "no_room"})
    for response in (confirmed, rejected):
        assert response.status_code == 409 and words in html(response)
        assert 'href="/staff/link-bergen/proposals"' in html(response) and "grp-2" not in html(response)
    assert [e["outcome"] for e in store.entries if e["action"] == "staff_confirm"] == ["failed"]
    service.matching.confirm_group.side_effect = RemoteError("Conflict", "group grp-1 changed meanwhile")
    other = staff("POST", "/staff/link-bergen/groups/grp-1/confirm", form=form)
    assert other.status_code == 409 and "Forslaget er erstattet" not in html(other)  # only the coded conflict


def test_the_national_page_marks_the_figures_matching_hides_and_offers_the_csv():
    service, store = gateway()
    admin = Caller(service, store, "national_admin")
    page = html(admin("GET", "/national", query={"period": "2026-Q4"}))
    assert 'href="/national/figures.csv?period=2026-Q4"' in page and "<abbr" in page and "Hele landet" in page
    assert ">9,3<" in page and ">1,4<" in page  # coverage in Vestland and nationwide, Norwegian style
    assert ">60,2<" in page  # Vestland's share of the inhabitants
    assert "Svalbard og Jan Mayen" in page and 'value="2026-Q4" selected' in page
    csv_text = admin("GET", "/national/figures.csv", query={"period": "2026-Q4"}).get_data(as_text=True)
    assert csv_text.splitlines()[0].startswith("Område,Fylkesnummer,Venter")
    assert csv_text.splitlines()[-1].startswith("Hele landet,") and "national" not in csv_text  # the total row
    assert admin("GET", "/national", query={"period": "last year"}).status_code == 400


def test_the_national_page_draws_waiting_time_per_county_without_a_script():
    service, store = gateway()
    page = html(Caller(service, store, "national_admin")("GET", "/national", query={"period": "2026-Q4", "lang": "en"}))
    chart = page[page.index("<svg") : page.index("</svg>")]
    assert 'role="img"' in chart and "<title" in chart and "Waiting time per county, 2026-Q4" in chart
    assert chart.count("<rect") == 2  # Vestland and the nation have a median; Oslo and Trøndelag have none
    assert ">31.5<" in chart and "<script" not in page


def test_a_contact_points_staff_see_its_figures_for_a_year():
    service, store = gateway()
    staff = Caller(service, store, "contact_point_staff", contact_point_ids=["link-bergen"])
    page = html(staff("GET", "/staff/link-bergen/figures", query={"year": "2026"}))
    assert "Tall for 2026" in page and 'href="/api/contact-points/link-bergen/figures.csv?year=2026"' in page
    assert 'href="/staff/link-bergen/figures" aria-current="page"' in page
    admin = Caller(service, store, "national_admin")
    assert "/figures" not in html(admin("GET", "/staff/link-bergen/pool")).split("<main")[1].split("</nav>")[0]


def test_find_your_contact_point_page():
    service, store = gateway()
    page = html(request(service, "GET", "/find", query={"postal_code": "5003"}))
    assert "LINK Bergen og omegn" in page and "Bergen" in page
    bad = request(service, "GET", "/find", query={"postal_code": "50"})
    assert bad.status_code == 400 and 'aria-invalid="true"' in html(bad)


def test_staff_say_why_before_they_see_a_person_and_the_why_is_audited():
    service, store = gateway()
    staff = Caller(service, store, "contact_point_staff", contact_point_ids=["link-bergen"])
    ask = staff("GET", "/staff/link-bergen/people/reg-1")
    assert "Hvorfor trenger du" in html(ask) and not service.registration.get_registration.called
    assert not store.entries
    unexplained = staff("GET", "/staff/link-bergen/people/reg-1/details")
    assert unexplained.status_code == 303 and not service.registration.get_registration.called
    shown = staff("GET", "/staff/link-bergen/people/reg-1/details", query={"purpose": "answer_question"})
    assert "Kari" in html(shown) and shown.headers["Cache-Control"] == "no-store"
    assert service.registration.get_registration.call_args.args[-1]["purpose"] == "answer_question"
    assert [(e["subject_id"], e["purpose"], e["outcome"]) for e in store.entries] == [
        ("reg-1", "answer_question", "allowed")
    ]


def test_staff_withdraw_a_person_from_the_page():
    service, store = gateway()
    staff = Caller(service, store, "contact_point_staff", contact_point_ids=["link-bergen"])
    response = staff("POST", "/staff/link-bergen/people/reg-1/withdraw", form={})
    assert response.status_code == 303
    registration_id, actor, reason = service.registration.withdraw.call_args.args
    assert (registration_id, reason, actor["role"]) == ("reg-1", "staff", "contact_point_staff")


NEW_PAGES = [
    ("participant", "/me"),
    ("participant", "/me/change"),
    ("participant", "/me/avoid"),
    ("participant", "/me/erase"),
    ("participant", "/me/check-ins/chk-1"),
    (None, "/me/new-link"),
    (None, "/me"),  # the page of every bad link, with its form
    ("contact_point_staff", "/staff/link-bergen/groups/grp-1"),
    ("contact_point_staff", "/staff/link-bergen/acquaintances"),
    ("contact_point_staff", "/staff/link-bergen/directory/meeting-places"),
    ("referrer", "/referrer/cohorts"),
]


@pytest.mark.parametrize("role,path", NEW_PAGES)
def test_every_control_of_the_new_pages_has_a_label_and_a_unique_id_and_no_page_has_a_script(role, path):
    service, store = gateway()
    service.matching.group_view.return_value = {**GROUP_VIEW, "state": "started"}  # with the handover form
    page = html(new_page_caller(service, store, role)("GET", path))
    parsed = Elements(page)
    ids = [attrs["id"] for _, attrs in parsed.elements if "id" in attrs]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    labelled = {attrs.get("for") for attrs in parsed.all("label")}
    controls = [
        a for a in parsed.all("input") + parsed.all("select") + parsed.all("textarea") if a.get("type") != "hidden"
    ]
    assert controls and all(c["id"] in labelled for c in controls), [c for c in controls if c["id"] not in labelled]
    assert "<script" not in page and all(  # only a search reads with GET
        f.get("method") == "post"
        for f in parsed.all("form")
        if f.get("action") != "/find" and f.get("role") != "search"
    )


def test_the_pool_and_the_referrers_page_write_dates_in_the_page_s_language_not_iso():
    service, store = gateway()
    staff = Caller(service, store, "contact_point_staff", contact_point_ids=["link-bergen"])
    pool = html(staff("GET", "/staff/link-bergen/pool"))
    assert "1. november 2026" in pool and "2026-11-01" not in pool
    referrer = html(Caller(service, store, "referrer")("GET", "/referrer"))
    assert "28. november 2026" in referrer and "2026-11-28" not in referrer


def new_page_caller(service, store, role):
    return Caller(service, store, role, **({"contact_point_ids": ["link-bergen"]} if role else {}))


@pytest.mark.parametrize("lang", ["nb", "nn"])
@pytest.mark.parametrize("role,path", NEW_PAGES)
def test_the_new_pages_in_norwegian_show_no_english_no_id_no_iso_date_and_no_text_key(role, path, lang):
    service, store = gateway()
    service.matching.group_view.return_value = {**GROUP_VIEW, "state": "started"}  # with the handover form
    page = html(new_page_caller(service, store, role)("GET", path, query={"lang": lang}))
    main = page[page.index("<main") : page.index("</main>")]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main))
    assert foreign_text(text) is None, foreign_text(text)


@pytest.mark.parametrize("lang,words", [("nb", "Det kan ikke nevne et tema"), ("nn", "Det kan ikkje nemne eit tema")])
def test_a_sender_name_that_names_a_theme_comes_back_on_its_field_in_the_pages_language(lang, words):
    service, store = gateway()
    staff = Caller(service, store, "contact_point_staff", contact_point_ids=["link-bergen"])
    service.directory.update_contact_point.side_effect = RemoteError(
        "InvalidInput", json.dumps({"sender_name": ["themed_sender_name"]})
    )
    form = {"name": "LINK Bergen og omegn", "sender_name": "Kreftforeningen Vest", "languages": "nb"}
    response = staff("POST", f"/staff/link-bergen/directory?lang={lang}", form=form)
    page = html(response)
    assert response.status_code == 400 and words in page
    assert 'id="sender_name-error"' in page and 'href="#sender_name"' in page
    assert service.directory.update_contact_point.call_args.args[1]["sender_name"] == "Kreftforeningen Vest"
