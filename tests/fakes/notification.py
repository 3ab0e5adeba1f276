"""The in-memory implementations of notification's own ports (services/notification/ports.py: the
store and the two channels), a directory answer of the shape directory.get_contact_point returns,
and `notification_world`: the service through worker_factory on these fakes. The clock is
services.common.clock.FixedClock; the other services are mocked proxies."""

from datetime import UTC, datetime

from nameko.exceptions import RemoteError
from nameko.testing.services import worker_factory

from services.common.actors import SELF
from services.common.cache import TtlCache
from services.common.clock import FixedClock
from services.notification.ports import DeliveryFailure
from services.notification.service import CONTACT_POINT_CACHE_SECONDS, NotificationService
from services.notification.store import SETTLED, WAITING
from tests.fakes import FakeStorageBase, an_event

BERGEN = {
    "contact_point_id": "link-bergen",
    "name": "LINK Bergen og omegn",
    "sender_name": "LINK Bergen",  # what messages call it (Selvhjelp på nett below has the default)
    "email": "post@link-bergen.example.no",
    "meeting_places": [
        {
            "meeting_place_id": "mp-1",
            "name": "Bergen offentlige bibliotek, rom 3",
            "address": "Strømgaten 6, 5015 Bergen",
        }
    ],
    "staff": [{"staff_id": "st-1", "first_name": "Ingrid", "email": "ingrid@link-bergen.example.no"}],
}
#: A contact point whose groups meet by video (the directory never shows the link, only meeting_link).
DIGITAL = {
    "contact_point_id": "digital-cp",
    "name": "Selvhjelp på nett",
    "email": "post@digital.example.no",
    "meeting_places": [
        {
            "meeting_place_id": "video-1",
            "kind": "digital",
            "name": "Videorommet",
            "address": None,
            "has_video_url": True,
        }
    ],
    "staff": [{"staff_id": "st-2", "first_name": "Nora", "email": "nora@digital.example.no"}],
}
VIDEO_URL = "https://meet.example.no/flokk-video-1"
NATIONAL = {
    "contact_point_id": "national-office",
    "name": "Nasjonalt kompetansesenter",
    "email": "post@national.example.no",
    "meeting_places": [],
    "staff": [],
}
CONTACT_POINTS = {"link-bergen": BERGEN, "national-office": NATIONAL, "digital-cp": DIGITAL}
PUBLIC_BASE_URL = "https://flokk.test"


