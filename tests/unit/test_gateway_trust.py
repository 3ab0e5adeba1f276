"""The gateway's holes of issue 17, closed: sign-in throttling per address, the client address
behind proxies, 413 for oversized bodies, API tokens that expire and can be listed and revoked,
idle sessions, and an audit entry for every audited action. Other services are mocks."""

import io
from datetime import UTC, datetime, timedelta

import pytest

from services.common import clock
from services.gateway import domain
from services.gateway.context import ANON_CSRF_COOKIE, SESSION_COOKIE
from services.gateway.pipeline import MAX_BODY_BYTES
from tests.fakes.gateway import PASSWORD, Caller, body, cookies_set, gateway, request

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_clock():
    with clock.use(clock.FixedClock(NOW)) as fixed:
        yield fixed


def sign_in(service, email, password, headers=None):
    return request(service, "POST", "/api/session", json_body={"email": email, "password": password}, headers=headers)


def page_sign_in(service, email, password, lang="nb"):
    return request(
        service,
        "POST",
        "/login",
        form={"email": email, "password": password, "csrf_token": "t0k"},
        headers={"Cookie": f"{ANON_CSRF_COOKIE}=t0k; lang={lang}"},
    )


# --- sign-in throttling -------------------------------------------------------------------------


def test_the_wait_after_five_failures_doubles_up_to_fifteen_minutes():
    failures = [NOW - timedelta(minutes=10 - n) for n in range(4)]
    assert domain.sign_in_wait(failures, NOW) == 0
    failures.append(NOW)
    assert domain.sign_in_wait(failures, NOW) == 1  # 2^0
    assert domain.sign_in_wait([*failures, NOW, NOW], NOW) == 4  # 2^2
    assert domain.sign_in_wait([NOW] * 20, NOW) == 15 * 60
    assert domain.sign_in_wait([NOW] * 20, NOW + timedelta(minutes=15)) == 0


def test_failed_sign_ins_are_throttled_per_address_whether_or_not_an_account_has_it(fixed_clock):
    service, store = gateway()
    Caller(service, store, "national_admin", email="boss@example.no")
    for typed in ("boss@example.no", " Boss@example.no", "BOSS@example.no", "boss@example.no ", "boss@EXAMPLE.no"):
        assert sign_in(service, typed, "wrong").status_code == 401
    throttled = sign_in(service, "boss@example.no", PASSWORD)  # even the right password waits
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "1"
    assert body(throttled)["error"]["code"] == "rate_limited"
    for _ in range(5):
        assert sign_in(service, "nobody@example.no", "wrong").status_code == 401
    assert sign_in(service, "nobody@example.no", "wrong").status_code == 429  # no account: the same
    assert sign_in(service, "other@example.no", "wrong").status_code == 401  # another address: its own count
    fixed_clock.moment = NOW + timedelta(seconds=1)
    assert sign_in(service, "boss@example.no", "wrong").status_code == 401  # the sixth failure: 2 s now
    fixed_clock.moment = NOW + timedelta(seconds=2)
    assert sign_in(service, "boss@example.no", PASSWORD).status_code == 429
    fixed_clock.moment = NOW + timedelta(seconds=3)
    assert sign_in(service, "boss@example.no", PASSWORD).status_code == 200
    assert sign_in(service, "boss@example.no", "wrong").status_code == 401  # a success reset the count
    assert sign_in(service, "boss@example.no", PASSWORD).status_code == 200


def test_the_sign_in_page_says_when_to_try_again_in_its_language():
    service, store = gateway()
    for _ in range(5):
        page_sign_in(service, "kari@example.no", "wrong")
    for lang, words in (("nb", "Prøv igjen om 1 min."), ("nn", "Prøv igjen om 1 min."), ("en", "Try again in 1 min.")):
        page = page_sign_in(service, "kari@example.no", "wrong", lang)
        assert page.status_code == 429 and page.headers["Retry-After"] == "1"
        assert words in page.get_data(as_text=True)


def test_the_client_address_comes_from_x_forwarded_for_only_behind_a_trusted_proxy():
    trusted = ("10.0.0.0/8",)
    assert domain.client_address("203.0.113.9", "198.51.100.1", trusted) == "203.0.113.9"
    assert domain.client_address("10.1.2.3", "198.51.100.1", trusted) == "198.51.100.1"
    assert domain.client_address("10.1.2.3", "1.2.3.4, 198.51.100.1, 10.9.9.9", trusted) == "198.51.100.1"
    assert domain.client_address("10.1.2.3", "", trusted) == "10.1.2.3"
    assert domain.client_address("10.1.2.3", "198.51.100.1", ()) == "10.1.2.3"


def test_the_public_rate_limit_counts_each_client_behind_the_proxy():
    service, store = gateway(limit=(1, 60), config={"FLOKK_TRUSTED_PROXIES": "127.0.0.1"})
    first = {"X-Forwarded-For": "198.51.100.1"}
    assert sign_in(service, "a@example.no", "wrong", first).status_code == 401
    assert sign_in(service, "b@example.no", "wrong", first).status_code == 429
    assert sign_in(service, "c@example.no", "wrong", {"X-Forwarded-For": "198.51.100.2"}).status_code == 401


# --- bodies ---------------------------------------------------------------------------------------


