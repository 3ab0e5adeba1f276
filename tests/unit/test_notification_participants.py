"""notification, issue 13: the personal link in every message to a participant (e-mail and SMS),
the new link a person asked for, and the group's life after the start. Fakes of notification's
own store and channels; the other services' proxies are mocks answering their documented shapes."""

import pytest

from tests.fakes import an_event
from tests.fakes.notification import at, confirmed, notification_world, personal_link, sent_events, waitlisted


@pytest.fixture
def world():
    return notification_world()


def test_the_receipt_carries_the_persons_own_link_by_email_and_by_sms(world):
    service, store, mailer, sms, clock = world
    service.handle_registration_waitlisted(waitlisted("r1"))
    service.handle_registration_waitlisted(waitlisted("r3"))  # Sam prefers SMS
    [mail], [text] = mailer.sent, sms.sent
    assert personal_link("r1") in mail["text"] and personal_link("r1") in mail["html"]
    assert personal_link("r3") in text["text"] and personal_link("r1") not in text["text"]


def test_invitations_reminders_and_the_withdrawal_carry_the_link(world):
    service, _, mailer, _, clock = world
    service.handle_group_confirmed(confirmed(["r1", "r2"]))
    clock.moment = at(9, day=30)  # the day before the first meeting
    service.send_reminders()
    service.handle_registration_withdrawn(
        an_event("registration", "registration_withdrawn", {"registration_id": "r1", "reason": "person"})
    )
    assert [m["subject"] for m in mailer.sent] == [
        "Velkommen til første møte",
        "Velkomen til første møtet",
        "Påminnelse: første møte i morgen",
        "Påminning: første møtet i morgon",
        "Påmeldingen din er trukket",
    ]
    for mail in mailer.sent:
        owner = "r1" if mail["to"] == "kari@example.no" else "r2"
        assert personal_link(owner) in mail["text"], mail["subject"]


def test_the_link_is_made_at_send_time_and_never_stored(world):
    service, store, _, _, _ = world
    service.handle_registration_waitlisted(waitlisted("r1"))
    assert "token" not in repr(store.deliveries) and "/me?t=" not in repr(store.deliveries)


def test_a_person_who_asked_for_a_new_link_gets_it_even_when_withdrawn(world):
    service, store, mailer, sms, _ = world
    service.people["r1"]["status"] = "withdrawn"
    event = an_event("registration", "personal_link_requested", {"registration_id": "r1"})
    service.handle_personal_link_requested(event)
    service.handle_personal_link_requested(event)  # once, however often it comes
    [mail] = mailer.sent
    assert mail["subject"] == "Lenke til den personlige siden din" and personal_link("r1") in mail["text"]
    [sent] = sent_events(store)
    assert (sent["template"], sent["registration_id"]) == ("new_link", "r1")
    service.handle_personal_link_requested(
        an_event("registration", "personal_link_requested", {"registration_id": "r3"})
    )
    assert personal_link("r3") in sms.sent[0]["text"]  # by the channel the person prefers


def test_a_new_link_for_an_erased_person_goes_nowhere(world):
    service, store, mailer, _, _ = world
    service.handle_personal_link_requested(
        an_event("registration", "personal_link_requested", {"registration_id": "gone"})
    )
    assert mailer.sent == [] and sent_events(store) == []
