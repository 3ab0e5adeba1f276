"""A channel that fails only for now: the event is acked, the message waits in the delivery log,
and the timer tries the same channel again on the schedule (30 s … 24 hours after the first
attempt); the other channel only after a permanent failure or once the 24 hours are over."""

from datetime import timedelta

import pytest
from nameko.exceptions import RemoteError

from services.notification import domain
from services.notification.handlers import CLAIM_LEASE, timers
from services.notification.service import DUE_SECONDS
from tests.fakes.notification import at, notification_world, sent_events, waitlisted

T0 = at(12)  # 13:00 in Oslo: no quiet hours


@pytest.fixture
def world():
    return notification_world()


def receipt_id(event, registration_id):
    return domain.notification_id(event.event_id, domain.participant(registration_id), domain.RECEIPT)


def a_waiting_receipt(service, mailer, failures=1):
    """Kari's receipt, whose e-mail fails for now `failures` times: (event, notification id)."""
    mailer.fail("kari@example.no", times=failures)
    event = waitlisted("r1")
    service.handle_registration_waitlisted(event)
    return event, receipt_id(event, "r1")


def retry_until_settled(service, store, clock, nid):
    """Run the timer at each retry time the message waits for, until it waits no more."""
    while store.deliveries[nid]["status"] == "retrying":
        clock.moment = store.deliveries[nid]["retry_at"]
        service.send_due_messages()


def test_the_timer_looks_for_due_messages_more_often_than_the_shortest_retry_step():
    assert DUE_SECONDS < domain.RETRY_OFFSETS[0].total_seconds()


def test_an_smtp_outage_is_retried_on_schedule_and_the_receipt_arrives_by_email_only(world):
    service, store, mailer, sms, clock = world
    # The first attempt and the retries at 30 s, 1 and 2 min fail; the handler does not raise.
    event, nid = a_waiting_receipt(service, mailer, failures=4)
    assert event.event_id in store.applied
    waiting = store.deliveries[nid]
    assert waiting["status"] == "retrying" and waiting["channel"] == "email"
    assert (waiting["attempts"], waiting["first_attempt_at"], waiting["retry_at"]) == (
        1,
        T0,
        T0 + timedelta(seconds=30),
    )
    assert waiting["address"] == "k***@example.no" and waiting["reason"] == "test failure"

    clock.moment = T0 + timedelta(seconds=29)
    service.send_due_messages()
    assert len(mailer.failures["kari@example.no"]) == 3  # not yet due: not tried
    for offset, attempts in ((timedelta(seconds=30), 2), (timedelta(minutes=1), 3), (timedelta(minutes=2), 4)):
        clock.moment = T0 + offset
        service.send_due_messages()
        assert store.deliveries[nid]["attempts"] == attempts
    assert store.deliveries[nid]["retry_at"] == T0 + timedelta(minutes=5)
    clock.moment = T0 + timedelta(minutes=5)
    service.send_due_messages()
    [mail] = mailer.sent
    assert mail["to"] == "kari@example.no" and mail["message_id"] == domain.message_id(nid)
    assert sms.sent == []  # she chose e-mail, and has a phone
    [sent] = sent_events(store)
    assert sent["channel"] == "email" and store.deliveries[nid]["status"] == "sent"
    service.send_due_messages()
    assert len(mailer.sent) == 1


def test_after_24_hours_of_failures_for_now_the_other_channel_is_tried(world):
    service, store, mailer, sms, clock = world
    _, nid = a_waiting_receipt(service, mailer, failures=100)
    retry_until_settled(service, store, clock, nid)
    assert 100 - len(mailer.failures["kari@example.no"]) == 32  # the first attempt and 31 retries
    assert clock.moment == T0 + timedelta(hours=24)
    [text] = sms.sent
    assert text["to"] == "+4791234567"
    assert [e["channel"] for e in sent_events(store)] == ["sms"]


def test_a_message_whose_retries_ran_out_fails_as_expired_and_lands_in_the_digest(world):
    service, store, mailer, _, clock = world
    mailer.fail("ola@example.no", times=100)  # Ola has no phone: no other channel
    event = waitlisted("r2")
    service.handle_registration_waitlisted(event)
    nid = receipt_id(event, "r2")
    retry_until_settled(service, store, clock, nid)
    [failed] = sent_events(store, "notification_failed")
    assert failed["failure"] == "expired" and failed["channel"] == "email"
    assert failed["reason"].startswith("retried for 24 hours") and "ola" not in failed["reason"]
    assert [e["schema_version"] for e in store.events if e["event_type"] == "notification_failed"] == [2]
    kept = store.deliveries[nid]
    assert kept["status"] == "failed" and kept["failure"] == "expired" and kept["registration_id"] == "r2"
    clock.moment = at(7, day=30)  # 08:00 in Oslo, the morning after
    service.send_digests()
    [digest] = [m for m in mailer.sent if m["to"] == "post@link-bergen.example.no"]
    assert "r2" in digest["text"] and "(Vi har mottatt påmeldingen din)" in digest["text"]


