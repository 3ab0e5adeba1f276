"""A person uses the personal link in their receipt, end to end: the five services as processes
of their own, a real SMTP server, and the gateway's pages over real HTTP with a cookie jar, as a
browser without JavaScript would use them. Each step is checked on the bus."""

import email
import email.policy
import http.cookiejar
import json
import re
import urllib.parse
import urllib.request

from services.common.actors import SELF
from tests import samples
from tests.actors import OPS, rpc_as
from tests.samples import intake
from tests.waiting import wait_until

BERGEN = dict(samples.BERGEN)
LINK = re.compile(r"(https?://\S+/me\?t=(\S+))")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """What a browser does with the pages: keeps cookies, follows redirects, sends forms."""

    def __init__(self):
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.page = ""

    def open(self, url, form=None):
        data = urllib.parse.urlencode(form, doseq=True).encode() if form is not None else None
        with self.opener.open(urllib.request.Request(url, data=data), timeout=30) as response:
            self.page = response.read().decode()
            return response

    def send(self, url, **form):
        """A form of the page last opened, with its CSRF token."""
        return self.open(url, {**form, "csrf_token": CSRF.search(self.page).group(1)})


def test_a_personal_link_pauses_changes_withdraws_and_comes_back_each_on_the_bus(stack):
    config, run_dir, tap, env = stack
    gateway = f"http://127.0.0.1:{env['GATEWAY_PORT']}"
    with rpc_as(OPS, config, timeout=30, wall_clock=True) as ops:
        ops.directory.upsert_contact_point(BERGEN, SELF)
    data = intake(name="Kari Nordmann", email="kari.link@example.no")
    with urllib.request.urlopen(
        urllib.request.Request(
            f"{gateway}/api/registrations",
            data=json.dumps(data).encode(),
            headers={"Content-Type": "application/json"},
        ),
        timeout=30,
    ) as created:
        assert created.status == 201
    rid = tap.wait_for("registration_waitlisted")[0]["data"]["registration_id"]

    receipt = wait_until(lambda: sorted((run_dir / "mail").glob("*.eml")), timeout=30, what="the receipt")[0]
    text = email.message_from_bytes(receipt.read_bytes(), policy=email.policy.default)
    link, token = LINK.search(text.get_body(preferencelist=("plain",)).get_content()).groups()
    assert link.startswith(gateway)

    browser = Browser()
    opened = browser.open(link)  # 303 to /me with the flokk_me cookie, followed
    assert opened.url == f"{gateway}/me" and opened.headers["Referrer-Policy"] == "no-referrer"
    assert "Du venter på en gruppe hos LINK Bergen og omegn" in browser.page

    browser.send(f"{gateway}/me/pause", weeks="3")
    paused = tap.wait_for("registration_paused")[0]["data"]
    assert paused["registration_id"] == rid and paused["paused_until"]
    assert "Påmeldingen din har pause til" in browser.page and "/me/resume" in browser.page

    browser.open(f"{gateway}/me/change")
    form = {
        "themes": ["grief", "loneliness"],
        "languages": "nb",
        "availability": ["tue-evening", "thu-evening"],
        "open_to_mixed": "yes",
        "message_language": "nb",
        "preferred_channel": "email",
    }
    browser.send(f"{gateway}/me/change", **form)
    updated = tap.wait_for("registration_updated")[0]["data"]
    assert updated["registration_id"] == rid and sorted(updated["themes"]) == ["grief", "loneliness"]
    assert "Endringene er lagret." in browser.page

    browser.send(f"{gateway}/me/withdraw")
    assert tap.wait_for("registration_withdrawn")[0]["data"] == {"registration_id": rid, "reason": "person"}
    assert "Du har trukket påmeldingen din." in browser.page

    browser.send(f"{gateway}/me/come-back")
    assert tap.wait_for("registration_resumed")[-1]["data"] == {"registration_id": rid, "reason": "came_back"}
    assert len(tap.wait_for("registration_waitlisted", count=2)) == 2  # matching has the person again
    wait_until(lambda: "Du venter på en gruppe" in (browser.open(f"{gateway}/me") and browser.page), what="waiting")

    gateway_log = (run_dir / "logs" / "gateway.log").read_text()
    assert "GET /me?… HTTP" in gateway_log and token not in gateway_log  # the link is never logged
