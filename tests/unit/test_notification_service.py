"""notification's entrypoints with fakes of its own store and channels; only the registration and
directory proxies are mocks (with the shapes those services answer)."""

from datetime import timedelta

import pytest
from nameko.exceptions import RemoteError

from services.common.actors import SELF
from services.common.errors import NotFound
from services.notification import domain
from services.notification.handlers import DeliveryPostponed
from services.notification.service import CONTACT_POINT_CACHE_SECONDS
from tests.fakes import an_event
from tests.fakes.notification import (
    CONTACT_POINTS,
    at,
    confirmed,
    contact_details,
    notification_world,
    sent_events,
    waitlisted,
)


@pytest.fixture
def world():
    return notification_world()


def test_a_waitlisted_person_gets_a_receipt_naming_their_contact_point(world):
    service, store, mailer, sms, _ = world
    event = waitlisted()
    service.handle_registration_waitlisted(event)
    [mail] = mailer.sent
    assert mail["to"] == "kari@example.no" and mail["language"] == "nb"
    assert mail["subject"] == "Vi har mottatt påmeldingen din"
    assert "Kari" in mail["text"] and "LINK Bergen tar kontakt" in mail["text"] and "Nordmann" not in mail["text"]
    assert "<p>" in mail["html"] and "LINK Bergen" in mail["html"] and mail["sender_name"] == "LINK Bergen"
    assert "LINK Bergen og omegn" not in mail["text"]  # its sender name, not its name
    [sent] = sent_events(store)
    nid = domain.notification_id(event.event_id, {"kind": "participant", "id": "r1"}, "receipt")
    assert sent == {
        "notification_id": nid,
        "recipient": {"kind": "participant", "id": "r1"},
        "registration_id": "r1",
        "template": "receipt",
        "channel": "email",
        "cause_event_id": event.event_id,
    }
    assert mail["message_id"] == f"<{nid}@flokk.no>"
    assert store.deliveries[nid]["address"] == "k***@example.no"
    assert store.arrivals["r1"]["contact_point_id"] == "link-bergen"
    assert sms.sent == []


def test_the_same_event_twice_sends_once(world):
    service, store, mailer, _, _ = world
    event = waitlisted()
    service.handle_registration_waitlisted(event)
    service.handle_registration_waitlisted(event)
    assert len(mailer.sent) == 1 and len(sent_events(store)) == 1


def test_a_receipt_costs_one_transaction_its_outcome_the_events_ledger_and_its_arrival(world):
    """Issue 19: the event of one message is applied in that message's settle transaction."""
    service, store, mailer, _, _ = world
    event = waitlisted()
    service.handle_registration_waitlisted(event)
    assert store.transactions == 1
    assert event.event_id in store.applied and store.arrivals["r1"]["contact_point_id"] == "link-bergen"
    assert len(sent_events(store)) == 1
    service.handle_registration_waitlisted(event)  # redelivered: nothing sent, nothing written
    assert store.transactions == 1 and len(mailer.sent) == 1


def test_a_handler_retried_after_sending_does_not_send_again(world):
    """The ledger is written last: a crash before it must not mean a second message."""
    service, store, mailer, _, _ = world
    event = waitlisted()
    service.handle_registration_waitlisted(event)
    store.applied.discard(event.event_id)  # as if the ledger write had been lost
    service.handle_registration_waitlisted(event)
    assert len(mailer.sent) == 1 and len(sent_events(store)) == 1


def test_the_unroutable_hear_the_national_office_will_call_and_the_office_hears_of_them(world):
    service, store, mailer, _, _ = world
    service.handle_registration_unroutable(
        an_event("matching", "registration_unroutable", {"registration_id": "r2", "reason": "no route"})
    )
    to_person, to_office = sorted(mailer.sent, key=lambda m: m["to"] != "ola@example.no")
    assert to_person["language"] == "nn" and "nasjonale kontoret" in to_person["text"]
    assert to_office["to"] == "post@national.example.no" and "r2"[:8] in to_office["text"]
    assert "Ola" not in to_office["text"]
    kinds = sorted(e["recipient"]["kind"] for e in sent_events(store))
    assert kinds == ["participant", "staff"]


