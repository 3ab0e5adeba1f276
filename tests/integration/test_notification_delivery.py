"""notification on the real broker and store, sending to a real SMTP server and a real HTTP SMS
provider, each a process of its own. registration and directory are small RPC stubs on the same
broker, answering in the shapes those services use."""

import email
import email.policy
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from nameko.testing.services import entrypoint_hook, entrypoint_waiter, replace_dependencies
from nameko.testing.utils import find_free_port

from services.common.errors import NotFound
from services.common.rpc import rpc
from services.notification.service import NotificationService
from tests.bus import Tap, dead_letters, publish
from tests.fakes.notification import CONTACT_POINTS, at
from tests.samples import envelope
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
PEOPLE = {
    "r-kari": {
        "registration_id": "r-kari",
        "name": "Kari Nordmann",
        "email": "kari@example.no",
        "phone": "+4791234567",
        "message_language": "nb",
        "preferred_channel": "email",
        "status": "waiting",
    },
    "r-ola": {
        "registration_id": "r-ola",
        "name": "Ola",
        "email": "ola@example.no",
        "phone": None,
        "message_language": "nn",
        "preferred_channel": "email",
        "status": "waiting",
    },
    "r-sam": {
        "registration_id": "r-sam",
        "name": "Sam",
        "email": "sam@example.no",
        "phone": "+4798765432",
        "message_language": "en",
        "preferred_channel": "sms",
        "status": "waiting",
    },
}


class RegistrationStub:
    name = "registration"

    @rpc
    def contact_details(self, registration_id):
        if registration_id not in PEOPLE:
            raise NotFound(f"no registration {registration_id}")
        return PEOPLE[registration_id]


class DirectoryStub:
    name = "directory"

    @rpc
    def get_contact_point(self, contact_point_id):
        return CONTACT_POINTS[contact_point_id]


def start_process(script, port, folder_flag, folder, *extra):
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / script), "--port", str(port), folder_flag, str(folder), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )

    def listening():
        if process.poll() is not None:
            raise AssertionError(f"{script} exited: {process.stderr.read().decode()[-500:]}")
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    wait_until(listening, timeout=15, what=f"{script} listening")
    return process


@pytest.fixture
def notification(container_factory, service_config, tmp_path):
    """start(smtp_fail_first=0, sms_refuse="") -> (container, clock mock, mail dir, sms dir, amqp uri)."""
    processes = []

    def start(smtp_fail_first=0, sms_refuse=""):
        smtp_port, sms_port = find_free_port(), find_free_port()
        mail, sms = tmp_path / "mail", tmp_path / "sms"
        processes.append(
            start_process("smtp_sink.py", smtp_port, "--maildir", mail, "--fail-first", str(smtp_fail_first))
        )
        processes.append(
            start_process(
                "sms_provider.py", sms_port, "--outbox", sms, *(["--refuse", sms_refuse] if sms_refuse else [])
            )
        )
        config = {
            **service_config,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": smtp_port,
            "SMS_URL": f"http://127.0.0.1:{sms_port}",
        }
        for stub in (RegistrationStub, DirectoryStub):
            container_factory(stub, config).start()
        container = container_factory(NotificationService, config)
        clock = replace_dependencies(container, "clock")
        clock.now.return_value = at(11)  # noon in Oslo: no quiet hours unless a test says so
        container.start()
        return container, clock, mail, sms, config["AMQP_URI"]

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


def mails(folder):
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in sorted(folder.glob("*.eml"))]


def texts(folder):
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]


def plain(mail):
    return mail.get_body(preferencelist=("plain",)).get_content()


def waitlisted(registration_id):
    return envelope(
        {
            "registration_id": registration_id,
            "contact_point_id": "link-bergen",
            "route_kind": "contact_point",
            "reason": "serves Bergen",
        },
        event_type="registration_waitlisted",
        source="matching",
    )


def confirmed(registration_ids):
    return envelope(
        {
            "group_id": "g1",
            "contact_point_id": "link-bergen",
            "registration_ids": registration_ids,
            "meeting_place_id": "mp-1",
            "first_meeting_at": "2026-12-01T17:00:00Z",
            "starter_id": "st-1",
        },
        event_type="group_confirmed",
        source="matching",
    )


def calls_counter(count):
    seen = []

    def callback(worker_ctx, result, exc_info):
        seen.append(exc_info)
        return len(seen) >= count

    return callback


