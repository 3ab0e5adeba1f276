"""Issue 13 in a real browser against the whole system as processes: a participant withdraws
through the personal link in the receipt, and staff take a group from its confirmation through
its start to the handover, after which it runs itself. Every Norwegian page on the way shows no
English, no id and no ISO date, and axe-core finds no violation on it."""

from tests.browser.accessibility import assert_accessible
from tests.browser.stack import person, wait_until
from tests.browser.steps import (
    assert_norwegian_only,
    confirm_proposal,
    hand_over,
    mails_to,
    personal_link,
    register_five,
    sign_in,
)
from tests.bus import Tap

RECEIPT = "Vi har mottatt påmeldingen din"
HANDOVER = "Nå går gruppen din på egen hånd"
CHECKIN = "Hvordan går det i gruppen?"


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
    assert_accessible(page)

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
    assert_accessible(page)


def test_staff_start_a_group_and_hand_it_over(stack, page):
    people = register_five(stack, "anxiety", "fri")
    stack.account("bergen.groups@example.no", "contact_point_staff", "--contact-point", "link-bergen")
    sign_in(page, stack, "bergen.groups@example.no")
    group_id = confirm_proposal(page, stack, "link-bergen", shows="Angst")

    page.goto(f"{stack.url}/staff/link-bergen/groups/{group_id}")
    assert page.get_by_role("heading", level=2).first.inner_text().endswith(": Bekreftet")
    assert_norwegian_only(page)
    assert_accessible(page)
    hand_over(page, stack, "link-bergen", group_id)
    assert page.get_by_role("heading", level=2).first.inner_text().endswith(": Går på egen hånd")
    assert "Annenhver fredag kl. 18.30" in page.locator("dl.facts").inner_text()
    assert page.get_by_role("cell", name="Ja", exact=True).count() == 1  # the one who answers check-ins
    assert page.get_by_role("button", name="Send innsjekk").count() == 1  # the next step of a self-run group
    assert_norwegian_only(page)
    assert_accessible(page)
    for data in people:  # every member hears it, with their personal link
        assert personal_link(mails_to(stack, data["email"], HANDOVER)[0]).startswith(f"{stack.url}/me?t=")


def test_a_member_answers_a_check_in_through_its_link(stack, page, browser):
    people = register_five(stack, "depression", "thu")
    stack.account("bergen.checkins@example.no", "contact_point_staff", "--contact-point", "link-bergen")
    sign_in(page, stack, "bergen.checkins@example.no")
    group_id = confirm_proposal(page, stack, "link-bergen", shows="Depresjon")
    hand_over(page, stack, "link-bergen", group_id)
    page.get_by_role("button", name="Send innsjekk").click()
    assert page.get_by_role("status").first.inner_text() == "Innsjekken er sendt."

    addresses = {data["email"] for data in people}
    [message] = wait_until(  # to the one member who answers check-ins, and no one else
        lambda: [m for m in stack.mails() if m["To"] in addresses and m["Subject"] == CHECKIN],
        timeout=60,
        what="the check-in message",
    )
    member = browser.new_context(locale="nb-NO").new_page()
    member.goto(personal_link(message))
    member.get_by_role("link", name="Gruppen din har fått noen spørsmål om hvordan det går. Svar her.").click()
    assert member.get_by_role("heading", level=1).inner_text() == CHECKIN
    assert_norwegian_only(member)
    assert_accessible(member)
    member.get_by_role("group", name="Møtes gruppen fortsatt?").get_by_label("Ja").check()
    member.get_by_label("Hvor mange kommer vanligvis?").fill("6")
    member.get_by_role("group", name="Vil gruppen ta imot nye medlemmer?").get_by_label("Nei").check()
    member.get_by_role("group", name="Trenger gruppen hjelp fra kontaktpunktet?").get_by_label("Nei").check()
    member.get_by_label("Noe mer du vil fortelle kontaktpunktet? (valgfritt)").fill("Vi trives i biblioteket.")
    member.get_by_role("button", name="Send svarene").click()
    assert member.get_by_role("status").first.inner_text().startswith("Takk for svarene.")
    assert_norwegian_only(member)
    assert_accessible(member)
    member.context.close()

    page.reload()  # the staff see the answer on the group's page, and the comment only when they open it
    [row] = page.locator("table", has_text="Vanlig oppmøte").locator("tbody tr").all()
    assert [cell.inner_text() for cell in row.locator("td").all()][2:5] == ["Ja", "6", "Nei"]
    assert "Vi trives" not in page.locator("main").inner_text()
    assert_norwegian_only(page)
    assert_accessible(page)
    row.get_by_role("link", name="Les kommentaren").click()
    assert "Vi trives i biblioteket." in page.locator("main").inner_text()
