"""The whole system behind the gateway: all five services on the real broker and store, called
over real HTTP, with a real SMTP server. What the gateway shows must be what the services
answer: the pool, proposals and groups of matching, a staff confirmation that ends in
invitations, a referrer's statuses and the message that tells them, national figures and
coverage."""

import email
import email.policy
from datetime import UTC, datetime, timedelta

import pytest
from nameko.testing.utils import find_free_port

from services.directory.domain import OPEN_FIELDS, OPEN_MEETING_PLACE_FIELDS
from services.directory.example import example_payloads
from services.directory.service import DirectoryService
from services.gateway.service import GatewayService
from services.matching.service import MatchingService
from services.notification.service import NotificationService
from services.registration.service import RegistrationService
from tests.integration.test_gateway import Http, accounts_cli
from tests.integration.test_notification_delivery import start_process
from tests.samples import intake
from tests.unit.test_directory_hsds import assert_valid_hsds
from tests.waiting import wait_until

SERVICES = (DirectoryService, RegistrationService, MatchingService, NotificationService, GatewayService)
BERGEN = next(cp for cp in example_payloads() if cp["contact_point_id"] == "link-bergen")
INVITATION = "Velkommen til første møte"


class System:
    def __init__(self, http, config, mail_dir):
        self.http, self.config, self.mail_dir = http, config, mail_dir

    def token(self, email_address, role, *extra):
        """A new account with an API token: the header to send."""
        lines = accounts_cli(self.config, "create", "--email", email_address, "--role", role, *extra, "--token")
        return {"Authorization": f"Bearer {lines[1]}"}

    def mails(self, to=None):
        found = [
            email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted(self.mail_dir.glob("*.eml"))
        ]
        return [m for m in found if to is None or m["To"] == to]


def text_of(mail):
    return mail.get_body(preferencelist=("plain",)).get_content()


@pytest.fixture
def system(container_factory, service_config, tmp_path):
    smtp_port, web_port = find_free_port(), find_free_port()
    smtp = start_process("smtp_sink.py", smtp_port, "--maildir", tmp_path / "mail")
    config = {
        **service_config,
        "WEB_SERVER_ADDRESS": f"127.0.0.1:{web_port}",
        "FLOKK_RATE_LIMIT": "1000/60",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp_port,
    }
    for cls in SERVICES:  # every consumer queue is bound before the first event
        container_factory(cls, config).start()
    running = System(Http(web_port), config, tmp_path / "mail")
    admin = running.token("admin@example.no", "national_admin")
    status, stored = running.http.json("PUT", "/api/contact-points/link-bergen", BERGEN, admin)
    assert status == 200 and stored["revision"] == 1, stored
    running.admin = admin
    yield running
    smtp.terminate()
    smtp.wait(timeout=10)


