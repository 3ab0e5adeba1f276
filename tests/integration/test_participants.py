"""Issue 13 across services, on the real broker and store with a real SMTP server: directory,
registration, matching and notification in-process (the gateway's pages are tested on their own).

- A personal link opens the person's page; a pause makes matching hold the person, resuming,
  withdrawing and coming back each reach matching, every step an event on the bus.
- A group goes confirmed -> started -> self-run: every member gets the handover message with a
  personal link of their own; a check-in reaches its member and the answer's comment stays in matching.
- A digital group's invitation carries the video link, and no event, log line or directory view does.
"""

import email
import email.policy
import json
import logging
import re
from datetime import timedelta

import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import entrypoint_hook
from nameko.testing.utils import find_free_port

from services.common import clock
from services.common.actors import SELF
from services.directory.service import DirectoryService
from services.matching.service import MatchingService
from services.notification.service import NotificationService
from services.registration.service import RegistrationService
from tests import samples
from tests.actors import GATEWAY, OPS, person, rpc_as
from tests.bus import Tap
from tests.fakes import participant
from tests.integration.test_notification_delivery import start_process
from tests.samples import intake
from tests.waiting import wait_until

STAFF = person("contact_point_staff", account_id="acc-1", contact_point_ids=["link-bergen"])
PUBLIC = person("public")
VIDEO_URL = "https://meet.example.no/flokk-bergen-7f3c"
LINK = re.compile(r"https?://\S+/me\?t=(\S+)")
BERGEN = {
    **samples.BERGEN,
    "email": "post@link-bergen.example.no",
    "digital_groups": True,
    "staff": [{"staff_id": "starter-1", "first_name": "Kristin", "role": "starter", "email": "k@link.example.no"}],
    "meeting_places": [
        {
            "meeting_place_id": "room",
            "name": "Grupperommet",
            "address": {"street": "Strømgaten 6", "postal_code": "5015"},
            "capacity": 10,
        },
        {"meeting_place_id": "video", "kind": "digital", "name": "Videorommet", "capacity": 10, "video_url": VIDEO_URL},
    ],
}


class Stack:
    def __init__(self, config, mail_dir, containers):
        self.config, self.mail_dir, self.containers = config, mail_dir, containers

    def rpc(self):
        return rpc_as(GATEWAY, self.config, timeout=30)

    def mails(self, subject=None):
        found = [
            email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted(self.mail_dir.glob("*.eml"))
        ]
        return [m for m in found if subject is None or m["Subject"] == subject]

    def wait_for_mails(self, subject, count):
        return wait_until(
            lambda: (lambda found: found if len(found) >= count else None)(self.mails(subject)),
            timeout=30,
            what=f"{count} mails {subject!r}",
        )


def text_of(mail):
    return mail.get_body(preferencelist=("plain",)).get_content()


@pytest.fixture
def stack(container_factory, service_config, tmp_path):
    smtp_port = find_free_port()
    smtp = start_process("smtp_sink.py", smtp_port, "--maildir", tmp_path / "mail")
    config = {**service_config, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_port}
    containers = {}
    for cls in (DirectoryService, RegistrationService, MatchingService, NotificationService):
        containers[cls.name] = container_factory(cls, config)
        containers[cls.name].start()
    running = Stack(config, tmp_path / "mail", containers)
    with rpc_as(OPS, config) as cluster:
        cluster.directory.upsert_contact_point(BERGEN, SELF)
    yield running
    smtp.terminate()
    smtp.wait(timeout=10)


@pytest.fixture
def tap(service_config):
    tapped = Tap(service_config["AMQP_URI"], "registration", "matching", "directory", "notification")
    yield tapped
    tapped.close()


def register(cluster, count, **changes):
    return [
        cluster.registration.register(
            intake(name=f"Deltaker{n} Test", email=f"deltaker{n}@example.no", **changes), PUBLIC
        )["registration_id"]
        for n in range(count)
    ]


def state_of(cluster, registration_id, state):
    return wait_until(
        lambda: cluster.matching.person_status(registration_id, participant(registration_id))["state"] == state,
        what=f"matching to see {registration_id} {state}",
    )


def token_in(mail):
    return LINK.search(text_of(mail)).group(1)


