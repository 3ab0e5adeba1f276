"""What the browser tests do again and again, as a person would: sign in, confirm a proposal, hand
a group over, read the link in a message; and a Norwegian page's text checked (tests/page_text.py)."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.browser.stack import PASSWORD, person, wait_until
from tests.page_text import foreign_text

PERSONAL_LINK = re.compile(r"https?://\S+/me\?t=\S+")
OSLO = ZoneInfo("Europe/Oslo")
MONTHS = "januar februar mars april mai juni juli august september oktober november desember".split()


def sign_in(page, stack, email):
    page.goto(f"{stack.url}/login")
    page.get_by_label("E-postadresse", exact=True).fill(email)
    page.get_by_label("Passord").fill(PASSWORD)
    page.get_by_role("button", name="Logg inn").click()


def register_five(stack, theme, weekday):
    """Five people of one theme and evening of their own, so the people of other tests join no
    group of theirs: enough for a proposal."""
    people = [
        person(n, themes=[theme], availability=[{"weekday": weekday, "part_of_day": "evening"}]) for n in range(5)
    ]
    for data in people:
        assert stack.api("POST", "/api/registrations", data)[0] == 201
    return people


def first_meeting_at():
    """When the tests' first meetings are: in ten days at 18:00, Norwegian time (as staff type it)."""
    return (datetime.now(OSLO) + timedelta(days=10)).replace(hour=18, minute=0, second=0, microsecond=0)


def confirm_proposal(page, stack, contact_point_id, shows, inspect=None):
    """Wait for the proposal whose text shows `shows`, `inspect` it if given, confirm it (the
    directory's group room, at first_meeting_at(), Kristin as starter) and return its group id."""

    def proposal():
        page.goto(f"{stack.url}/staff/{contact_point_id}/proposals")
        found = page.locator("article.proposal", has_text=shows)
        return found.first if found.count() else None

    article = wait_until(proposal, timeout=60, what=f"a proposal showing {shows!r}")
    group_id = article.get_attribute("aria-labelledby").removeprefix("g-")
    assert article.locator(".explanation").inner_text().strip()
    if inspect:
        inspect(article)
    article.get_by_label("Møtested").select_option("group-room")  # the directory's own meeting place
    article.get_by_label("Første møte").fill(first_meeting_at().strftime("%Y-%m-%dT%H:%M"))
    article.get_by_label("Igangsetter").select_option(label="Kristin")  # a starter of the contact point
    article.get_by_role("button", name="Bekreft gruppen").click()
    assert re.search(rf"/staff/{contact_point_id}/groups\?done=confirm&ref=[\w-]+$", page.url)
    return group_id


def hand_over(page, stack, contact_point_id, group_id):
    """On the group's page: start the confirmed group, then record its handover with the first
    member as the one who answers check-ins, meeting every other Friday at 18:30 in the group room."""
    page.goto(f"{stack.url}/staff/{contact_point_id}/groups/{group_id}")
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


def mails_to(stack, address, subject):
    """The messages the SMTP sink holds for `address` with `subject`, once there is one."""
    return wait_until(
        lambda: [m for m in stack.mails() if m["To"] == address and m["Subject"] == subject],
        timeout=60,
        what=f"«{subject}» to {address}",
    )


def personal_link(mail):
    return PERSONAL_LINK.search(mail.get_body(preferencelist=("plain",)).get_content()).group(0)


def assert_norwegian_only(page, names=()):
    """What a reader sees on a Norwegian page: no English word, no id, no ISO date, no text key."""
    found = foreign_text(page.locator("main").inner_text(), names)
    assert found is None, f"on {page.url}: {found}"