def test_staff_see_the_pool_confirm_the_proposal_and_the_five_are_invited(system):
    http = system.http
    people = [intake(name=f"Deltaker{n} Etternavn", email=f"deltaker{n}@example.no") for n in range(5)]
    ids = [http.json("POST", "/api/registrations", data)[1]["registration_id"] for data in people[:4]]
    staff = system.token("siri@example.no", "contact_point_staff", "--contact-point", "link-bergen")

    pool = wait_until(
        lambda: (lambda answer: len(answer) == 4 and answer)(
            http.json("GET", "/api/contact-points/link-bergen/pool", headers=staff)[1]
        ),
        what="four in the pool",
    )
    assert {p["registration_id"] for p in pool} == set(ids)
    assert pool[0]["slots"] == [{"weekday": "tue", "part_of_day": "evening"}] and pool[0]["themes"] == ["grief"]
    assert "Deltaker" not in str(pool) and "@" not in str(pool)  # no names, no addresses
    page = http("GET", "/staff/link-bergen/pool", headers=staff)[2].decode()
    assert f"{ids[0][:8]}</code>" in page and "tirsdag kveld" in page and "Sorg" in page
    status, kari = http.json("GET", f"/api/registrations/{ids[0]}", headers=staff)  # audited
    assert status == 200 and kari["name"] == "Deltaker0 Etternavn" and kari["status"] == "waiting"
    receipts = wait_until(
        lambda: (lambda answer: answer[0] == 200 and answer[1])(
            http.json("GET", f"/api/registrations/{ids[0]}/deliveries", headers=staff)
        ),
        what="the receipt logged",
    )
    assert receipts[0]["template"] == "receipt" and receipts[0]["address"].endswith("@example.no")
    assert "deltaker0@" not in str(receipts)  # masked
    page = http("GET", f"/staff/link-bergen/people/{ids[0]}/details?purpose=answer_question", headers=staff)[2]
    assert "Deltaker0 Etternavn" in page.decode()
    ids.append(http.json("POST", "/api/registrations", people[4])[1]["registration_id"])
    proposals = wait_until(
        lambda: http.json("GET", "/api/contact-points/link-bergen/proposals", headers=staff)[1],
        timeout=30,
        what="a proposal for the five",
    )
    [proposal] = proposals
    assert sorted(proposal["registration_ids"]) == sorted(ids) and proposal["state"] == "proposed"
    assert "share the theme grief" in proposal["explanation"]["summary"]
    page = http("GET", "/staff/link-bergen/proposals", headers=staff)[2].decode()
    # matching's structured explanation (group_proposed v2) in the page's words, not its English summary
    assert "Fem personer kan møtes tirsdag kveld og har sorg som felles tema." in page
    assert proposal["explanation"]["summary"] not in page and "Ingenting er lempet på." in page
    assert '<option value="group-room">LINK Bergen og omegn, grupperommet (10 plasser)</option>' in page
    assert '<option value="link-bergen-starter-1">Kristin</option>' in page

    first_meeting = (datetime.now(UTC) + timedelta(days=10)).replace(microsecond=0).isoformat()
    confirm = {
        "meeting_place_id": "group-room",
        "first_meeting_at": first_meeting,
        "starter_id": "link-bergen-starter-1",
    }
    path = f"/api/contact-points/link-bergen/groups/{proposal['group_id']}/confirm"
    assert http.json("POST", path, confirm, staff) == (200, {"group_id": proposal["group_id"], "state": "confirmed"})
    assert http.json("POST", path, confirm, staff)[0] == 409  # once only
    [group] = http.json("GET", "/api/contact-points/link-bergen/groups", headers=staff)[1]
    assert group["state"] == "confirmed" and group["confirmation"]["meeting_place_id"] == "group-room"
    advance = f"/api/contact-points/link-bergen/groups/{proposal['group_id']}/advance"
    assert http.json("POST", advance, {"state": "self_run"}, staff)[0] == 409  # not before it has started
    assert http.json("POST", advance, {"state": "started"}, staff)[1]["state"] == "started"
    page = http("GET", "/staff/link-bergen/groups", headers=staff)[2].decode()
    assert "<td>Startet</td>" in page and "<td>LINK Bergen og omegn, grupperommet</td>" in page

    addresses = {data["email"] for data in people}
    invitations = wait_until(
        lambda: (lambda found: {m["To"] for m in found} == addresses and found)(
            [m for m in system.mails() if m["Subject"] == INVITATION]
        ),
        timeout=30,
        what="an invitation to each of the five",
    )
    assert len(invitations) == 5
    text = text_of(invitations[0])
    assert "Sted: LINK Bergen og omegn, grupperommet, Eksempelgata 3, 5003 Bergen" in text and "Kristin fra" in text

    status, figures = http.json("GET", "/api/figures", headers=system.admin)
    rows = {row["area"]: row for row in figures["rows"]}
    assert status == 200 and figures["period"] == "2026" and len(rows) == 17  # 15 counties, Svalbard, the nation
    national = rows["national"]
    assert (national["in_group"], national["placed"], national["registered"], national["waiting"]) == (5, 5, 5, None)
    assert national["groups_running"] is None  # one group: a count below 5, like any other
    assert national["median_waiting_days"] == 0.0 and national["share_theme_grief"] == 100.0
    assert rows["Vestland"]["in_group"] == 5 and rows["Vestland"]["coverage_percent"] == 9.3
    assert rows["Oslo"]["in_group"] is None  # nobody in Oslo: blank, like any count below 5
    year = http.json("GET", "/api/contact-points/link-bergen/figures?year=2026", headers=staff)[1]
    assert [(row["period"], row["placed"]) for row in year["rows"]][::4] == [("2026", 5), ("2026-Q4", 5)]


