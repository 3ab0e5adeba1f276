"""notification on the real broker and store, sending to a real SMTP server and a real HTTP SMS
provider, each a process of its own. registration and directory are small RPC stubs on the same
broker, answering in the shapes those services use."""

import email
import email.policy
import json
import socket
import subprocess
import sys
from datetime import timedelta
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
    def contact_details(self, registration_id, actor):
        assert (actor["role"], actor["service"]) == ("service", "notification")  # verified by @rpc
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


class NotificationStack:
    """start(smtp_fail_first=0, sms_refuse="", smtp_down=False) -> (container, clock mock, mail dir,
    sms dir, amqp uri); with `smtp_down` nothing listens on the SMTP port until `smtp_back()`."""

    def __init__(self, container_factory, service_config, tmp_path):
        self.container_factory, self.service_config = container_factory, service_config
        self.mail, self.sms = tmp_path / "mail", tmp_path / "sms"
        self.processes = []

    def __call__(self, smtp_fail_first=0, sms_refuse="", smtp_down=False):
        self.smtp_port, sms_port = find_free_port(), find_free_port()
        if not smtp_down:
            self.smtp_back(smtp_fail_first)
        self.processes.append(
            start_process(
                "sms_provider.py", sms_port, "--outbox", self.sms, *(["--refuse", sms_refuse] if sms_refuse else [])
            )
        )
        config = {
            **self.service_config,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": self.smtp_port,
            "SMS_URL": f"http://127.0.0.1:{sms_port}",
        }
        for stub in (RegistrationStub, DirectoryStub):
            self.container_factory(stub, config).start()
        container = self.container_factory(NotificationService, config)
        clock = replace_dependencies(container, "clock")
        clock.now.return_value = at(11)  # noon in Oslo: no quiet hours unless a test says so
        container.start()
        return container, clock, self.mail, self.sms, config["AMQP_URI"]

    def smtp_back(self, fail_first=0):
        self.processes.append(
            start_process("smtp_sink.py", self.smtp_port, "--maildir", self.mail, "--fail-first", str(fail_first))
        )

    def stop(self):
        for process in self.processes:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture
def notification(container_factory, service_config, tmp_path):
    stack = NotificationStack(container_factory, service_config, tmp_path)
    yield stack
    stack.stop()


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
        assert receipt["Content-Language"] == "nb" and "LINK Bergen tar kontakt" in plain(receipt)  # its sender name
        assert "LINK Bergen" in receipt.get_body(preferencelist=("html",)).get_content()
        assert receipt["From"].addresses[0].display_name == "LINK Bergen" and "omegn" not in plain(receipt)
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


def retry_at(clock, container, deliveries, nid, moment, attempts):
    """Move the clock to `moment`, run the timer, and wait until the message has had `attempts`
    attempts (the container's own timer may be the one that makes it)."""
    clock.now.return_value = moment
    with entrypoint_hook(container, "send_due_messages") as send_due:
        send_due()
    return wait_until(
        lambda: (deliveries.find_one({"_id": nid}) or {}).get("attempts") == attempts,
        what=f"attempt {attempts}",
    )


def receipt_of(mongo, db_prefix, registration_id):
    deliveries = mongo[f"{db_prefix}notification"].deliveries
    record = wait_until(lambda: deliveries.find_one({"registration_id": registration_id}), what="the delivery")
    return deliveries, record["_id"]


def test_an_smtp_server_failing_twice_then_recovering_gets_the_message_once(notification, mongo, db_prefix):
    container, clock, mail_dir, sms_dir, amqp_uri = notification(smtp_fail_first=2)
    tap = Tap(amqp_uri, "notification")
    try:
        with entrypoint_waiter(container, "handle_registration_waitlisted"):
            publish(amqp_uri, "matching.events", "registration_waitlisted", waitlisted("r-ola"))
        deliveries, nid = receipt_of(mongo, db_prefix, "r-ola")
        assert deliveries.find_one({"_id": nid})["status"] == "retrying" and mails(mail_dir) == []
        retry_at(clock, container, deliveries, nid, at(11) + timedelta(seconds=30), attempts=2)
        clock.now.return_value = at(11) + timedelta(minutes=1)
        with entrypoint_hook(container, "send_due_messages") as send_due:
            send_due()
        [mail] = wait_until(lambda: mails(mail_dir), what="the receipt")
        assert mail["To"] == "ola@example.no" and mail["Content-Language"] == "nn"
        assert len(tap.wait_for("notification_sent")) == 1 and texts(sms_dir) == []
        assert dead_letters(amqp_uri, "notification") == []  # the handler never failed
    finally:
        tap.close()


def test_a_receipt_arrives_by_email_once_the_smtp_server_is_back_after_several_retries(notification, mongo, db_prefix):
    """Issue 16: with the mail server down across several retry steps, the receipt waits (the event
    is acked, nothing is dead-lettered) and arrives by e-mail when the server is back; Kari chose
    e-mail and has a phone, and gets no SMS."""
    container, clock, mail_dir, sms_dir, amqp_uri = notification(smtp_down=True)
    tap = Tap(amqp_uri, "notification")
    try:
        event = waitlisted("r-kari")
        with entrypoint_waiter(container, "handle_registration_waitlisted"):
            publish(amqp_uri, "matching.events", "registration_waitlisted", event)
        deliveries, nid = receipt_of(mongo, db_prefix, "r-kari")
        first = deliveries.find_one({"_id": nid})
        assert first["status"] == "retrying" and first["channel"] == "email" and first["attempts"] == 1
        assert "ConnectionRefusedError" in first["reason"] and "kari@example.no" not in str(first)
        for attempts, offset in enumerate(
            (timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=5)), start=2
        ):
            retry_at(clock, container, deliveries, nid, at(11) + offset, attempts)
        assert deliveries.find_one({"_id": nid})["retry_at"] == at(11) + timedelta(minutes=10)
        assert mails(mail_dir) == [] and texts(sms_dir) == []

        notification.smtp_back()
        clock.now.return_value = at(11) + timedelta(minutes=10)
        with entrypoint_hook(container, "send_due_messages") as send_due:
            send_due()
        [receipt] = wait_until(lambda: mails(mail_dir), what="the receipt")
        assert receipt["To"] == "kari@example.no" and receipt["Message-ID"] == f"<{nid}@flokk.no>"
        [sent] = tap.wait_for("notification_sent")
        assert sent["data"]["channel"] == "email" and sent["data"]["cause_event_id"] == event["event_id"]
        assert texts(sms_dir) == []
        assert deliveries.find_one({"_id": nid})["status"] == "sent"
        assert dead_letters(amqp_uri, "notification") == []
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

    with entrypoint_hook(container, "send_due_messages") as release:
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