def test_a_refused_preferred_channel_falls_back_at_once_and_the_fallback_is_retried_for_now(world):
    service, store, mailer, sms, clock = world
    mailer.fail("kari@example.no", times=2, transient=False)
    sms.fail("+4791234567", times=1)
    event = waitlisted("r1")
    service.handle_registration_waitlisted(event)
    nid = receipt_id(event, "r1")
    assert store.deliveries[nid]["status"] == "retrying" and store.deliveries[nid]["channel"] == "sms"
    clock.advance(seconds=30)
    service.send_due_messages()
    assert len(sms.sent) == 1 and mailer.sent == []
    assert len(mailer.failures["kari@example.no"]) == 1  # the refused e-mail was not tried again


def test_an_sms_retry_due_in_quiet_hours_waits_for_the_morning(world):
    service, store, _, sms, clock = world
    clock.moment = at(19, 59) + timedelta(seconds=45)  # 20:59:45 in Oslo
    sms.fail("+4798765432", times=1)
    event = waitlisted("r3")
    service.handle_registration_waitlisted(event)
    nid = receipt_id(event, "r3")
    clock.advance(seconds=30)  # 21:00:15: quiet hours
    service.send_due_messages()
    held = store.deliveries[nid]
    assert held["status"] == "held" and held["release_at"] == at(7, day=29)
    assert (held["attempts"], held["first_attempt_at"]) == (1, at(19, 59) + timedelta(seconds=45))
    assert sms.sent == []
    clock.moment = at(7, day=29)
    service.send_due_messages()
    assert len(sms.sent) == 1 and store.deliveries[nid]["status"] == "sent"


def test_a_retry_that_cannot_reach_registration_waits_for_the_next_time(world):
    service, store, mailer, _, clock = world
    event, nid = a_waiting_receipt(service, mailer)
    answer = service.registration.contact_details.side_effect
    service.registration.contact_details.side_effect = RemoteError("RpcTimeout", "no reply")
    clock.advance(seconds=30)
    service.send_due_messages()
    waiting = store.deliveries[nid]
    assert waiting["status"] == "retrying" and waiting["attempts"] == 2
    assert waiting["retry_at"] == T0 + timedelta(minutes=1) and "RemoteError" in waiting["reason"]
    service.registration.contact_details.side_effect = answer
    clock.moment = T0 + timedelta(minutes=1)
    service.send_due_messages()
    assert [m["to"] for m in mailer.sent] == ["kari@example.no"]


def test_a_redelivered_event_leaves_a_waiting_message_to_the_timer(world):
    service, store, mailer, _, _ = world
    event, nid = a_waiting_receipt(service, mailer, failures=2)
    store.applied.discard(event.event_id)  # as if the ledger write had been lost
    service.handle_registration_waitlisted(event)
    assert len(mailer.failures["kari@example.no"]) == 1  # not tried again by the handler
    assert store.deliveries[nid]["attempts"] == 1


def test_a_timer_that_died_mid_send_is_taken_over_once_its_claim_runs_out(world):
    service, store, mailer, _, clock = world
    event, nid = a_waiting_receipt(service, mailer)
    clock.advance(seconds=30)
    assert store.claim(nid, clock.now(), clock.now() + CLAIM_LEASE, claimable=("retrying",))  # then it died
    service.send_due_messages()
    service.handle_registration_waitlisted(event)
    assert mailer.sent == []
    clock.advance(seconds=CLAIM_LEASE.total_seconds() + 1)
    service.send_due_messages()
    service.send_due_messages()
    assert len(mailer.sent) == 1 and store.deliveries[nid]["status"] == "sent"


def test_someone_erased_while_their_message_waits_gets_nothing(world):
    service, store, mailer, _, clock = world
    _, nid = a_waiting_receipt(service, mailer)
    del service.people["r1"]
    clock.advance(seconds=30)
    service.send_due_messages()
    assert mailer.sent == [] and nid not in store.deliveries


def test_after_an_outage_one_tick_sends_more_than_one_batch_of_due_messages(world):
    """After a long SMTP outage thousands are due at once; one tick sends several batches (at
    several at once), so the backlog does not wait DUE_SECONDS per 200 messages."""
    service, store, mailer, sms, clock = world
    backlog = 2 * timers.DUE_BATCH + 50
    for n in range(backlog):
        service.people[f"p{n}"] = {**service.people["r1"], "registration_id": f"p{n}"}
    mailer.fail("kari@example.no", times=backlog)
    for n in range(backlog):
        service.handle_registration_waitlisted(waitlisted(f"p{n}"))
    assert mailer.sent == [] and {d["status"] for d in store.deliveries.values()} == {"retrying"}

    clock.moment = T0 + domain.RETRY_OFFSETS[0]
    service.send_due_messages()
    assert len(mailer.sent) == backlog and sms.sent == []
    assert {d["status"] for d in store.deliveries.values()} == {"sent"}