def test_coverage_over_http_and_on_its_page(system):
    status, coverage = system.http.json("GET", "/api/coverage")
    assert status == 200 and coverage["national"]["covered_municipalities"] == len(BERGEN["municipalities"])
    page = system.http("GET", "/coverage")[2].decode()
    assert f"{len(BERGEN['municipalities'])} av 357 kommuner har et kontaktpunkt." in page
    assert '<th scope="row">Vestland</th><td class="num">4</td><td class="num">43</td>' in page
    national = system.http("GET", "/national", headers=system.admin)[2].decode()
    assert '<th scope="row">Vestland</th>' in national and ">9,3<" in national


def test_a_referrer_follows_the_status_and_hears_of_each_change_without_personal_details(system):
    http = system.http
    referrer = system.token("gp@clinic.example.no", "referrer", "--referrer-id", "ref-gp-1", "--name", "Dr. Lund")
    person = intake(
        name="Kari Henvist",
        email="kari.henvist@example.no",
        referral={"referrer_id": "ref-gp-1", "organisation": "Legekontoret"},
        consent={
            "purpose": "self_help_group_matching",
            "text_version": "2026-01",
            "given_at": "2026-11-28T08:59:00Z",
            "channel": "referrer",
        },
    )
    status, created = http.json("POST", "/api/registrations", person, referrer)
    assert status == 201, created
    rid = created["registration_id"]
    [mine] = http.json("GET", "/api/referrals", headers=referrer)[1]
    assert mine["registration_id"] == rid and mine["status"] == "waiting"
    page = http("GET", "/referrer", headers=referrer)[2].decode()
    assert f"<code>{rid[:8]}</code>" in page and "Venter" in page

    first = wait_until(lambda: system.mails("gp@clinic.example.no"), timeout=30, what="the referrer's message")
    assert first[0]["Subject"] == "Ny status for en henvisning"
    assert http.json("POST", f"/api/registrations/{rid}/withdraw", {"reason": "referrer"}, referrer)[0] == 200
    both = wait_until(
        lambda: system.mails("gp@clinic.example.no")[1:] and system.mails("gp@clinic.example.no"),
        timeout=30,
        what="the referrer hearing of the withdrawal",
    )
    texts = [text_of(m) for m in both]
    assert sorted("venter på en gruppe" in text for text in texts) == [False, True]
    assert sorted("trukket" in text for text in texts) == [False, True]
    for text in texts:
        assert f"Referanse: {rid[:8]}" in text
        for personal in ("Kari", "Henvist", "kari.henvist", "Bergen", "LINK"):
            assert personal not in text
    assert http.json("GET", f"/api/referrals/{rid}", headers=referrer)[1]["status"] == "withdrawn"
    other = system.token("other.gp@example.no", "referrer", "--referrer-id", "ref-gp-2")
    assert http.json("GET", f"/api/referrals/{rid}", headers=other)[0] == 403


def test_staff_edit_their_directory_entry_and_what_the_form_does_not_show_stays(system):
    http = system.http
    staff = system.token("siri@example.no", "contact_point_staff", "--contact-point", "link-bergen")
    admin = system.token("nina@example.no", "national_admin")
    form = "name=LINK+Bergen&municipalities=4601+4626&languages=nb+en&digital_groups=yes&min_size=5&max_size=7"

    def post(headers, body):
        return http(
            "POST",
            "/staff/link-bergen/directory",
            None,
            {**headers, "Content-Type": "application/x-www-form-urlencoded"},
            raw=body.encode(),
        )

    status, _, page = post(staff, form)  # staff widening their own routing: each field refused
    assert status == 400 and page.decode().count("Bare det nasjonale kontoret kan endre dette.") >= 4
    widened = {**BERGEN, "municipalities": ["4601", "0301"], "kind": "municipal_service"}
    status, refused = http.json("PUT", "/api/contact-points/link-bergen", widened, staff)
    assert status == 400 and set(refused["error"]["fields"]) == {"municipalities", "kind"}
    status, _, page = post(staff, "name=LINK+Bergen+sentrum&languages=nb+en")
    assert status == 200 and 'value="LINK Bergen sentrum"' in page.decode()  # urllib followed the 303
    status, _, page = post(admin, form)
    assert status == 200 and 'value="LINK Bergen"' in page.decode()
    entry = http.json("GET", "/api/contact-points/link-bergen", headers=staff)[1]
    assert (entry["name"], entry["municipalities"], entry["max_size"], entry["revision"]) == (
        "LINK Bergen",
        ["4601", "4626"],
        7,
        3,
    )
    assert [m["meeting_place_id"] for m in entry["meeting_places"]] == ["group-room"]  # kept
    assert entry["email"] == BERGEN["email"] and entry["staff"] == BERGEN["staff"]
    oslo = {**BERGEN, "contact_point_id": "link-oslo", "municipality_number": "0301", "municipalities": ["0301"]}
    assert http.json("PUT", "/api/contact-points/link-oslo", oslo, staff)[0] == 403  # not theirs