def test_each_event_reaches_the_right_person_in_their_language_and_channel(notification):
    container, _, mail_dir, sms_dir, amqp_uri = notification()
    tap = Tap(amqp_uri, "notification")
    try:
        with entrypoint_waiter(container, "handle_registration_waitlisted"):
            publish(amqp_uri, "matching.events", "registration_waitlisted", waitlisted("r-kari"))
        [receipt] = mails(mail_dir)
        assert receipt["To"] == "kari@example.no" and receipt["Subject"] == "Vi har mottatt påmeldingen din"
        assert receipt["Content-Language"] == "nb" and "LINK Bergen og omegn" in plain(receipt)
        assert "LINK Bergen og omegn" in receipt.get_body(preferencelist=("html",)).get_content()
        sent = tap.wait_for("notification_sent")[0]["data"]
        assert receipt["Message-ID"] == f"<{sent['notification_id']}@flokk.no>"

        with entrypoint_waiter(container, "handle_group_confirmed"):
            publish(amqp_uri, "matching.events", "group_confirmed", confirmed(["r-kari", "r-ola", "r-sam"]))
        invitations = {m["To"]: m for m in mails(mail_dir) if m["Subject"] != receipt["Subject"]}
        assert set(invitations) == {"kari@example.no", "ola@example.no"}
        assert "tirsdag 1. desember kl. 18.00" in plain(invitations["kari@example.no"])
        assert "tysdag 1. desember kl. 18.00" in plain(invitations["ola@example.no"])
        assert all("Ingrid" in plain(m) and "Strømgaten 6" in plain(m) for m in invitations.values())
        [sms] = texts(sms_dir)
        assert sms["to"] == "+4798765432" and "Tuesday 1 December at 18:00" in sms["text"]
        assert sms["sender"] == "Flokk"
        tap.wait_for("notification_sent", count=4)
    finally:
        tap.close()


def test_a_duplicate_event_sends_once(notification):
    container, _, mail_dir, _, amqp_uri = notification()
    event = waitlisted("r-ola")
    with entrypoint_waiter(container, "handle_registration_waitlisted", callback=calls_counter(2), timeout=20):
        publish(amqp_uri, "matching.events", "registration_waitlisted", event)
        publish(amqp_uri, "matching.events", "registration_waitlisted", event)
    assert [m["To"] for m in mails(mail_dir)] == ["ola@example.no"]


def test_an_smtp_server_failing_twice_then_recovering_gets_the_message_once(notification):
    container, _, mail_dir, sms_dir, amqp_uri = notification(smtp_fail_first=2)
    tap = Tap(amqp_uri, "notification")
    try:
        with entrypoint_waiter(container, "handle_registration_waitlisted", callback=calls_counter(3), timeout=30):
            publish(amqp_uri, "matching.events", "registration_waitlisted", waitlisted("r-ola"))
        [mail] = mails(mail_dir)
        assert mail["To"] == "ola@example.no" and mail["Content-Language"] == "nn"
        assert len(tap.wait_for("notification_sent")) == 1 and texts(sms_dir) == []
        # Only this event's own queue counts: the shared retry binding (x-match "all" on an x- header)
        # currently copies each retry into every queue of the service, which dead-letter the stranger.
        letters = dead_letters(amqp_uri, "notification")
        assert [h for h, _ in letters if h["x-flokk-original-queue"].endswith("registration_waitlisted")] == []
    finally:
        tap.close()


def test_a_refused_sms_falls_back_to_email(notification):
    container, _, mail_dir, sms_dir, amqp_uri = notification(sms_refuse="+4798")
    with entrypoint_waiter(container, "handle_registration_waitlisted"):
        publish(amqp_uri, "matching.events", "registration_waitlisted", waitlisted("r-sam"))
    assert texts(sms_dir) == [] and [m["To"] for m in mails(mail_dir)] == ["sam@example.no"]


def test_sms_is_held_through_quiet_hours_and_sent_once_in_the_morning(notification, mongo, db_prefix):
    container, clock, mail_dir, sms_dir, amqp_uri = notification()
    clock.now.return_value = at(21, 30)  # 22:30 in Oslo
    with entrypoint_waiter(container, "handle_registration_waitlisted"):
        publish(amqp_uri, "matching.events", "registration_waitlisted", waitlisted("r-sam"))
    assert texts(sms_dir) == [] and mails(mail_dir) == []
    [held] = mongo[f"{db_prefix}notification"].deliveries.find({"status": "held"})
    assert held["address"] == "+47*****32" and "phone" not in held and "+4798765432" not in str(held)

    with entrypoint_hook(container, "release_held_messages") as release:
        clock.now.return_value = at(6, 30, day=29)  # 07:30: still quiet
        release()
        assert texts(sms_dir) == []
        clock.now.return_value = at(7, 1, day=29)
        release()
        release()
    [sms] = texts(sms_dir)
    assert sms["to"] == "+4798765432" and "Sam" in sms["text"]
    assert mongo[f"{db_prefix}notification"].deliveries.find_one({"_id": held["_id"]})["status"] == "sent"