def test_staff_hear_a_proposal_is_ready_without_its_theme(world):
    service, store, mailer, _, _ = world
    service.handle_group_proposed(
        an_event(
            "matching",
            "group_proposed",
            {
                "group_id": "g1",
                "contact_point_id": "link-bergen",
                "registration_ids": ["r1", "r2", "r3", "r4", "r5"],
                "explanation": {
                    "summary": "Five people who share grief",
                    "slot": {"weekday": "tue", "part_of_day": "evening"},
                    "theme": "grief",
                    "mixed": False,
                    "relaxed": [],
                },
            },
        )
    )
    [mail] = mailer.sent
    assert mail["to"] == "post@link-bergen.example.no" and "5 personer" in mail["text"]
    assert "grief" not in mail["text"].lower() and "sorg" not in mail["text"].lower()
    [sent] = sent_events(store)
    assert sent["recipient"] == {"kind": "staff", "id": "link-bergen"} and sent["registration_id"] is None


def test_a_confirmed_group_invites_every_member_in_their_language_and_channel(world):
    service, store, mailer, sms, _ = world
    service.handle_group_confirmed(confirmed())
    by_address = {m["to"]: m for m in mailer.sent}
    kari, ola = by_address["kari@example.no"], by_address["ola@example.no"]
    for mail in (kari, ola):
        assert "Bergen offentlige bibliotek, rom 3" in mail["text"] and "Strømgaten 6" in mail["text"]
        assert "Ingrid" in mail["text"] and "LINK Bergen" in mail["text"]
        assert "post@link-bergen.example.no" in mail["text"]
    assert "tirsdag 1. desember kl. 18.00" in kari["text"]  # 17:00 UTC is 18:00 in Oslo
    assert "tysdag 1. desember kl. 18.00" in ola["text"] and ola["subject"] == "Velkomen til første møtet"
    [text] = sms.sent
    assert text["to"] == "+4798765432" and "Tuesday 1 December at 18:00" in text["text"] and "Sam" in text["text"]
    assert store.groups["g1"]["registration_ids"] == ["r1", "r2", "r3"]
    assert len(sent_events(store)) == 3


def test_receipts_reuse_the_contact_point_for_a_while_and_invitations_ask_afresh(world):
    service, _, mailer, _, clock = world
    directory = {"link-bergen": dict(CONTACT_POINTS["link-bergen"])}
    service.directory.get_contact_point.side_effect = lambda cp: directory[cp]
    service.handle_registration_waitlisted(waitlisted("r1"))
    directory["link-bergen"] = {
        **directory["link-bergen"],
        "name": "LINK Vestland",
        "sender_name": "LINK Vestland",
        "meeting_places": [{"meeting_place_id": "mp-1", "name": "Nytt rom", "address": ""}],
    }
    service.handle_registration_waitlisted(waitlisted("r2"))
    assert service.directory.get_contact_point.call_count == 1
    assert "LINK Bergen tek" in mailer.sent[-1]["text"]  # within the cache's time: the copy
    service.handle_group_confirmed(confirmed(("r1",)))
    assert "Nytt rom" in mailer.sent[-1]["text"]  # an invitation asks the directory afresh
    assert service.directory.get_contact_point.call_count == 2
    service.handle_registration_waitlisted(waitlisted("r2"))
    assert "LINK Vestland" in mailer.sent[-1]["text"]  # and what it got serves the next receipts
    directory["link-bergen"] = {**directory["link-bergen"], "name": "LINK Hordaland", "sender_name": "LINK Hordaland"}
    clock.moment += timedelta(seconds=CONTACT_POINT_CACHE_SECONDS)
    service.handle_registration_waitlisted(waitlisted("r2"))
    assert service.directory.get_contact_point.call_count == 3
    assert "LINK Hordaland" in mailer.sent[-1]["text"]


