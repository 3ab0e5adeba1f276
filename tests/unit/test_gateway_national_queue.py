"""The national office's queue through the gateway: the JSON API and the page (search by the
e-mail's reference, assign to a contact point, note a contact), audited like every list of people."""

from nameko.exceptions import RemoteError

from tests.fakes.gateway import QUEUED, Caller, body, gateway
from tests.unit.test_gateway_web import html

RID = QUEUED["registration_id"]


def admin_of():
    service, store = gateway()
    return service, store, Caller(service, store, "national_admin")


def test_the_queue_api_lists_searches_assigns_and_notes_contacts():
    service, store, admin = admin_of()
    assert body(admin("GET", "/api/national-office/queue", query={"reference": "3f2a9c10"})) == [QUEUED]
    assert service.matching.national_queue.call_args.args[0] == "3f2a9c10"
    bad = admin("GET", "/api/national-office/queue", query={"reference": "<b>"})
    assert bad.status_code == 400 and list(body(bad)["error"]["fields"]) == ["reference"]
    assigned = admin("POST", f"/api/national-office/queue/{RID}/assign", json_body={"contact_point_id": "link-bergen"})
    assert assigned.status_code == 200
    assert service.matching.assign_from_queue.call_args.args[:2] == (RID, "link-bergen")
    contacted = admin("POST", f"/api/national-office/queue/{RID}/contacts", json_body={"purpose": "waiting_update"})
    assert contacted.status_code == 201
    assert service.registration.record_contact.call_args.args[:2] == (RID, "waiting_update")
    free_text = admin("POST", f"/api/national-office/queue/{RID}/contacts", json_body={"purpose": "talked a lot"})
    assert free_text.status_code == 400 and list(body(free_text)["error"]["fields"]) == ["purpose"]
    assert [(e["action"], e["subject_id"]) for e in store.entries] == [  # the two refused inputs reached nobody
        ("national_queue", "national-office-queue"),
        ("assign", RID),
        ("contact", RID),
    ]


def test_an_assignment_matching_refuses_names_the_field():
    service, store, admin = admin_of()
    refusal = '{"contact_point_id": ["home_municipality"]}'
    service.matching.assign_from_queue.side_effect = RemoteError("InvalidInput", refusal)
    response = admin("POST", f"/api/national-office/queue/{RID}/assign", json_body={"contact_point_id": "link-bergen"})
    assert response.status_code == 400
    assert body(response)["error"]["fields"]["contact_point_id"] == ["home_municipality"]


def test_the_queue_page_shows_who_waits_how_long_and_why():
    service, store, admin = admin_of()
    page = html(admin("GET", "/national/queue"))
    assert "<code>3f2a9c10</code>" in page and "8 dager" in page and "20. november 2026" in page
    assert "Bor på Svalbard eller Jan Mayen" in page and "Svalbard" in page
    assert f'action="/national/queue/{RID}/assign"' in page and 'value="link-bergen">LINK Bergen og omegn' in page
    assert 'value="offer_digital_group">tilby en digital gruppe' in page
    assert 'href="/national/queue" aria-current="page"' in page
    searched = admin("GET", "/national/queue", query={"reference": "3F2A9C10"})
    assert searched.status_code == 200 and service.matching.national_queue.call_args.args[0] == "3F2A9C10"
    bad = admin("GET", "/national/queue", query={"reference": "<b>"})
    assert bad.status_code == 400 and 'aria-invalid="true"' in html(bad)


def test_the_page_assigns_and_notes_a_contact_then_shows_the_queue_again():
    service, store, admin = admin_of()
    response = admin("POST", f"/national/queue/{RID}/assign", form={"contact_point_id": "link-bergen"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/national/queue?done=assigned")
    response = admin("POST", f"/national/queue/{RID}/contacts", form={"purpose": "clarify_wishes"})
    assert response.status_code == 303 and response.headers["Location"].endswith("?done=contacted")
    done = html(admin("GET", "/national/queue", query={"done": "assigned"}))
    assert "Personen venter nå hos kontaktpunktet" in done


def test_the_page_names_what_is_wrong_next_to_the_field():
    service, store, admin = admin_of()
    empty = admin("POST", f"/national/queue/{RID}/assign", form={"contact_point_id": ""})
    page = html(empty)
    assert empty.status_code == 400 and f'href="#contact_point_id-{RID}"' in page
    assert f'id="contact_point_id-{RID}-error"' in page and "Velg et kontaktpunkt som er åpent" in page
    assert not service.matching.assign_from_queue.called
    refusal = '{"contact_point_id": ["home_municipality"]}'
    service.matching.assign_from_queue.side_effect = RemoteError("InvalidInput", refusal)
    refused = admin("POST", f"/national/queue/{RID}/assign", form={"contact_point_id": "link-bergen"})
    assert refused.status_code == 400 and 'aria-invalid="true"' in html(refused)
    assert "hjemkommune" in html(refused)  # the code in the page's words
    wrong = admin("POST", f"/national/queue/{RID}/contacts", form={"purpose": "free text"})
    assert wrong.status_code == 400 and "Velg hvorfor dere tok kontakt." in html(wrong)
    assert not service.registration.record_contact.called


def test_the_national_offices_waiting_list_points_to_its_queue():
    service, store, admin = admin_of()
    service.directory.get_contact_point.return_value = {
        "contact_point_id": "national-office",
        "kind": "national_office",
        "name": "Nasjonalt kompetansesenter",
    }
    service.matching.pool.return_value = []
    page = html(admin("GET", "/staff/national-office/pool"))
    assert "Ingen venter nå." in page and "nasjonale køen" in page and 'href="/national/queue"' in page
