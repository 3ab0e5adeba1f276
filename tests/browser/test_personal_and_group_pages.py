"""Issue 13 in a real browser against the whole system as processes: a participant withdraws
through the personal link in the receipt, and staff take a group from its confirmation through
its start to the handover, after which it runs itself. Every Norwegian page on the way shows no
English, no id and no ISO date."""

from tests.browser.stack import person, wait_until
from tests.browser.steps import (
    assert_norwegian_only,
    confirm_proposal,
    mails_to,
    personal_link,
    register_five,
    sign_in,
)
from tests.bus import Tap

RECEIPT = "Vi har mottatt påmeldingen din"
HANDOVER = "Nå går gruppen din på egen hånd"
ROOM = "LINK Bergen og omegn, group room"  # as the example directory names it


def test_a_participant_withdraws_through_the_link_in_the_receipt(stack, page):
    data = person(7, name="Siri")
    assert stack.api("POST", "/api/registrations", data)[0] == 201
    [receipt] = mails_to(stack, data["email"], RECEIPT)

    response = page.goto(personal_link(receipt))  # exchanged for the flokk_me cookie, 303 to /me
    assert page.url == f"{stack.url}/me" and response.headers["cache-control"] == "no-store"
    assert page.get_by_role("heading", level=1).inner_text() == "Hei, Siri"

    def waiting():
        page.reload()
        return "Du venter på en gruppe hos LINK Bergen" in page.locator("main").inner_text()

    wait_until(waiting, what="the person waiting at their contact point")
    assert_norwegian_only(page)

    tap = Tap(stack.env["AMQP_URI"], "registration")
    try:
        page.get_by_role("button", name="Trekk påmeldingen").click()
        [withdrawn] = tap.wait_for("registration_withdrawn")
    finally:
        tap.close()
    assert withdrawn["data"]["reason"] == "person"
    assert (
        page.get_by_role("status").first.inner_text() == "Påmeldingen din er trukket. Du kan komme tilbake når du vil."
    )
    assert "Du har trukket påmeldingen din." in page.locator("main").inner_text()
    assert page.get_by_role("button", name="Meld meg på igjen").count() == 1
    assert page.get_by_role("button", name="Trekk påmeldingen").count() == 0
    assert_norwegian_only(page)


def test_staff_start_a_group_and_hand_it_over(stack, page):
    people = register_five(stack, "anxiety", "fri")
    stack.account("bergen.groups@example.no", "contact_point_staff", "--contact-point", "link-bergen")
    sign_in(page, stack, "bergen.groups@example.no")
    group_id = confirm_proposal(page, stack, "link-bergen", shows="Angst")

    page.goto(f"{stack.url}/staff/link-bergen/groups/{group_id}")
    assert page.get_by_role("heading", level=2).first.inner_text().endswith(": Bekreftet")
    assert_norwegian_only(page, names=[ROOM])
    page.get_by_role("button", name="Marker gruppen som startet").click()
    assert page.get_by_role("status").first.inner_text() == "Gruppen er startet."

    handover = page.locator("form", has_text="Overlevering")
    handover.locator("input[name=checkin_registration_ids]").first.check()
    handover.get_by_label("Ukedag").select_option(label="Fredag")
    handover.get_by_label("Klokkeslett").fill("18:30")
    handover.get_by_label("Annenhver uke").check()
    handover.get_by_label("Møtested").select_option("group-room")
    handover.get_by_role("button", name="Registrer overleveringen").click()

    assert page.get_by_role("status").first.inner_text().startswith("Overleveringen er registrert.")
    assert page.get_by_role("heading", level=2).first.inner_text().endswith(": Går på egen hånd")
    assert "Annenhver fredag kl. 18:30" in page.locator("dl.facts").inner_text()
    assert page.get_by_role("cell", name="Ja", exact=True).count() == 1  # the one who answers check-ins
    assert page.get_by_role("button", name="Send innsjekk").count() == 1  # the next step of a self-run group
    assert_norwegian_only(page, names=[ROOM])
    for data in people:  # every member hears it, with their personal link
        assert personal_link(mails_to(stack, data["email"], HANDOVER)[0]).startswith(f"{stack.url}/me?t=")