def test_a_member_added_later_is_invited_alone(world):
    service, store, mailer, sms, _ = world
    service.handle_group_confirmed(confirmed(("r1", "r3")))
    mailer.sent.clear()
    sms.sent.clear()
    service.handle_group_member_added(
        an_event(
            "matching",
            "group_member_added",
            {
                "group_id": "g1",
                "contact_point_id": "link-bergen",
                "registration_ids": ["r1", "r3", "r2"],
                "registration_id": "r2",
            },
        )
    )
    assert [m["to"] for m in mailer.sent] == ["ola@example.no"] and sms.sent == []
    assert store.groups["g1"]["registration_ids"] == ["r1", "r3", "r2"]


def test_a_member_added_before_the_confirmation_arrived_is_retried(world):
    service, _, mailer, _, _ = world
    with pytest.raises(DeliveryPostponed):
        service.handle_group_member_added(
            an_event(
                "matching",
                "group_member_added",
                {
                    "group_id": "g9",
                    "contact_point_id": "link-bergen",
                    "registration_ids": ["r2"],
                    "registration_id": "r2",
                },
            )
        )
    assert mailer.sent == []


def test_a_transient_failure_for_one_member_retries_only_that_member(world):
    service, store, mailer, sms, clock = world
    mailer.fail("ola@example.no", times=1)
    event = confirmed()
    service.handle_group_confirmed(event)  # the handler does not fail: the message waits
    assert sorted(m["to"] for m in mailer.sent) == ["kari@example.no"] and len(sms.sent) == 1
    assert event.event_id in store.applied
    clock.advance(seconds=30)
    service.send_due_messages()
    assert sorted(m["to"] for m in mailer.sent) == ["kari@example.no", "ola@example.no"] and len(sms.sent) == 1
    assert len(sent_events(store)) == 3


def test_a_refused_channel_falls_back_to_the_other(world):
    service, store, mailer, sms, _ = world
    mailer.fail("kari@example.no", transient=False)
    service.handle_registration_waitlisted(waitlisted())
    assert mailer.sent == [] and [t["to"] for t in sms.sent] == ["+4791234567"]
    [sent] = sent_events(store)
    assert sent["channel"] == "sms"


def test_a_message_no_channel_can_deliver_is_reported_once_and_lands_in_the_digest(world):
    service, store, mailer, _, clock = world
    mailer.fail("ola@example.no", transient=False)
    event = waitlisted("r2")
    service.handle_registration_waitlisted(event)
    service.handle_registration_waitlisted(event)
    [failed] = sent_events(store, "notification_failed")
    assert failed["template"] == "receipt" and "email" in failed["reason"] and "ola" not in failed["reason"]
    assert failed["failure"] == "permanent"
    assert [e["schema_version"] for e in store.events if e["event_type"] == "notification_failed"] == [2]
    clock.moment = at(7, day=29)  # 08:00 in Oslo
    service.send_digests()
    [digest] = [m for m in mailer.sent if m["to"] == "post@link-bergen.example.no"]
    assert "Nye personer i utvalget siden forrige oversikt: 1" in digest["text"]
    assert (
        "r2" in digest["text"] and "(Vi har mottatt påmeldingen din)" in digest["text"] and "Ola" not in digest["text"]
    )


def test_sms_waits_through_quiet_hours_and_goes_once_in_the_morning(world):
    service, store, _, sms, clock = world
    clock.moment = at(21, 30)  # 22:30 in Oslo
    service.handle_registration_waitlisted(waitlisted("r3"))
    assert sms.sent == [] and sent_events(store) == []
    [held] = [r for r in store.deliveries.values() if r["status"] == "held"]
    assert held["release_at"] == at(7, day=29) and held["address"] == "+47*****32"
    clock.moment = at(6, 59, day=29)
    service.send_due_messages()
    assert sms.sent == []
    clock.moment = at(7, 0, day=29)
    service.send_due_messages()
    service.send_due_messages()
    assert len(sms.sent) == 1 and "Sam" in sms.sent[0]["text"]
    assert [e["channel"] for e in sent_events(store)] == ["sms"]