def test_the_national_office_assigns_a_person_from_svalbard_who_then_waits_in_the_pool(system):
    """The issue's finding: the office was mailed about a registration from Svalbard, but its list was empty."""
    http = system.http
    status, created = http.json("POST", "/api/registrations", intake(postal_code="9170", email="ola@example.no"))
    rid = created["registration_id"]
    queue = wait_until(
        lambda: http.json("GET", f"/api/national-office/queue?reference={rid[:8]}", headers=system.admin)[1],
        timeout=30,
        what="the person in the national office's queue",
    )
    assert [(p["registration_id"], p["reason_code"], p["area"]) for p in queue] == [
        (rid, "outside_municipalities", "svalbard")
    ]
    page = http("GET", "/national/queue", headers=system.admin)[2].decode()
    assert f"<code>{rid[:8]}</code>" in page and "Bor på Svalbard eller Jan Mayen" in page
    contacted = http.json(
        "POST", f"/api/national-office/queue/{rid}/contacts", {"purpose": "offer_digital_group"}, system.admin
    )
    assert contacted[0] == 201
    wait_until(
        lambda: http.json("GET", "/api/national-office/queue", headers=system.admin)[1][0]["last_contact"],
        timeout=30,
        what="the contact noted in the queue",
    )
    assigned = http.json(
        "POST", f"/api/national-office/queue/{rid}/assign", {"contact_point_id": "link-bergen"}, system.admin
    )
    assert assigned == (200, {"registration_id": rid, "contact_point_id": "link-bergen", "status": "waiting"})
    assert http.json("GET", "/api/national-office/queue", headers=system.admin)[1] == []
    staff = system.token("siri@example.no", "contact_point_staff", "--contact-point", "link-bergen")
    [waiting] = http.json("GET", "/api/contact-points/link-bergen/pool", headers=staff)[1]
    assert waiting["registration_id"] == rid
    receipts = wait_until(
        lambda: (lambda found: len(found) == 2 and found)(
            [m for m in system.mails("ola@example.no") if m["Subject"] == "Vi har mottatt påmeldingen din"]
        ),
        timeout=30,
        what="a new receipt after the assignment",
    )
    assert any("Flokk – selvhjelpsgrupper tar kontakt" in text_of(mail) for mail in receipts)
    registration = wait_until(
        lambda: http.json("GET", f"/api/registrations/{rid}", headers=staff)[1].get("assigned_to"),
        timeout=30,
        what="registration noting the assignment",
    )
    assert registration == "link-bergen"


def test_anyone_reads_the_open_directory_and_hsds_validates(system):
    http = system.http
    status, shown = http.json("GET", "/api/contact-points/link-bergen")
    assert status == 200 and set(shown) == set(OPEN_FIELDS) and shown["free_of_charge"] is True
    assert all(set(place) == set(OPEN_MEETING_PLACE_FIELDS) for place in shown["meeting_places"])
    status, export = http.json("GET", "/api/hsds")
    assert status == 200 and export["tables"]["contact"] == [] and export["tables"]["cost_option"]
    assert_valid_hsds(export["tables"])
    page = http("GET", "/contact-points/link-bergen")[2].decode()
    assert "Det er gratis å delta." in page and "Eksempelgata 3, 5003 Bergen" in page