def at(hour, minute=0, day=28, month=11):
    """A moment in 2026 given in UTC (Oslo is UTC+1 in winter)."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


class FakeNotificationStorage(FakeStorageBase):
    source = "notification"

    def __init__(self):
        super().__init__()
        self.deliveries, self.arrivals, self.groups = {}, {}, {}

    def already_applied(self, event_id):
        return event_id in self.applied

    def delivery(self, notification_id):
        return self.deliveries.get(notification_id)

    def settle(self, uow, record):
        existing = self.deliveries.get(record["_id"])
        if existing is not None and existing["status"] in SETTLED:
            return False
        self.deliveries[record["_id"]] = dict(record)
        return True

    def claim(self, notification_id, now, lease_until, claimable=()):
        existing = self.deliveries.get(notification_id)
        if existing is not None and not (
            existing["status"] in claimable or (existing["status"] == "sending" and existing["lease_until"] < now)
        ):
            return False
        self.deliveries[notification_id] = {
            **(existing or {"_id": notification_id}),
            "status": "sending",
            "lease_until": lease_until,
        }
        return True

    def claim_new(self, notification_id, lease_until):
        if notification_id in self.deliveries:
            return False
        self.deliveries[notification_id] = {"_id": notification_id, "status": "sending", "lease_until": lease_until}
        return True

    def unclaim(self, notification_id, previous_status=None):
        if self.deliveries.get(notification_id, {}).get("status") != "sending":
            return
        if previous_status is None:
            del self.deliveries[notification_id]
        else:
            self.deliveries[notification_id]["status"] = previous_status

    def wait(self, record):
        if self.deliveries.get(record["_id"], {}).get("status") not in SETTLED:
            self.deliveries[record["_id"]] = dict(record)

    def due(self, now, limit=100):
        def is_due(record):
            time_field = WAITING.get(record["status"])
            if time_field is not None:
                return record[time_field] <= now
            return record["status"] == "sending" and record["lease_until"] < now and "attempts" in record

        return [dict(r) for r in self.deliveries.values() if is_due(r)][:limit]

    def drop_unsent(self, notification_id, now):
        record = self.deliveries.get(notification_id, {})
        if record.get("status") in WAITING or (record.get("status") == "sending" and record["lease_until"] < now):
            del self.deliveries[notification_id]

    def deliveries_for(self, registration_id):
        return [r for r in self.deliveries.values() if r["registration_id"] == registration_id]

    def forget(self, uow, registration_id):
        self.arrivals.pop(registration_id, None)
        gone = [k for k, r in self.deliveries.items() if r["registration_id"] == registration_id]
        for key in gone:
            del self.deliveries[key]
        return len(gone)

    def add_arrival(self, uow, registration_id, contact_point_id, at):
        self.arrivals[registration_id] = {
            "_id": registration_id,
            "registration_id": registration_id,
            "contact_point_id": contact_point_id,
            "at": at,
            "digested_on": None,
        }

    def undigested(self):
        return (
            [a for a in self.arrivals.values() if a["digested_on"] is None],
            [r for r in self.deliveries.values() if r["status"] == "failed" and r.get("digested_on") is None],
        )

    def mark_digested(self, uow, arrival_ids, failure_ids, day):
        for key in arrival_ids:
            self.arrivals[key]["digested_on"] = day
        for key in failure_ids:
            self.deliveries[key]["digested_on"] = day

    def save_group(self, uow, group):
        self.groups[group["_id"]] = dict(group)

    def group(self, group_id):
        return self.groups.get(group_id)

    def set_members(self, uow, group_id, registration_ids):
        if group_id in self.groups:
            self.groups[group_id]["registration_ids"] = registration_ids

    def drop_group(self, uow, group_id):
        self.groups.pop(group_id, None)

    def update_group(self, uow, group_id, changes):
        if group_id in self.groups:
            self.groups[group_id].update(changes)

    def overdue_handovers(self, planned_on_or_before):
        return [
            dict(g)
            for g in self.groups.values()
            if g.get("handover_reminded") is False
            and g.get("handover_planned_on") is not None
            and g["handover_planned_on"] <= planned_on_or_before
            and g.get("state") != "self_run"
        ]

    def mark_handovers_reminded(self, uow, group_ids):
        for group_id in group_ids:
            self.groups[group_id]["handover_reminded"] = True

    def groups_awaiting_reminder(self):
        return [g for g in self.groups.values() if not g["reminder_sent"]]

    def mark_reminded(self, group_id):
        self.groups[group_id]["reminder_sent"] = True


class FakeChannel:
    """Records what it accepted; `failures` maps an address to DeliveryFailures to raise first."""

    def __init__(self, name):
        self.name = name
        self.sent = []
        self.failures = {}

    def fail(self, address, times=1, transient=True):
        self.failures[address] = [DeliveryFailure(self.name, "test failure", transient)] * times

    def _maybe_fail(self, address):
        queued = self.failures.get(address)
        if queued:
            raise queued.pop(0)


class FakeMailer(FakeChannel):
    def __init__(self):
        super().__init__("email")

    def send(self, to, rendered, message_id):
        self._maybe_fail(to)
        self.sent.append(
            {
                "to": to,
                "subject": rendered.subject,
                "sender_name": rendered.sender_name,
                "text": rendered.text,
                "html": rendered.html,
                "message_id": message_id,
                "language": rendered.language,
            }
        )


class FakeSms(FakeChannel):
    def __init__(self):
        super().__init__("sms")

    def send(self, to, text, reference):
        self._maybe_fail(to)
        self.sent.append({"to": to, "text": text, "reference": reference})


# --- notification through worker_factory, for the unit tests ---------------------------------------

PEOPLE = {
    "r1": {
        "registration_id": "r1",
        "name": "Kari Nordmann",
        "email": "kari@example.no",
        "phone": "+4791234567",
        "message_language": "nb",
        "preferred_channel": "email",
        "status": "waiting",
    },
    "r2": {
        "registration_id": "r2",
        "name": "Ola",
        "email": "ola@example.no",
        "phone": None,
        "message_language": "nn",
        "preferred_channel": "email",
        "status": "waiting",
    },
    "r3": {
        "registration_id": "r3",
        "name": "Sam Smith",
        "email": None,
        "phone": "+4798765432",
        "message_language": "en",
        "preferred_channel": "sms",
        "status": "waiting",
    },
}


def contact_details(people):
    """registration's answer: the person's contact details, with a fresh personal link."""

    def answer(registration_id, actor):
        assert actor is SELF  # notification asks as itself; its proxy signs that
        if registration_id not in people:
            raise RemoteError("NotFound", f"no registration {registration_id}")
        return {**people[registration_id], "link_token": link_token(registration_id)}

    return answer


def meeting_link(meeting_place_id, actor, contact_point_id=None):
    """directory.meeting_link as it answers notification's own actor (SELF, which its proxy signs)."""
    if actor is not SELF or meeting_place_id != "video-1":
        raise RemoteError("NotFound", "no video link")
    return {"meeting_place_id": meeting_place_id, "video_url": VIDEO_URL}


