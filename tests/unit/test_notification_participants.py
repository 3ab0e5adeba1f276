"""notification, issue 13: the personal link in every message to a participant (e-mail and SMS),
the new link a person asked for, and the group's life after the start. Fakes of notification's
own store and channels; the other services' proxies are mocks answering their documented shapes."""

import pytest
from nameko.exceptions import RemoteError

from services.notification.handlers import DeliveryPostponed
from tests.fakes import an_event
from tests.fakes.notification import (
    VIDEO_URL,
    at,
    confirmed,
    notification_world,
    personal_link,
    sent_events,
    waitlisted,
)


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


# --- the group's life -------------------------------------------------------------------------------

SCHEDULE = {"weekday": "thu", "start_time": "18:00", "every": "other_week", "meeting_place_id": "mp-1"}
GROUP = {"group_id": "g1", "contact_point_id": "link-bergen", "registration_ids": ["r1", "r2", "r3"]}


def group_event(event_type, **data):
    return an_event("matching", event_type, {**GROUP, **data})


def confirmed_v2(planned_on="2026-12-15"):
    event = confirmed(["r1", "r2", "r3"])
    return an_event("matching", "group_confirmed", {**event.data, "handover_planned_on": planned_on}, schema_version=2)


def test_at_the_handover_every_member_hears_the_group_runs_itself_with_its_schedule(world):
    service, store, mailer, sms, _ = world
    service.handle_group_confirmed(confirmed_v2())
    mailer.sent.clear()
    sms.sent.clear()
    service.handle_group_started(group_event("group_started", started_at=at(17, day=1, month=12)))
    assert mailer.sent == [] and store.groups["g1"]["state"] == "started"  # nothing to send
    event = group_event(
        "group_self_run", handover_at=at(12, day=15, month=12), checkin_registration_ids=["r1"], schedule=SCHEDULE
    )
    service.handle_group_self_run(event)
    service.handle_group_self_run(event)  # once
    kari, ola = mailer.sent
    assert kari["subject"] == "Nå går gruppen din på egen hånd"
    assert "annenhver torsdag kl. 18.00, Bergen offentlige bibliotek, rom 3" in kari["text"]
    assert "post@link-bergen.example.no" in kari["text"] and personal_link("r1") in kari["text"]
    assert ola["subject"] == "No går gruppa di på eiga hand" and "annakvar torsdag" in ola["text"]
    [text] = sms.sent
    assert "every other Thursday at 18:00" in text["text"] and personal_link("r3") in text["text"]
    assert store.groups["g1"]["state"] == "self_run" and store.groups["g1"]["checkin_registration_ids"] == ["r1"]


def test_a_handover_without_a_schedule_says_so_plainly(world):
    service, _, mailer, _, _ = world
    service.handle_group_confirmed(confirmed_v2())
    mailer.sent.clear()
    service.handle_group_self_run(
        group_event("group_self_run", handover_at=at(12), checkin_registration_ids=[], schedule=None)
    )
    assert "Dere møtes" not in mailer.sent[0]["text"] and "egen hånd." in mailer.sent[0]["text"]


def test_a_check_in_goes_to_the_check_in_members_only_and_waits_for_the_handover_to_arrive(world):
    service, store, mailer, _, _ = world
    service.handle_group_confirmed(confirmed_v2())
    mailer.sent.clear()
    due = group_event("group_checkin_due", checkin_id="c1", number=1, due_at=at(12))
    with pytest.raises(DeliveryPostponed):
        service.handle_group_checkin_due(due)  # its group_self_run is still on its way
    service.handle_group_self_run(
        group_event("group_self_run", handover_at=at(11), checkin_registration_ids=["r2"], schedule=SCHEDULE)
    )
    mailer.sent.clear()
    service.handle_group_checkin_due(due)
    [mail] = mailer.sent
    assert mail["to"] == "ola@example.no" and mail["subject"] == "Korleis går det i gruppa?"
    assert personal_link("r2") in mail["text"]


def test_the_digest_reminds_staff_once_of_a_handover_not_recorded_14_days_after_the_planned_day(world):
    service, store, mailer, _, clock = world
    service.handle_group_confirmed(confirmed_v2(planned_on="2026-12-15"))
    mailer.sent.clear()
    clock.moment = at(9, day=28, month=12)  # 13 days after
    service.send_digests()
    assert mailer.sent == []
    clock.moment = at(9, day=29, month=12)  # 14 days after
    service.send_digests()
    [digest] = mailer.sent
    assert "Overlevering er ikke registrert for 1 gruppe," in digest["text"] and "g1"[:8] in digest["text"]
    clock.moment = at(9, day=30, month=12)
    service.send_digests()
    assert len(mailer.sent) == 1


def test_a_group_handed_over_in_time_or_confirmed_without_a_plan_is_no_reminder(world):
    service, store, mailer, _, clock = world
    service.handle_group_confirmed(confirmed())  # version 1: no planned day
    assert store.groups["g1"]["handover_planned_on"] is None
    service.handle_group_confirmed(
        an_event("matching", "group_confirmed", {**confirmed_v2().data, "group_id": "g2"}, schema_version=2)
    )
    service.handle_group_self_run(
        an_event(
            "matching",
            "group_self_run",
            {**GROUP, "group_id": "g2", "handover_at": at(12), "checkin_registration_ids": [], "schedule": None},
        )
    )
    mailer.sent.clear()
    clock.moment = at(9, day=29, month=12)
    service.send_digests()
    assert mailer.sent == []


