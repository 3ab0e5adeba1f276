"""The gateway in a real browser (Debian's chromium, driven by Playwright) against the whole system
running as processes: the public form, a staff member confirming a proposal, the mail that follows.
Every page state a test reaches is checked with axe-core (every rule, none may be violated), and
the form and the staff pages at 375 px, where nothing may scroll sideways."""

import re
from datetime import datetime

from tests.browser.accessibility import assert_accessible, assert_fits_a_phone
from tests.browser.stack import person, wait_until
from tests.browser.steps import MONTHS, OSLO, confirm_proposal, first_meeting_at, register_five, sign_in


def fill_registration(page, name, email, **choices):
    page.get_by_label("Fornavn eller kallenavn").fill(name)
    page.get_by_label("E-postadresse", exact=True).fill(email)
    page.get_by_label("Postnummer").fill(choices.get("postal_code", "5003"))
    page.get_by_label("Meg selv", exact=True).check()
    page.get_by_label("Sorg", exact=True).check()
    page.get_by_label("Tirsdag kveld", exact=True).check()
    page.locator("#open_to_mixed-yes").check()


def test_register_through_the_public_form_and_get_the_receipt(stack, page):
    page.goto(f"{stack.url}/register")
    assert_accessible(page, "the empty form")
    fill_registration(page, "Kari", "kari.browser@example.no")
    page.get_by_role("button", name="Send påmelding").click()  # no consent yet
    summary = page.get_by_role("alert")
    assert "Du må samtykke" in summary.inner_text()
    assert_accessible(page, "the form with an error")
    summary.get_by_role("link", name=re.compile("Du må samtykke")).click()
    assert page.evaluate("location.hash") == "#consent"
    assert page.get_by_label("Fornavn eller kallenavn").input_value() == "Kari"  # what was typed stays
    page.get_by_label("Jeg samtykker").check()
    page.get_by_role("button", name="Send påmelding").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Takk, vi har fått påmeldingen din"
    assert page.get_by_role("link", name="Grunnreglene i gruppen").count() >= 1  # the receipt page links on
    assert_accessible(page, "the receipt page")
    mail = wait_until(
        lambda: [m for m in stack.mails() if m["To"] == "kari.browser@example.no"],
        what="the receipt at the SMTP server",
    )[0]
    assert "Kari" in mail.get_body(preferencelist=("plain",)).get_content()


def test_a_16_year_old_is_pointed_to_ung_no_and_the_form_fits_a_phone(stack, page):
    page.goto(f"{stack.url}/register")
    assert_fits_a_phone(page, "the form")
    number = page.locator("#postal_code")
    assert (number.get_attribute("inputmode"), number.get_attribute("maxlength")) == ("numeric", "4")
    assert page.locator("#birth_year").get_attribute("inputmode") == "numeric"
    kveld = page.get_by_label("Søndag kveld", exact=True)
    kveld.check()  # the last cell of the time grid, reachable without panning
    box = kveld.bounding_box()
    assert box and box["x"] + box["width"] <= 375
    fill_registration(page, "Ung", "ung.browser@example.no")
    page.get_by_label("Fødselsår").fill(str(datetime.now(OSLO).year - 16))
    page.get_by_label("Jeg samtykker").check()
    page.get_by_role("button", name="Send påmelding").click()
    assert page.get_by_role("link", name="Gå til ung.no").get_attribute("href") == "https://www.ung.no/"
    assert "helsesykepleier eller skolehelsetjenesten i kommunen din" in page.locator("#young").inner_text()
    assert "fire sifre" not in page.locator("#birth_year-error").inner_text()
    assert_fits_a_phone(page, "the form with the under-18 pointer")


def test_the_information_pages_fit_a_phone_and_name_the_help_lines(stack, page):
    for path in ("/about", "/about/ground-rules", "/about/starter", "/for-professionals", "/help-now"):
        page.goto(f"{stack.url}{path}")
        assert_fits_a_phone(page, path)
    assert page.get_by_role("link", name="116 123").get_attribute("href") == "tel:116123"


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
    checked = browser.new_context()  # axe needs a script of its own: the same page, scripts on
    page = checked.new_page()
    page.goto(f"{stack.url}/register?lang=en")
    assert_accessible(page, "the English form")
    checked.close()


def fill_registration_en(page):
    page.get_by_label("First name or nickname").fill("Ola")
    page.get_by_label("E-mail address", exact=True).fill("ola.browser@example.no")
    page.get_by_label("Postal code").fill("5003")
    page.get_by_label("Myself", exact=True).check()
    page.get_by_label("Grief", exact=True).check()
    page.get_by_label("Tuesday evening", exact=True).check()
    page.locator("#open_to_mixed-yes").check()
    page.get_by_label("I agree").check()


def test_staff_of_another_contact_point_are_refused(stack, page):
    stack.account("oslo.staff@example.no", "contact_point_staff", "--contact-point", "link-oslo")
    sign_in(page, stack, "oslo.staff@example.no")
    response = page.goto(f"{stack.url}/staff/link-bergen/pool")
    assert response.status == 403 and page.get_by_role("heading", level=1).inner_text() == "Ikke tilgang"
    assert_accessible(page, "the refusal")