def test_a_personal_link_pauses_resumes_withdraws_and_comes_back_each_on_the_bus(stack, tap):
    with stack.rpc() as cluster:
        [rid] = register(cluster, 1)
        tap.wait_for("registration_waitlisted")
        [receipt] = stack.wait_for_mails("Vi har mottatt påmeldingen din", 1)
        assert cluster.registration.open_link(token_in(receipt)) == {"registration_id": rid}
        me = participant(rid)

        assert cluster.registration.pause(rid, 2, me)["status"] == "paused"
        assert tap.wait_for("registration_paused")[0]["data"]["registration_id"] == rid
        state_of(cluster, rid, "paused")

        cluster.registration.resume(rid, me)
        assert tap.wait_for("registration_resumed")[0]["data"] == {"registration_id": rid, "reason": "pause_cancelled"}
        state_of(cluster, rid, "waiting")

        cluster.registration.withdraw(rid, me, "person")
        assert tap.wait_for("registration_withdrawn")[0]["data"] == {"registration_id": rid, "reason": "person"}
        state_of(cluster, rid, "unknown")

        cluster.registration.come_back(rid, me)
        resumed = tap.wait_for("registration_resumed", count=2)[1]["data"]
        assert resumed == {"registration_id": rid, "reason": "came_back"}
        state_of(cluster, rid, "waiting")
        assert len(tap.wait_for("registration_waitlisted", count=2)) == 2  # and a new receipt
        wait_until(lambda: cluster.registration.personal_view(rid, me)["status"] == "waiting", what="waiting again")
        with pytest.raises(RemoteError) as refused:
            cluster.registration.pause(rid, 2, participant("someone-else"))
        assert refused.value.exc_type == "Forbidden"


def test_a_group_is_handed_over_and_its_check_in_answered_through_the_link(stack, tap):
    with stack.rpc() as cluster:
        ids = register(cluster, 5)
        [proposal] = wait_until(lambda: cluster.matching.proposals("link-bergen", STAFF), timeout=30, what="a proposal")
        gid = proposal["group_id"]
        first = (clock.now() + timedelta(days=10)).replace(microsecond=0).isoformat()
        confirmation = {"meeting_place_id": "room", "first_meeting_at": first, "starter_id": "starter-1"}
        cluster.matching.confirm_group(gid, {**confirmation, "handover_planned_on": None}, STAFF)
        cluster.matching.advance_group(gid, "started", STAFF)
        schedule = {"weekday": "thu", "start_time": "18:00", "every": "week", "meeting_place_id": "room"}
        cluster.matching.record_handover(gid, {"checkin_registration_ids": [ids[0]], "schedule": schedule}, STAFF)
        assert tap.wait_for("group_started") and tap.wait_for("group_self_run")[0]["data"]["schedule"] == schedule

        handovers = stack.wait_for_mails("Nå går gruppen din på egen hånd", 5)
        by_address = {mail["To"]: mail for mail in handovers}
        for n, rid in enumerate(ids):
            mail = by_address[f"deltaker{n}@example.no"]
            assert "hver torsdag kl. 18.00, Grupperommet" in text_of(mail)
            assert cluster.registration.open_link(token_in(mail)) == {"registration_id": rid}  # their own

        checkin = cluster.matching.send_checkin(gid, STAFF)
        [asked] = stack.wait_for_mails("Hvordan går det i gruppen?", 1)
        assert asked["To"] == "deltaker0@example.no"
        answer = {"still_meeting": True, "usual_attendance": 4, "wants_new_members": True, "needs_help": False}
        cluster.matching.answer_checkin(
            checkin["checkin_id"], {**answer, "comment": "Fint å møtes"}, participant(ids[0])
        )
        recorded = tap.wait_for("group_checkin_recorded")[0]["data"]
        assert recorded["has_comment"] is True and recorded["usual_attendance"] == 4
        assert "Fint" not in json.dumps(tap.events())
        assert cluster.matching.checkin_comment(checkin["checkin_id"], STAFF)["comment"] == "Fint å møtes"