def link_token(registration_id):
    """What registration's contact_details carries as `link_token` in these tests."""
    return f"v1.{registration_id}.me.token"


def personal_link(registration_id):
    return f"{PUBLIC_BASE_URL}/me?t={link_token(registration_id)}"


def notification_world():
    """(service, store, mailer, sms, clock): notification through worker_factory on the fakes, at
    noon UTC on 28 November 2026; `service.people` are the contact details registration answers."""
    store, mailer, sms, clock = FakeNotificationStorage(), FakeMailer(), FakeSms(), FixedClock(at(12))
    service = worker_factory(
        NotificationService,
        store=store,
        mailer=mailer,
        sms=sms,
        clock=clock,
        contact_points=TtlCache(CONTACT_POINT_CACHE_SECONDS, clock=lambda: clock.moment.timestamp()),
        settings={"FLOKK_PUBLIC_BASE_URL": PUBLIC_BASE_URL},
    )
    people = {k: dict(v) for k, v in PEOPLE.items()}
    service.registration.contact_details.side_effect = contact_details(people)
    service.directory.get_contact_point.side_effect = lambda cp: CONTACT_POINTS[cp]
    service.directory.meeting_link.side_effect = meeting_link
    service.people = people
    return service, store, mailer, sms, clock


def waitlisted(registration_id="r1", event_id=None):
    return an_event(
        "matching",
        "registration_waitlisted",
        {
            "registration_id": registration_id,
            "contact_point_id": "link-bergen",
            "route_kind": "contact_point",
            "reason": "serves Bergen",
        },
        event_id=event_id,
    )


def confirmed(registration_ids=("r1", "r2", "r3"), first_meeting_at=None):
    return an_event(
        "matching",
        "group_confirmed",
        {
            "group_id": "g1",
            "contact_point_id": "link-bergen",
            "registration_ids": list(registration_ids),
            "meeting_place_id": "mp-1",
            "first_meeting_at": first_meeting_at or at(17, day=1, month=12),
            "starter_id": "st-1",
        },
    )


def sent_events(store, event_type="notification_sent"):
    return [e["data"] for e in store.events if e["event_type"] == event_type]