# --- newcomers ----------------------------------------------------------------------------------------


def added(rid="r2", **v2):
    data = {**GROUP, "registration_id": rid}
    if not v2:
        return an_event("matching", "group_member_added", data)
    return an_event("matching", "group_member_added", {**data, **v2}, schema_version=2)


def test_a_newcomer_to_a_confirmed_group_before_its_first_meeting_gets_the_invitation(world):
    service, _, mailer, _, _ = world
    service.handle_group_confirmed(confirmed(["r1", "r3"]))
    mailer.sent.clear()
    service.handle_group_member_added(
        added(group_state="confirmed", schedule=None, next_meeting_at=at(17, day=1, month=12).isoformat())
    )
    [mail] = mailer.sent
    assert mail["subject"] == "Velkomen til første møtet" and "Ingrid" in mail["text"]


def test_a_newcomer_to_a_self_run_group_hears_its_schedule_and_next_meeting_and_no_starter(world):
    service, _, mailer, _, clock = world
    service.handle_group_confirmed(confirmed(["r1", "r3"]))
    mailer.sent.clear()
    clock.moment = at(12, day=20, month=12)
    # Matching named Thursday 17 December; the message waited: the next one by the schedule is the 31st.
    service.handle_group_member_added(
        added("r1", group_state="self_run", schedule=SCHEDULE, next_meeting_at=at(17, day=17, month=12).isoformat())
    )
    [mail] = mailer.sent
    assert mail["subject"] == "Velkommen i gruppen"
    assert "Gruppen møtes annenhver torsdag kl. 18.00." in mail["text"]
    assert "Neste møte er torsdag 31. desember kl. 18.00. Sted: Bergen offentlige bibliotek, rom 3" in mail["text"]
    assert "Ingrid" not in mail["text"] and personal_link("r1") in mail["text"]


def test_a_newcomer_to_a_started_group_without_a_time_hears_the_contact_point_will_agree_one(world):
    service, _, mailer, _, clock = world
    service.handle_group_confirmed(confirmed(["r1", "r3"]))
    mailer.sent.clear()
    clock.moment = at(12, day=5, month=12)  # the first meeting is past
    service.handle_group_member_added(added("r1", group_state="started", schedule=None, next_meeting_at=None))
    [mail] = mailer.sent
    assert "LINK Bergen avtaler det første møtet med deg." in mail["text"]
    assert "Ingrid fra LINK Bergen er med gruppen en stund til" in mail["text"]
    assert "desember" not in mail["text"]  # no date at all, least of all a past one


def test_nobody_is_told_of_a_place_in_a_mere_proposal(world):
    service, store, mailer, _, _ = world
    service.handle_group_member_added(added(group_state="proposed", schedule=None, next_meeting_at=None))
    assert mailer.sent == [] and sent_events(store) == []  # and no waiting for a group_confirmed


# --- digital groups -----------------------------------------------------------------------------------


def digital_confirmed(registration_ids=("r1", "r3")):
    event = confirmed(list(registration_ids))
    data = {**event.data, "contact_point_id": "digital-cp", "meeting_place_id": "video-1", "starter_id": "st-2"}
    return an_event("matching", "group_confirmed", {**data, "handover_planned_on": None}, schema_version=2)


def test_an_invitation_to_a_digital_group_carries_its_video_link_and_a_reminder_only_the_personal_link(world):
    service, store, mailer, sms, clock = world
    service.handle_group_confirmed(digital_confirmed())
    [mail], [text] = mailer.sent, sms.sent
    assert VIDEO_URL in mail["text"] and "Møtet er digitalt (Videorommet)" in mail["text"]
    assert "Nora fra Flokk – selvhjelpsgrupper møter deg i møtet" in mail["text"]
    assert VIDEO_URL in text["text"] and "The meeting is online" in text["text"]
    clock.moment = at(9, day=30)
    service.send_reminders()
    reminder_mail, reminder_text = mailer.sent[-1], sms.sent[-1]
    for reminder, rid in ((reminder_mail, "r1"), (reminder_text, "r3")):
        assert VIDEO_URL not in reminder["text"] and personal_link(rid) in reminder["text"]
    assert "The link to the meeting is on your personal page." in reminder_text["text"]
    assert VIDEO_URL not in repr(store.deliveries) + repr(store.events)


def test_a_digital_place_the_directory_holds_no_link_for_fails_the_invitation_for_staff_to_see(world):
    service, store, mailer, _, _ = world
    service.directory.meeting_link.side_effect = RemoteError("NotFound", "no video link")
    service.handle_group_confirmed(digital_confirmed(["r1"]))
    assert mailer.sent == []
    [failed] = sent_events(store, "notification_failed")
    assert failed["template"] == "invitation" and "video link" in failed["reason"]