def test_staff_confirm_a_group_at_18_and_see_18_as_the_invitation_says(stack, page):
    people = register_five(stack, "loneliness", "wed")
    stack.account("bergen.staff@example.no", "contact_point_staff", "--contact-point", "link-bergen")
    sign_in(page, stack, "bergen.staff@example.no")
    assert page.url.endswith("/staff/link-bergen/pool")

    def check_the_proposal(proposal):
        explanation = proposal.locator(".explanation").inner_text()
        assert "personer kan møtes onsdag kveld og har ensomhet som felles tema" in explanation
        assert "Deltaker0" in proposal.inner_text()  # staff of the proposal's contact point see first names
        assert_accessible(page, "the proposals")
        assert_fits_a_phone(page, "the proposals")
        page.set_viewport_size({"width": 1200, "height": 900})

    confirm_proposal(page, stack, "link-bergen", shows="Ensomhet", inspect=check_the_proposal)
    first_meeting = first_meeting_at()
    assert page.get_by_role("cell", name="Bekreftet", exact=True).count() == 1
    day = f"{first_meeting.day}. {MONTHS[first_meeting.month - 1]}"
    assert f"{day} {first_meeting.year} kl. 18.00" in page.locator("table").inner_text()  # Oslo time, as typed
    assert_accessible(page, "the groups")
    assert_fits_a_phone(page, "the groups")
    page.goto(f"{stack.url}/staff/link-bergen/pool")
    assert_fits_a_phone(page, "the waiting list")

    receipts = "Vi har mottatt påmeldingen din"
    addresses = {data["email"] for data in people}
    invitations = wait_until(
        lambda: (
            (found := [m for m in stack.mails() if m["To"] in addresses and m["Subject"] != receipts])
            and {m["To"] for m in found} == addresses
            and found
        ),
        timeout=60,
        what="an invitation to each of the five",
    )
    for mail in invitations:
        assert f"{day} kl. 18.00" in mail.get_body(preferencelist=("plain",)).get_content()  # the time staff saw


def test_staff_withdraw_someone_only_after_confirming_and_are_told_it_is_done(stack, page):
    data = person(9, themes=["burnout"], availability=[{"weekday": "mon", "part_of_day": "morning"}])
    status, created = stack.api("POST", "/api/registrations", data)
    assert status == 201
    stack.account("bergen.staff2@example.no", "contact_point_staff", "--contact-point", "link-bergen")
    sign_in(page, stack, "bergen.staff2@example.no")
    reference = created["registration_id"][:8]

    def listed():
        page.goto(f"{stack.url}/staff/link-bergen/pool")
        return page.get_by_role("link", name=reference).count() == 1

    wait_until(listed, timeout=30, what="the person on the waiting list")
    page.get_by_role("link", name=reference).click()
    page.get_by_label("Personen vil trekke seg eller bli slettet").check()
    page.get_by_role("button", name="Vis opplysningene").click()
    assert page.get_by_text("Deltaker9", exact=True).count() == 1
    assert_fits_a_phone(page, "a person's details")
    page.get_by_role("link", name="Ta ut av gruppearbeidet").click()
    assert reference in page.get_by_role("heading", level=2).inner_text()  # asked first, nothing done yet
    assert_accessible(page, "the confirming step")
    page.get_by_role("button", name="Ja, ta ut av gruppearbeidet").click()
    assert (
        f"Personen med referanse {reference} er tatt ut av gruppearbeidet." in page.get_by_role("status").inner_text()
    )
    assert_accessible(page, "the waiting list after a withdrawal")
    wait_until(lambda: not listed(), timeout=30, what="the person gone from the waiting list")


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
    assert_accessible(page, "the national queue")
    page.get_by_label("Referanse", exact=True).fill(reference)
    page.get_by_role("button", name="Søk").click()
    person_section = page.locator("section.queued")
    assert person_section.count() == 1 and reference in person_section.inner_text()
    assert "Bor på Svalbard eller Jan Mayen" in person_section.inner_text()
    assert_accessible(page, "the national queue searched by reference")
    person_section.get_by_label("Gi til kontaktpunkt").select_option(label="LINK Bergen og omegn")
    person_section.get_by_role("button", name="Gi til kontaktpunktet").click()
    assert page.url.endswith("/national/queue?done=assigned")
    assert "Personen venter nå hos kontaktpunktet" in page.get_by_role("status").inner_text()
    assert_accessible(page, "the national queue after an assignment")
    assert reference not in page.locator("main").inner_text()

    stack.account("bergen.pool@example.no", "contact_point_staff", "--contact-point", "link-bergen")
    page.context.clear_cookies()
    sign_in(page, stack, "bergen.pool@example.no")
    assert page.url.endswith("/staff/link-bergen/pool")
    assert page.get_by_role("link", name=reference).count() == 1