def test_a_digital_groups_link_is_in_its_invitations_and_nowhere_else(stack, tap, caplog):
    caplog.set_level(logging.INFO)  # the level the services log at (LOG_LEVEL)
    with stack.rpc() as cluster:
        ids = register(cluster, 5, postal_code="9170", digital_ok=True)  # Svalbard: a digital group
        [proposal] = wait_until(lambda: cluster.matching.proposals("link-bergen", STAFF), timeout=30, what="a proposal")
        first = (clock.now() + timedelta(days=10)).replace(microsecond=0).isoformat()
        confirmation = {"meeting_place_id": "room", "first_meeting_at": first, "starter_id": "starter-1"}
        with pytest.raises(RemoteError) as refused:
            cluster.matching.confirm_group(proposal["group_id"], confirmation, STAFF)
        assert json.loads(refused.value.value) == {"meeting_place_id": ["place_kind_mismatch"]}
        cluster.matching.confirm_group(proposal["group_id"], {**confirmation, "meeting_place_id": "video"}, STAFF)

        invitations = stack.wait_for_mails("Velkommen til første møte", 5)
        assert all(VIDEO_URL in text_of(mail) for mail in invitations)
        shown = [
            cluster.directory.get_contact_point("link-bergen"),
            cluster.directory.list_contact_points(),
            cluster.directory.hsds_export(),
            cluster.matching.groups("link-bergen", STAFF),
            cluster.matching.person_status(ids[0], participant(ids[0])),
        ]
        assert cluster.directory.meeting_link("video", participant(ids[0]))["video_url"] == VIDEO_URL
    assert VIDEO_URL not in json.dumps(shown, default=str)
    assert VIDEO_URL not in json.dumps(tap.events())
    assert VIDEO_URL not in caplog.text


REFERRER = person("referrer", account_id="acc-2", referrer_id="ref-1")


def test_a_cohort_forms_from_its_code(stack, tap):
    course = {
        "contact_point_id": "link-bergen",
        "expected_size": 4,
        "slot": {"weekday": "thu", "part_of_day": "evening", "start_time": "18:00"},
        "keep_together": True,
    }
    with stack.rpc() as cluster:
        created = cluster.registration.create_cohort(course, REFERRER)
        found = cluster.registration.cohort_by_code(created["code"].lower())
        assert found["open"] is True and found["cohort_id"] == created["cohort_id"]
        with pytest.raises(RemoteError):
            cluster.registration.cohort_by_code("0000000000")
        cohort = {"cohort_id": found["cohort_id"], "keep_together": found["keep_together"]}
        ids = register(cluster, 4, cohort=cohort, availability=[{"weekday": "mon", "part_of_day": "morning"}])
        [proposal] = wait_until(lambda: cluster.matching.proposals("link-bergen", STAFF), timeout=30, what="a proposal")
        assert sorted(proposal["registration_ids"]) == sorted(ids)
        assert proposal["slot"] == {"weekday": "thu", "part_of_day": "evening"}  # the course's, not theirs
        assert "course cohort kept together: 4 of the 4 expected" in proposal["explanation"]["summary"]
        [counted] = cluster.registration.cohorts(REFERRER)
        assert counted["registered"] == 4 and set(counted) == {
            "cohort_id",
            "contact_point_id",
            "expected_size",
            "registered",
            "deadline",
            "code",
        }
        assert cluster.registration.cohort_by_code(created["code"])["open"] is False


def test_new_links_are_throttled_and_a_pause_ends_by_itself_in_the_store(stack, tap, mongo, db_prefix):
    with stack.rpc() as cluster:
        [rid] = register(cluster, 1)
        tap.wait_for("registration_waitlisted")
        for typed in ("Deltaker0@example.no", " deltaker0@example.no", "deltaker0@EXAMPLE.no", "deltaker0@example.no"):
            assert cluster.registration.request_new_link(typed) == {"accepted": True}
        assert len(tap.wait_for("personal_link_requested", count=3)) == 3
        links = stack.wait_for_mails("Lenke til den personlige siden din", 3)
        assert cluster.registration.open_link(token_in(links[0])) == {"registration_id": rid}
        assert len(tap.events("personal_link_requested")) == 3  # the fourth was one too many

        cluster.registration.pause(rid, 2, participant(rid))
        state_of(cluster, rid, "paused")
    with clock.use(clock.FixedClock(clock.now() + timedelta(weeks=2, days=1))):
        with entrypoint_hook(stack.containers["registration"], "end_due_pauses") as end_due_pauses:
            assert end_due_pauses() == 1
    assert tap.wait_for("registration_resumed")[0]["data"] == {"registration_id": rid, "reason": "pause_ended"}
    audit = list(mongo[f"{db_prefix}registration"].audit.find({}, {"_id": 0, "at": 0}))
    assert {"registration_id": rid, "action": "pause", "outcome": "ok"} in audit
    assert "deltaker0" not in repr(list(mongo[f"{db_prefix}registration"].attempts.find()))