def test_a_held_sms_for_someone_erased_overnight_is_never_sent(world):
    service, store, _, sms, clock = world
    clock.moment = at(22)
    service.handle_registration_waitlisted(waitlisted("r3"))
    del service.people["r3"]
    clock.moment = at(8, day=29)
    service.send_due_messages()
    assert sms.sent == [] and store.deliveries == {}


def test_a_new_message_claimed_at_once_is_given_back_when_nothing_is_sent(world):
    """A new message is claimed before its recipient is looked up: a person gone, or registration
    not answering, leaves no claim behind, and the event's retry sends the receipt."""
    service, store, mailer, _, _ = world
    service.handle_registration_waitlisted(waitlisted("r404"))
    assert mailer.sent == [] and store.deliveries == {}
    event = waitlisted("r1")
    service.registration.contact_details.side_effect = RemoteError("Timeout", "registration did not answer")
    with pytest.raises(RemoteError):
        service.handle_registration_waitlisted(event)
    assert mailer.sent == [] and store.deliveries == {}
    service.registration.contact_details.side_effect = contact_details(service.people)
    service.handle_registration_waitlisted(event)
    [mail] = mailer.sent
    assert mail["to"] == "kari@example.no" and [d["status"] for d in store.deliveries.values()] == ["sent"]


def test_withdrawal_is_confirmed_and_nothing_is_sent_once_the_person_is_gone(world):
    service, store, mailer, _, _ = world
    service.handle_registration_withdrawn(
        an_event("registration", "registration_withdrawn", {"registration_id": "r1", "reason": "person"})
    )
    [mail] = mailer.sent
    assert mail["subject"] == "Påmeldingen din er trukket"
    gone = an_event("registration", "registration_withdrawn", {"registration_id": "r404", "reason": "person"})
    service.handle_registration_withdrawn(gone)
    assert len(mailer.sent) == 1 and gone.event_id in store.applied


def test_erasure_deletes_the_persons_delivery_log(world):
    service, store, _, _, _ = world
    service.handle_registration_waitlisted(waitlisted("r1"))
    service.handle_registration_waitlisted(waitlisted("r2"))
    service.handle_registration_erased(
        an_event("registration", "registration_erased", {"registration_id": "r1", "reason": "request"})
    )
    assert {r["registration_id"] for r in store.deliveries.values()} == {"r2"}
    assert set(store.arrivals) == {"r2"}


def test_the_reminder_goes_once_on_the_day_before_the_first_meeting(world):
    service, store, mailer, sms, clock = world
    service.handle_group_confirmed(confirmed(first_meeting_at=at(17, day=3, month=12)))
    mailer.sent.clear()
    sms.sent.clear()
    clock.moment = at(12, day=1, month=12)
    service.send_reminders()
    assert mailer.sent == []
    clock.moment = at(12, day=2, month=12)
    service.send_reminders()
    service.send_reminders()
    assert sorted(m["subject"] for m in mailer.sent) == [
        "Påminnelse: første møte i morgen",
        "Påminning: første møtet i morgon",
    ]
    assert len(sms.sent) == 1 and "tomorrow" in sms.sent[0]["text"]


def test_the_digest_goes_once_a_day_from_eight(world):
    service, store, mailer, _, clock = world
    service.handle_registration_waitlisted(waitlisted("r1"))
    service.handle_registration_waitlisted(waitlisted("r2"))
    mailer.sent.clear()
    clock.moment = at(6, 59, day=29)
    service.send_digests()
    assert mailer.sent == []
    clock.moment = at(7, 5, day=29)
    service.send_digests()
    service.send_digests()
    [digest] = mailer.sent
    assert digest["to"] == "post@link-bergen.example.no" and ": 2" in digest["text"]
    assert "Alle meldinger ble levert" in digest["text"]