def test_staff_the_national_office_and_the_withdrawn_hear_what_they_must_and_erasure_empties_the_log(
    notification, mongo, db_prefix
):
    container, _, mail_dir, _, amqp_uri = notification()
    deliveries = mongo[f"{db_prefix}notification"].deliveries

    def handled(handler, event_type, data, source="matching"):
        with entrypoint_waiter(container, handler):
            publish(amqp_uri, f"{source}.events", event_type, envelope(data, event_type=event_type, source=source))
        return {m["To"]: m for m in mails(mail_dir)}

    by_address = handled(
        "handle_registration_unroutable",
        "registration_unroutable",
        {"registration_id": "r-ola", "reason": "no contact point"},
    )
    assert "nasjonale kontoret" in plain(by_address["ola@example.no"])
    assert "r-ola" in plain(by_address["post@national.example.no"])
    assert "Ola" not in plain(by_address["post@national.example.no"])

    by_address = handled(
        "handle_group_proposed",
        "group_proposed",
        {
            "group_id": "g1",
            "contact_point_id": "link-bergen",
            "registration_ids": ["r-kari", "r-ola"],
            "explanation": {
                "summary": "two people who share grief",
                "slot": {"weekday": "tue", "part_of_day": "evening"},
                "theme": "grief",
                "mixed": False,
                "relaxed": [],
            },
        },
    )
    proposal = plain(by_address["post@link-bergen.example.no"])
    assert "2 personer" in proposal and "grief" not in proposal.lower() and "sorg" not in proposal.lower()

    by_address = handled(
        "handle_registration_withdrawn",
        "registration_withdrawn",
        {"registration_id": "r-kari", "reason": "person"},
        source="registration",
    )
    assert by_address["kari@example.no"]["Subject"] == "Påmeldingen din er trukket"
    count = len(mails(mail_dir))
    handled(
        "handle_registration_withdrawn",
        "registration_withdrawn",
        {"registration_id": "r-erased", "reason": "person"},
        source="registration",
    )
    assert len(mails(mail_dir)) == count  # contact details already gone: no message

    assert deliveries.count_documents({"registration_id": "r-ola"}) == 2
    log_text = str(list(deliveries.find()))
    assert "o***@example.no" in log_text  # masked addresses only
    for address in ("ola@example.no", "kari@example.no", "post@national.example.no", "Ola", "Kari"):
        assert address not in log_text
    handled(
        "handle_registration_erased",
        "registration_erased",
        {"registration_id": "r-ola", "reason": "request"},
        source="registration",
    )
    assert deliveries.count_documents({"registration_id": "r-ola"}) == 0
    assert deliveries.count_documents({"registration_id": "r-kari"}) == 1


def test_reminders_the_day_before_and_the_daily_digest_go_once_each(notification):
    container, clock, mail_dir, sms_dir, amqp_uri = notification()
    with entrypoint_waiter(container, "handle_registration_waitlisted"):
        publish(amqp_uri, "matching.events", "registration_waitlisted", waitlisted("r-ola"))
    with entrypoint_waiter(container, "handle_group_confirmed"):
        publish(amqp_uri, "matching.events", "group_confirmed", confirmed(["r-kari", "r-sam"]))
    before = len(mails(mail_dir))

    with entrypoint_hook(container, "send_reminders") as remind:
        remind()  # 28 November: the meeting is on 1 December
        assert len(mails(mail_dir)) == before
        clock.now.return_value = at(10, day=30)
        remind()
        remind()
    reminders = [m for m in mails(mail_dir) if m["Subject"].startswith("Påminnelse")]
    assert [m["To"] for m in reminders] == ["kari@example.no"]
    assert [t["to"] for t in texts(sms_dir) if "tomorrow" in t["text"]] == ["+4798765432"]

    with entrypoint_hook(container, "send_digests") as digest:
        digest()
        digest()
    [overview] = [m for m in mails(mail_dir) if m["To"] == "post@link-bergen.example.no"]
    assert "Nye personer i utvalget siden forrige oversikt: 1" in plain(overview)