def test_a_body_over_one_megabyte_is_413_before_anything_reads_it():
    service, store = gateway()
    big_form = {"name": "x" * (MAX_BODY_BYTES + 1), "csrf_token": "t0k"}
    page = request(service, "POST", "/register", form=big_form, headers={"Cookie": f"{ANON_CSRF_COOKIE}=t0k"})
    assert page.status_code == 413 and body(page)["error"]["code"] == "too_large"
    api = request(service, "POST", "/api/registrations", json_body={"name": "x" * MAX_BODY_BYTES})
    assert api.status_code == 413
    files = request(service, "POST", "/login", form={"f": (io.BytesIO(b"x" * (5 << 20)), "f.bin")})
    assert files.status_code == 413  # multipart (CVE-2024-49767's path) too
    assert not service.registration.register.called


# --- tokens and sessions --------------------------------------------------------------------------


def test_tokens_expire_after_the_days_asked_and_can_be_listed_and_revoked(fixed_clock):
    service, store = gateway()
    admin = Caller(service, store, "national_admin", use_token=True)
    target = Caller(service, store, "integration")
    for days in (0, 366, "30"):
        refused = admin(
            "POST",
            "/api/tokens",
            json_body={"account_id": target.account["_id"], "label": "x", "expires_in_days": days},
        )
        assert refused.status_code == 400 and "expires_in_days" in body(refused)["error"]["fields"]
    made = admin(
        "POST", "/api/tokens", json_body={"account_id": target.account["_id"], "label": "intake", "expires_in_days": 30}
    )
    assert made.status_code == 201
    token, token_id = body(made)["token"], body(made)["token_id"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert request(service, "GET", "/api/hsds", headers=bearer).status_code == 200
    listed = {t["token_id"]: t for t in body(admin("GET", "/api/tokens"))}
    assert listed[token_id]["label"] == "intake" and listed[token_id]["account_id"] == target.account["_id"]
    assert listed[token_id]["expires_at"].startswith("2026-12-28") and listed[token_id]["last_used_at"]
    assert token not in str(listed)
    fixed_clock.moment = NOW + timedelta(days=30)
    assert request(service, "GET", "/api/hsds", headers=bearer).status_code == 401
    fixed_clock.moment = NOW
    assert admin("DELETE", f"/api/tokens/{token_id}").status_code == 200
    assert request(service, "GET", "/api/hsds", headers=bearer).status_code == 401
    assert admin("DELETE", f"/api/tokens/{token_id}").status_code == 404
    default = admin("POST", "/api/tokens", json_body={"account_id": target.account["_id"], "label": "default"})
    [record] = [t for t in body(admin("GET", "/api/tokens")) if t["token_id"] == body(default)["token_id"]]
    assert record["expires_at"].startswith("2027-02-26")  # 90 days


def test_a_session_unused_for_thirty_minutes_is_over(fixed_clock):
    service, store = gateway()
    Caller(service, store, "national_admin", email="boss@example.no")
    session_id = cookies_set(sign_in(service, "boss@example.no", PASSWORD))[SESSION_COOKIE]
    cookie = {"Cookie": f"{SESSION_COOKIE}={session_id}"}
    for minutes in (29, 58, 87):  # each use keeps it alive
        fixed_clock.moment = NOW + timedelta(minutes=minutes)
        assert request(service, "GET", "/api/figures", headers=cookie).status_code == 200
    fixed_clock.moment = NOW + timedelta(minutes=87 + 30)
    assert request(service, "GET", "/api/figures", headers=cookie).status_code == 401


# --- the audit log --------------------------------------------------------------------------------


def test_every_audited_action_leaves_an_entry_without_names_or_addresses():
    service, store = gateway()
    admin = Caller(service, store, "national_admin", email="boss@example.no", use_token=True)
    staff = Caller(service, store, "contact_point_staff", contact_point_ids=["link-bergen"])
    store.entries.clear()
    sign_in(service, "boss@example.no", "wrong")
    signed_in = sign_in(service, "boss@example.no", PASSWORD)
    session_id, csrf = cookies_set(signed_in)[SESSION_COOKIE], body(signed_in)["csrf_token"]
    new = admin(
        "POST",
        "/api/accounts",
        json_body={"email": "n@example.no", "name": "Nina", "role": "referrer", "password": PASSWORD},
    )
    made = admin("POST", "/api/tokens", json_body={"account_id": body(new)["account_id"], "label": "t"})
    admin("DELETE", f"/api/tokens/{body(made)['token_id']}")
    staff(
        "POST",
        "/api/contact-points/link-bergen/groups/g1/confirm",
        json_body={"meeting_place_id": "mp", "first_meeting_at": "2026-12-08T17:00:00Z", "starter_id": "st"},
    )
    staff("POST", "/api/contact-points/link-bergen/groups/g1/close", json_body={"reason": "completed"})
    admin("DELETE", "/api/contact-points/link-oslo")
    cookie = {"Cookie": f"{SESSION_COOKIE}={session_id}", "X-CSRF-Token": csrf}
    request(service, "DELETE", "/api/session", headers=cookie)
    actions = [(e["action"], e["outcome"]) for e in store.entries]
    assert actions[:2] == [("sign_in", "failed"), ("sign_in", "allowed")]
    for expected in (
        ("create_account", "allowed"),
        ("create_token", "allowed"),
        ("revoke_token", "allowed"),
        ("confirm_group", "allowed"),
        ("close_group", "allowed"),
        ("deactivate_contact_point", "allowed"),
        ("sign_out", "allowed"),
    ):
        assert expected in actions, expected
    by_action = {e["action"]: e for e in store.entries}
    assert by_action["confirm_group"]["subject_id"] == "g1"
    assert by_action["create_token"]["subject_id"] == body(new)["account_id"]
    assert by_action["sign_in"]["account_id"] == admin.account["_id"]
    assert "boss@example.no" not in str(store.entries) and "Nina" not in str(store.entries)
