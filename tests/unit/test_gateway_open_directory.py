"""The open directory through the gateway: anyone reads the contact points and HSDS, a caller who is
not signed in gets the directory's allow-list and the export without staff, and the public pages
(/find and /contact-points/<id>) show how to reach a contact point, in three languages."""

import pytest

from services.common.errors import NotFound
from tests.fakes.gateway import OPEN_BERGEN, Caller, body, gateway, request
from tests.unit.test_gateway_web import Elements, html


def test_an_anonymous_caller_gets_the_open_directory_and_the_signed_in_what_they_always_got():
    service, store = gateway()
    assert body(request(service, "GET", "/api/contact-points/link-bergen")) == OPEN_BERGEN
    service.directory.open_contact_point.assert_called_once_with("link-bergen")
    assert not service.directory.get_contact_point.called
    assert body(request(service, "GET", "/api/contact-points", query={"county_number": "46"})) == [OPEN_BERGEN]
    service.directory.open_contact_points.assert_called_once_with(None, "46", None)
    integration = Caller(service, store, "integration", use_token=True)
    assert "staff" in body(integration("GET", "/api/contact-points/link-bergen"))
    assert "staff" in body(integration("GET", "/api/contact-points"))[0]


def test_anyone_reads_hsds_and_only_the_signed_in_get_its_contacts():
    service, store = gateway()
    assert request(service, "GET", "/api/hsds").status_code == 200
    service.directory.hsds_export.assert_called_with(True)
    Caller(service, store, "referrer", referrer_id="ref-1")("GET", "/api/hsds")
    service.directory.hsds_export.assert_called_with(False)
    table = request(service, "GET", "/api/hsds/organizations.csv")
    assert table.headers["Content-Type"].startswith("text/csv") and table.get_data(as_text=True).startswith("id,")
    service.directory.hsds_export_csv.assert_called_with(True)
    assert request(service, "GET", "/api/hsds/secrets.csv").status_code == 404


def test_the_public_page_of_a_contact_point_shows_how_to_reach_it_and_that_it_is_free():
    service, store = gateway()
    page = html(request(service, "GET", "/contact-points/link-bergen"))
    for shown in (
        "LINK Bergen og omegn",
        "Eksempelgata 3, 5003 Bergen",
        'href="tel:+4700000103"',
        "000 00 103",
        'href="mailto:link-bergen@example.org"',
        "Mandag 09:00–15:00",
        "Norsk (bokmål), Engelsk",
        "Trinnfri adkomst",
        "Det er gratis å delta.",
        "20. november 2026",
        "Grupperommet",
        "LINK-senter for selvhjelp",
    ):
        assert shown in page, shown
    assert [h for h in Elements(page).all("h1")] and "<script" not in page
    english = html(request(service, "GET", "/contact-points/link-bergen", query={"lang": "en"}))
    assert "Taking part is free." in english and "20 November 2026" in english
    nynorsk = html(request(service, "GET", "/contact-points/link-bergen", query={"lang": "nn"}))
    assert "Det er gratis å vere med." in nynorsk


def test_an_unknown_or_closed_contact_point_has_no_public_page():
    service, store = gateway()
    service.directory.open_contact_point.side_effect = NotFound("no contact point 'gone'")
    assert request(service, "GET", "/contact-points/gone").status_code == 404


def test_find_shows_how_to_reach_each_contact_point_and_the_national_office():
    service, store = gateway()
    national = {"kind": "national_office", "contact_point_id": "national-office", "reason": "no route"}
    service.directory.route.return_value = [
        {"kind": "contact_point", "contact_point_id": "link-bergen", "distance_km": 12.4, "reason": "serves Bergen"},
        national,
    ]
    page = html(request(service, "GET", "/find", query={"postal_code": "5003"}))
    assert 'href="/contact-points/link-bergen"' in page and "Omtrent 12 km unna." in page
    assert "Eksempelgata 3" in page and "Det er gratis å delta." in page and "Sist oppdatert" in page
    assert "Nasjonalt kompetansesenter for selvorganisert selvhjelp" in page
    service.directory.open_contact_point.assert_called_once_with("link-bergen")


@pytest.mark.parametrize("lang, text", [("nb", "Trinnfri adkomst"), ("nn", "Trinnfri tilkomst"), ("en", "Step-free")])
def test_find_speaks_the_three_languages(lang, text):
    service, store = gateway()
    assert text in html(request(service, "GET", "/find", query={"postal_code": "5003", "lang": lang}))
