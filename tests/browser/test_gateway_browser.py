"""The gateway in a real browser (Debian's chromium, driven by Playwright) against the whole system
running as processes: the public form, a staff member confirming a proposal, the mail that follows."""

import re

from tests.browser.stack import person, wait_until
from tests.browser.steps import confirm_proposal, register_five, sign_in


def fill_registration(page, name, email, **choices):
    page.get_by_label("Fornavn eller kallenavn").fill(name)
    page.get_by_label("E-postadresse", exact=True).fill(email)
    page.get_by_label("Postnummer").fill(choices.get("postal_code", "5003"))
    page.get_by_label("Meg selv", exact=True).check()
    page.get_by_label("Sorg", exact=True).check()
    page.get_by_label("Tirsdag Kveld", exact=True).check()
    page.locator("#open_to_mixed-yes").check()


def test_register_through_the_public_form_and_get_the_receipt(stack, page):
    page.goto(f"{stack.url}/register")
    fill_registration(page, "Kari", "kari.browser@example.no")
    page.get_by_role("button", name="Send påmelding").click()  # no consent yet
    summary = page.get_by_role("alert")
    assert "Du må samtykke" in summary.inner_text()
    summary.get_by_role("link", name=re.compile("Du må samtykke")).click()
    assert page.evaluate("location.hash") == "#consent"
    assert page.get_by_label("Fornavn eller kallenavn").input_value() == "Kari"  # what was typed stays
    page.get_by_label("Jeg samtykker").check()
    page.get_by_role("button", name="Send påmelding").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Takk, vi har fått påmeldingen din"
    mail = wait_until(
        lambda: [m for m in stack.mails() if m["To"] == "kari.browser@example.no"],
        what="the receipt at the SMTP server",
    )[0]
    assert "Kari" in mail.get_body(preferencelist=("plain",)).get_content()


def test_the_public_form_works_with_the_keyboard_and_without_javascript(stack, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{stack.url}/register?lang=en")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    fill_registration_en(page)
    page.get_by_role("button", name="Send").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Thank you, we have your registration"
    context.close()


def fill_registration_en(page):
    page.get_by_label("First name or nickname").fill("Ola")
    page.get_by_label("E-mail address", exact=True).fill("ola.browser@example.no")
    page.get_by_label("Postal code").fill("5003")
    page.get_by_label("Myself", exact=True).check()
    page.get_by_label("Grief", exact=True).check()
    page.get_by_label("Tuesday Evening", exact=True).check()
    page.locator("#open_to_mixed-yes").check()
    page.get_by_label("I agree").check()


def test_staff_of_another_contact_point_are_refused(stack, page):
    stack.account("oslo.staff@example.no", "contact_point_staff", "--contact-point", "link-oslo")
    sign_in(page, stack, "oslo.staff@example.no")
    response = page.goto(f"{stack.url}/staff/link-bergen/pool")
    assert response.status == 403 and page.get_by_role("heading", level=1).inner_text() == "Ikke tilgang"


def test_staff_confirm_a_proposal_and_the_invitations_arrive(stack, page):
    people = register_five(stack, "loneliness", "wed")
    stack.account("bergen.staff@example.no", "contact_point_staff", "--contact-point", "link-bergen")
    sign_in(page, stack, "bergen.staff@example.no")
    assert page.url.endswith("/staff/link-bergen/pool")
    confirm_proposal(page, stack, "link-bergen", shows="Ensomhet")
    assert page.get_by_role("cell", name="Bekreftet", exact=True).count() == 1

    receipts = "Vi har mottatt påmeldingen din"
    addresses = {data["email"] for data in people}
    invited = wait_until(
        lambda: (
            {m["To"] for m in stack.mails() if m["To"] in addresses and m["Subject"] != receipts} == addresses or None
        ),
        timeout=60,
        what="an invitation to each of the five",
    )
    assert invited


def test_the_national_office_assigns_a_queued_person_who_then_waits_in_the_contact_points_pool(stack, page):
    # From Svalbard (9170), and no digital group: only the national office can take them. Their own
    # theme and morning, so nobody of the other tests makes a group with them.
    data = person(9, postal_code="9170", themes=["cancer"], availability=[{"weekday": "fri", "part_of_day": "morning"}])
    status, created = stack.api("POST", "/api/registrations", data)
    assert status == 201
    reference = created["registration_id"][:8]  # what the national office's e-mail names
    wait_until(
        lambda: [m for m in stack.mails() if m["Subject"] == "En påmelding uten lokalt tilbud"],
        timeout=60,
        what="the national office told of the registration",
    )
    stack.account("national.queue@example.no", "national_admin")
    sign_in(page, stack, "national.queue@example.no")
    page.get_by_role("link", name="Nasjonal kø").first.click()
    page.get_by_label("Referanse", exact=True).fill(reference)
    page.get_by_role("button", name="Søk").click()
    person_section = page.locator("section.queued")
    assert person_section.count() == 1 and reference in person_section.inner_text()
    assert "Bor på Svalbard eller Jan Mayen" in person_section.inner_text()
    person_section.get_by_label("Gi til kontaktpunkt").select_option(label="LINK Bergen og omegn")
    person_section.get_by_role("button", name="Gi til kontaktpunktet").click()
    assert page.url.endswith("/national/queue?done=assigned")
    assert "Personen venter nå hos kontaktpunktet" in page.get_by_role("status").inner_text()
    assert reference not in page.locator("main").inner_text()

    stack.account("bergen.pool@example.no", "contact_point_staff", "--contact-point", "link-bergen")
    page.context.clear_cookies()
    sign_in(page, stack, "bergen.pool@example.no")
    assert page.url.endswith("/staff/link-bergen/pool")
    assert page.get_by_role("link", name=reference).count() == 1