def test_a_referrer_hears_the_status_without_personal_details(world):
    service, store, mailer, _, _ = world
    service.people["r1"]["referral"] = {"referrer_id": "ref-1", "organisation": "Legekontoret"}
    service.gateway.referrer_contact.side_effect = lambda rid, actor: {
        "ref-1": {"email": "gp@clinic.example.no", "name": "Dr. Lund"}
    }[rid]
    service.handle_registration_waitlisted(waitlisted("r1"))
    service.gateway.referrer_contact.assert_called_once_with("ref-1", SELF)  # as notification itself
    [to_referrer] = [m for m in mailer.sent if m["to"] == "gp@clinic.example.no"]
    assert "venter på en gruppe" in to_referrer["text"]
    for secret in ("Kari", "Nordmann", "kari@example.no", "LINK"):
        assert secret not in to_referrer["text"]
    referrer_event = [e for e in sent_events(store) if e["recipient"]["kind"] == "referrer"][0]
    assert referrer_event["recipient"]["id"] == "ref-1" and referrer_event["registration_id"] is None


def test_without_a_referrer_account_no_referrer_message_is_invented(world):
    service, store, mailer, _, _ = world
    service.people["r1"]["referral"] = {"referrer_id": "ref-gone", "organisation": "Legekontoret"}
    service.gateway.referrer_contact.side_effect = RemoteError("NotFound", "no referrer ref-gone")
    service.handle_registration_waitlisted(waitlisted("r1"))
    assert [m["to"] for m in mailer.sent] == ["kari@example.no"]


def test_the_delivery_log_is_masked_and_only_for_the_persons_contact_point(world):
    service, _, _, _, _ = world
    service.handle_registration_waitlisted(waitlisted("r1"))
    staff = {"role": "contact_point_staff", "contact_point_ids": ["link-bergen"]}
    [entry] = service.deliveries("r1", staff)
    assert entry["address"] == "k***@example.no" and entry["status"] == "sent"
    with pytest.raises(NotFound):
        service.deliveries("r1", {"role": "contact_point_staff", "contact_point_ids": ["link-oslo"]})
    assert service.deliveries("r1", {"role": "national_admin"})[0]["template"] == "receipt"


def test_quiet_hours_edges_in_winter_and_summer_time():
    assert domain.in_quiet_hours(at(20))  # 21:00 Oslo
    assert not domain.in_quiet_hours(at(19, 59))
    assert domain.in_quiet_hours(at(6, 59))  # 07:59 Oslo
    assert not domain.in_quiet_hours(at(7))
    summer = at(19, 30, day=1, month=7)  # 21:30 Oslo in summer (UTC+2)
    assert domain.in_quiet_hours(summer)
    assert domain.end_of_quiet_hours(summer) == at(6, day=2, month=7)
    assert domain.end_of_quiet_hours(at(3)) - at(3) == timedelta(hours=4)


def test_a_message_another_worker_is_sending_is_left_to_it_and_retried(world):
    service, store, mailer, _, clock = world
    event = waitlisted("r1")
    nid = domain.notification_id(event.event_id, {"kind": "participant", "id": "r1"}, "receipt")
    assert store.claim(nid, clock.now(), clock.now() + timedelta(minutes=2))
    with pytest.raises(DeliveryPostponed):
        service.handle_registration_waitlisted(event)
    assert mailer.sent == [] and event.event_id not in store.applied
    clock.moment += timedelta(minutes=3)  # that worker died: its lease ran out
    service.handle_registration_waitlisted(event)
    assert len(mailer.sent) == 1 and store.deliveries[nid]["status"] == "sent"


def test_a_dead_workers_claim_expires_within_the_shared_retry_window():
    """A worker killed mid-send leaves its claim; the event's retries must outlive it."""
    from services.common.config import DEFAULT_MAX_ATTEMPTS
    from services.common.topology import RETRY_DELAYS_MS
    from services.notification.handlers import CLAIM_LEASE

    window_ms = sum(RETRY_DELAYS_MS[: DEFAULT_MAX_ATTEMPTS - 1])
    assert 10 < CLAIM_LEASE.total_seconds() < window_ms / 1000
