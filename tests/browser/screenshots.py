"""`make screenshots`: the main pages, in headless Debian chromium, as PNG files.

    python -m tests.browser.screenshots docs/screenshots

Runs the whole system as processes (tests/browser/stack.py) on the test broker and store. Services
named in FLOKK_SCREENSHOT_STAND_INS (comma-separated, e.g. "matching,notification") are replaced by
stand-ins that answer the documented RPCs with example data, for pages whose real RPCs are not
there yet; without it every service is the real one."""

import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.browser.conftest import CHROMIUM
from tests.browser.stack import PASSWORD, PY, Stack, person, vhost, wait_until
from tests.browser.steps import personal_link

RECEIPT = "Vi har mottatt påmeldingen din"

PAGES = [  # file name, path, who is signed in, full page?
    ("home", "/", None, False),
    ("register", "/register", None, True),
    ("find", "/find?postal_code=5003", None, False),
    ("contact-point", "/contact-points/link-bergen", None, True),
    ("coverage", "/coverage", None, False),
    ("login", "/login", None, False),
    ("staff-pool", "/staff/link-bergen/pool", "staff", False),
    ("staff-proposals", "/staff/link-bergen/proposals", "staff", True),
    ("staff-groups", "/staff/link-bergen/groups", "staff", False),
    ("staff-person-why", "/staff/link-bergen/people/reg-1", "staff", False),
    ("staff-directory", "/staff/link-bergen/directory", "staff", False),
    ("staff-figures", "/staff/link-bergen/figures", "staff", False),
    ("referrer", "/referrer", "referrer", False),
    ("national", "/national?lang=nn", "admin", True),
    ("national-queue", "/national/queue", "admin", True),
    ("national-tokens", "/national/tokens", "admin", True),
    ("staff-group", "/staff/link-bergen/groups/{group_id}", "staff", True),
    ("me", "{personal_link}", "person", False),
    ("about", "/about", None, True),
    ("help-now", "/help-now", None, False),
    ("register-en", "/register?lang=en", None, False),  # last: the language choice is remembered
]
ACCOUNTS = {
    "staff": ("staff@example.no", "contact_point_staff", "--contact-point", "link-bergen", "--name", "Siri"),
    "referrer": ("fastlege@example.no", "referrer", "--name", "Dr. Lund", "--referrer-id", "ref-lund"),
    "admin": ("nasjonal@example.no", "national_admin", "--name", "Nasjonalt kontor"),
}


def main(out_dir):
    from playwright.sync_api import sync_playwright

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stand_ins = [s for s in os.environ.get("FLOKK_SCREENSHOT_STAND_INS", "").split(",") if s]
    with vhost() as amqp_uri, tempfile.TemporaryDirectory(prefix="flokk-shots-") as run_dir:
        stack = Stack(run_dir, amqp_uri, stand_ins=stand_ins)
        try:
            stack.start()
            if "directory" not in stand_ins:
                stack.seed_directory()
            for email, role, *extra in ACCOUNTS.values():
                stack.account(email, role, *extra)
            found = {}
            if not stand_ins:
                found = populate(stack)
            else:
                for n in range(6):
                    stack.api("POST", "/api/registrations", person(n))
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                shoot(browser, stack, out, found)
                browser.close()
        finally:
            stack.stop()
    print(f"screenshots in {out}" + (f" (stand-ins: {', '.join(stand_ins)})" if stand_ins else ""))


def populate(stack):
    """Real data through the system's own doors: five people who make a proposal, five more who
    make a group that staff confirm, two still waiting, two referred by the referrer, and one from
    Svalbard whom only the national office can take. Returns what the paths of the pages need: the
    confirmed group's id and the personal link in one waiting person's receipt."""

    def token(who):
        minted = stack.run([PY, "-m", "services.gateway.accounts", "token", "--email", ACCOUNTS[who][0]])
        return {"Authorization": f"Bearer {minted.strip()}"}

    def evening(weekday):
        return [{"weekday": weekday, "part_of_day": "evening"}]

    people = [person(n) for n in range(5)]
    people += [person(n, themes=["loneliness"], availability=evening("wed")) for n in range(5, 10)]
    people += [person(n, themes=["anxiety"], availability=evening("thu")) for n in range(10, 12)]
    people += [person(14, postal_code="9170", themes=["cancer"], availability=evening("fri"))]
    for data in people:
        stack.api("POST", "/api/registrations", data)
    referrer = token("referrer")
    for n in range(12, 14):
        stack.api(
            "POST",
            "/api/registrations",
            person(
                n,
                themes=["depression"],
                availability=evening("mon"),
                referral={"referrer_id": "ref-lund", "organisation": "Legekontoret Sentrum"},
                consent={**people[0]["consent"], "channel": "referrer"},
            ),
            referrer,
        )
    staff = token("staff")
    proposals = wait_until(
        lambda: (lambda found: len(found) == 2 and found)(
            stack.api("GET", "/api/contact-points/link-bergen/proposals", headers=staff)[1]
        ),
        timeout=60,
        what="two proposals",
    )
    lonely = next(p for p in proposals if p["theme"] == "loneliness")
    first_meeting = (datetime.now(UTC) + timedelta(days=10)).replace(hour=17, minute=0, second=0, microsecond=0)
    status, answer = stack.api(
        "POST",
        f"/api/contact-points/link-bergen/groups/{lonely['group_id']}/confirm",
        {
            "meeting_place_id": "group-room",
            "first_meeting_at": first_meeting.isoformat(),
            "starter_id": "link-bergen-starter-1",
        },
        staff,
    )
    assert status == 200, answer
    waiting = people[10]["email"]
    receipt = wait_until(
        lambda: [m for m in stack.mails() if m["To"] == waiting and m["Subject"] == RECEIPT],
        timeout=60,
        what=f"the receipt to {waiting}",
    )[0]
    return {"group_id": lonely["group_id"], "personal_link": personal_link(receipt)}


def shoot(browser, stack, out, found):
    """Every page of PAGES whose path can be made from what `populate` found (with stand-ins, the
    group's page and the personal page are left out)."""
    contexts = {}
    for name, template, who, full in PAGES:
        try:
            path = template.format(**found)
        except KeyError:
            print(f"{name}.png  left out: no {template} with stand-ins")
            continue
        if who not in contexts:
            contexts[who] = browser.new_context(viewport={"width": 1100, "height": 820}, locale="nb-NO")
            if who in ACCOUNTS:
                sign_in(contexts[who].new_page(), stack, ACCOUNTS[who][0])
        page = contexts[who].new_page()
        response = page.goto(path if path.startswith("http") else stack.url + path)
        page.screenshot(path=str(out / f"{name}.png"), full_page=full)
        shown = "/me (the personal link in a receipt)" if name == "me" else path  # the link is a credential
        print(f"{name}.png  {shown}  HTTP {response.status}")
        if name == "register":
            page.get_by_role("button", name="Send påmelding").click()
            page.screenshot(path=str(out / "register-errors.png"), full_page=False)
            print("register-errors.png  the same form sent empty")
        page.close()
    for context in contexts.values():
        context.close()


def sign_in(page, stack, email):
    page.goto(f"{stack.url}/login")
    page.get_by_label("E-postadresse").fill(email)
    page.get_by_label("Passord").fill(PASSWORD)
    page.get_by_role("button", name="Logg inn").click()
    page.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
