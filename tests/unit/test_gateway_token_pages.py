"""The national office's pages for API tokens (issue 17, item 3): the list in the page's language
(Norwegian dates, Oslo time, no id), a new token shown once with its lifetime of 1–365 days, and
revoking one after the shared confirming step with a notice afterwards; audited as the API is."""

import re
from datetime import UTC, datetime

import pytest

from services.common import clock
from services.gateway import auth
from tests.fakes.gateway import Caller, gateway
from tests.page_text import foreign_text
from tests.unit.test_gateway_web import html

#: 23:30 UTC is already the next day in Oslo (UTC+1 in winter).
T0 = datetime(2026, 11, 28, 23, 30, tzinfo=UTC)


@pytest.fixture
def world():
    with clock.use(clock.FixedClock(T0)) as fixed:
        service, store = gateway()
        admin = Caller(service, store, "national_admin", email="kontoret@example.no", name="Kontoret")
        system = Caller(service, store, "contact_point_staff", email="inntak@example.no", name="Inntak")
        yield service, store, admin, system, fixed


def main_text(page):
    main = page[page.index("<main") : page.index("</main>")]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main))


def new_token(admin, **form):
    return admin("POST", "/national/tokens", form={"email": "inntak@example.no", "label": "inntaksystemet", **form})


def test_a_new_token_is_shown_once_with_its_expiry_and_works(world):
    service, store, admin, _, _ = world
    created = new_token(admin, expires_in_days="30")
    assert created.status_code == 201 and created.headers["Cache-Control"] == "no-store"
    token = re.search(r'id="new-token" value="(flk_[^"]+)"', html(created)).group(1)
    assert "Den virker til tirsdag 29. desember 2026 kl. 00.30." in main_text(html(created))  # Oslo time
    assert token not in html(admin("GET", "/national/tokens"))  # once
    record = store.token_records[auth.digest(token)]
    assert (record["expires_at"] - T0).days == 30 and record["label"] == "inntaksystemet"
    assert [(e["action"], e["subject_id"]) for e in store.entries if e["action"] == "create_token"] == [
        ("create_token", record["account_id"])
    ]


def test_without_a_lifetime_a_token_lives_90_days(world):
    _, store, admin, _, _ = world
    assert new_token(admin).status_code == 201
    (record,) = store.token_records.values()
    assert (record["expires_at"] - T0).days == 90


@pytest.mark.parametrize(
    "form, field, message",
    [
        ({"expires_in_days": "0"}, "expires_in_days", "fra 1 til 365"),
        ({"expires_in_days": "366"}, "expires_in_days", "fra 1 til 365"),
        ({"expires_in_days": "tretti"}, "expires_in_days", "fra 1 til 365"),
        ({"label": ""}, "label", "Skriv et navn på nøkkelen"),
        ({"email": ""}, "email", "Skriv e-postadressen til kontoen"),
        ({"email": "ingen@example.no"}, "email", "Ingen åpen konto"),
    ],
)
def test_a_bad_form_names_the_field_and_makes_no_token(world, form, field, message):
    _, store, admin, _, _ = world
    refused = new_token(admin, **form)
    page = html(refused)
    assert refused.status_code == 400 and message in page
    assert f'id="{field}"' in page and f'href="#{field}"' in page and 'aria-invalid="true"' in page
    assert store.token_records == {} and not any(e["action"] == "create_token" for e in store.entries)


@pytest.mark.parametrize("lang", ["nb", "nn"])
def test_the_list_says_whose_when_and_last_use_in_norwegian_words_and_shows_no_id(world, lang):
    service, store, admin, system, fixed = world
    new_token(admin, expires_in_days="365")
    (record,) = store.token_records.values()
    fixed.advance(days=3)
    store.account_for_token(next(iter(store.token_records)))  # used once, on 2 December
    page = html(admin("GET", "/national/tokens", query={"lang": lang}))
    text = main_text(page)
    assert "inntaksystemet" in text and "inntak@example.no" in text
    assert "29. november 2026" in text and "29. november 2027" in text and "onsdag 2. desember 2026 kl. 00.30" in text
    assert foreign_text(text, names=("inntaksystemet", "inntak@example.no")) is None, foreign_text(text)
    assert record["token_id"] not in text and record["account_id"] not in text
    assert f'href="/national/tokens/{record["token_id"]}/revoke"' in page
    assert 'href="/national/tokens" aria-current="page"' in page


def test_revoking_asks_first_then_says_it_is_done_and_the_token_stops_working(world):
    service, store, admin, _, _ = world
    token = re.search(r'value="(flk_[^"]+)"', html(new_token(admin))).group(1)
    (record,) = store.token_records.values()
    path = f"/national/tokens/{record['token_id']}/revoke"
    asking = html(admin("GET", path))
    assert "Vil du trekke tilbake nøkkelen «inntaksystemet»?" in asking and "slutter å virke med en gang" in asking
    assert f'action="{path}"' in asking and 'href="/national/tokens"' in asking
    assert store.token_records  # asking revokes nothing
    done = admin("POST", path, form={})
    assert done.status_code == 303 and done.headers["Location"].endswith("/national/tokens?done=revoked")
    assert "trukket tilbake og virker ikke lenger" in html(admin("GET", "/national/tokens", query={"done": "revoked"}))
    assert store.account_for_token(auth.digest(token)) is None
    assert [e["action"] for e in store.entries if e["action"].endswith("_token")] == ["create_token", "revoke_token"]
    assert admin("GET", path).status_code == 404 and admin("POST", path, form={}).status_code == 404


def test_the_pages_are_the_national_offices_alone(world):
    service, store, _, system, _ = world
    assert system("GET", "/national/tokens").status_code == 403
    assert system("POST", "/national/tokens", form={"email": "inntak@example.no", "label": "x"}).status_code == 403
    assert store.token_records == {}


def test_english_on_request(world):
    _, _, admin, _, _ = world
    new_token(admin)
    text = main_text(html(admin("GET", "/national/tokens", query={"lang": "en"})))
    assert "API tokens" in text and "29 November 2026" in text and "Not used yet" in text
