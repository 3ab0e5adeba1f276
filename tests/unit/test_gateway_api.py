"""The gateway's JSON API, probes and credentials, with the other services as mocks."""

import json

import eventlet
import pytest
from nameko.exceptions import RemoteError

from services.common.actors import Actor
from services.common.errors import Forbidden, NotFound
from services.gateway import auth, figures
from services.gateway.context import SESSION_COOKIE
from tests.fakes.gateway import PASSWORD, Caller, body, cookies_set, figure_row, gateway, request
from tests.samples import intake


def test_a_public_registration_passes_the_intake_payload_on_as_the_public():
    service, store = gateway()
    payload = intake()
    response = request(service, "POST", "/api/registrations", json_body=payload)
    assert response.status_code == 201 and body(response) == {"registration_id": "reg-1", "created": True}
    sent, actor = service.registration.register.call_args.args
    assert sent == payload
    assert isinstance(actor, Actor) and (actor["role"], actor["account_id"]) == ("public", None)  # signed by the proxy


def test_a_repeated_registration_is_200():
    service, store = gateway()
    service.registration.register.return_value = {"registration_id": "reg-1", "created": False}
    assert request(service, "POST", "/api/registrations", json_body=intake()).status_code == 200


def test_every_invalid_field_is_named_before_any_service_is_called():
    service, store = gateway()
    response = request(service, "POST", "/api/registrations", json_body=intake(phone="123", themes=["astrology"]))
    assert response.status_code == 400
    error = body(response)["error"]
    assert error["code"] == "invalid_input" and set(error["fields"]) == {"phone", "themes"}
    assert "Norwegian mobile" in error["fields"]["phone"][0]
    assert not service.registration.register.called


def test_a_body_that_is_not_json_or_not_declared_json_is_refused_clearly():
    service, store = gateway()
    assert (
        body(request(service, "POST", "/api/registrations", form="x=1", headers={"Content-Type": "application/json"}))[
            "error"
        ]["code"]
        == "invalid_json"
    )
    assert request(service, "POST", "/api/registrations", form={"x": "1"}).status_code == 415


def test_remote_errors_keep_one_shape_and_unknown_ones_say_nothing():
    service, store = gateway()
    service.registration.register.side_effect = RemoteError(
        "InvalidInput", json.dumps({"postal_code": ["Unknown postal code."]})
    )
    response = request(service, "POST", "/api/registrations", json_body=intake())
    assert (response.status_code, body(response)["error"]["fields"]) == (400, {"postal_code": ["Unknown postal code."]})
    service.registration.register.side_effect = RemoteError("KeyError", "'email' in contact record of Kari")
    response = request(service, "POST", "/api/registrations", json_body=intake())
    assert response.status_code == 502 and "Kari" not in response.get_data(as_text=True)


@pytest.mark.real_clock("libfaketime makes eventlet's hub fail in time.sleep (EINVAL), so the deadline never fires")
def test_a_service_that_does_not_answer_in_time_is_503_not_a_hang():
    service, store = gateway(config={"FLOKK_RPC_TIMEOUT": 0.05})
    service.directory.coverage.side_effect = lambda: eventlet.sleep(5)
    response = request(service, "GET", "/api/coverage")
    assert response.status_code == 503 and body(response)["error"]["code"] == "upstream_unavailable"


def test_a_referrer_always_refers_as_itself():
    service, store = gateway()
    referrer = Caller(service, store, "referrer", use_token=True, referrer_id="ref-own")
    payload = intake(
        consent={
            "purpose": "self_help_group_matching",
            "text_version": "2026-01",
            "given_at": "2026-11-28T08:59:00Z",
            "channel": "referrer",
        },
        referral={"referrer_id": "ref-someone-else", "organisation": "Fastlege"},
    )
    assert referrer("POST", "/api/registrations", json_body=payload).status_code == 201
    sent, actor = service.registration.register.call_args.args
    assert sent["referral"] == {"referrer_id": "ref-own", "organisation": "Fastlege"}
    assert actor["role"] == "referrer" and actor["referrer_id"] == "ref-own"


def test_the_public_endpoints_are_rate_limited_per_client():
    service, store = gateway(limit=(2, 60))
    statuses = [request(service, "POST", "/api/registrations", json_body=intake()).status_code for _ in range(3)]
    assert statuses == [201, 201, 429]
    limited = request(service, "GET", "/api/postal-codes/5003/contact-points")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    other_client = request(service, "POST", "/api/registrations", json_body=intake(), remote_addr="10.0.0.9")
    assert other_client.status_code == 201
    assert request(service, "GET", "/healthz").status_code == 200  # probes are not limited


def test_find_a_contact_point_by_postal_code():
    service, store = gateway()
    response = request(service, "GET", "/api/postal-codes/5003/contact-points")
    assert body(response)["candidates"][0]["contact_point_id"] == "link-bergen"
    service.directory.route.assert_called_once_with("4601", {})
    assert body(request(service, "GET", "/api/postal-codes/50x3/contact-points"))["error"]["fields"] == {
        "postal_code": ["Must be a 4-digit postal code."]
    }
    service.directory.municipality_for_postal_code.side_effect = RemoteError("UnknownPostalCode", "0000")
    assert request(service, "GET", "/api/postal-codes/0000/contact-points").status_code == 404


def test_query_strings_are_validated_too():
    service, store = gateway()
    admin = Caller(service, store, "national_admin", use_token=True)
    assert body(admin("GET", "/api/contact-points", query={"county_number": "x"}))["error"]["fields"] == {
        "county_number": ["String does not match expected pattern."]
    }
    assert admin("GET", "/api/contact-points", query={"bogus": "1"}).status_code == 400
    assert admin("GET", "/api/contact-points", query={"county_number": "46"}).status_code == 200
    service.directory.list_contact_points.assert_called_once_with(None, "46", None)


def test_confirming_sends_the_confirmation_as_documented():
    service, store = gateway()
    staff = Caller(service, store, "contact_point_staff", use_token=True, contact_point_ids=["link-bergen"])
    confirmation = {"meeting_place_id": "mp-1", "first_meeting_at": "2026-12-01T18:00:00+01:00", "starter_id": "st-1"}
    assert (
        staff("POST", "/api/contact-points/link-bergen/groups/grp-1/confirm", json_body=confirmation).status_code == 200
    )
    group_id, sent, actor = service.matching.confirm_group.call_args.args
    assert (group_id, sent, actor["contact_point_ids"]) == ("grp-1", confirmation, ["link-bergen"])
    missing = staff("POST", "/api/contact-points/link-bergen/groups/grp-1/reject", json_body={"reason": "bored"})
    assert body(missing)["error"]["fields"] == {
        "reason": ["Must be one of: not_compatible, no_room, no_starter, acquaintances, other."]
    }


def test_a_contact_point_can_only_be_written_under_its_own_path():
    service, store = gateway()
    admin = Caller(service, store, "national_admin", use_token=True)
    response = admin(
        "PUT",
        "/api/contact-points/link-oslo",
        json_body={
            "contact_point_id": "link-bergen",
            "kind": "link_centre",
            "name": "x",
            "municipality_number": "4601",
            "municipalities": ["4601"],
        },
    )
    assert body(response)["error"]["fields"] == {"contact_point_id": ["Must be the contact point of the path."]}


# --- credentials -------------------------------------------------------------------------------------


def test_passwords_are_argon2_hashes_and_tokens_are_kept_only_as_digests():
    service, store = gateway()
    caller = Caller(service, store, "integration", use_token=True)
    stored = store.accounts[caller.account["_id"]]
    assert stored["password_hash"].startswith("$argon2id$") and PASSWORD not in str(stored)
    assert caller.token not in store.token_records and auth.digest(caller.token) in store.token_records
    assert "password_hash" not in caller.account


def test_a_wrong_or_unknown_token_is_401():
    service, store = gateway()
    response = request(service, "GET", "/api/hsds", headers={"Authorization": "Bearer flk_nope"})
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"


def test_sign_in_sets_an_httponly_session_and_changes_need_its_csrf_token():
    service, store = gateway()
    Caller(service, store, "national_admin", email="boss@example.no")
    wrong = request(service, "POST", "/api/session", json_body={"email": "boss@example.no", "password": "nope"})
    assert wrong.status_code == 401 and SESSION_COOKIE not in cookies_set(wrong)
    response = request(service, "POST", "/api/session", json_body={"email": "Boss@Example.no", "password": PASSWORD})
    assert response.status_code == 200
    session_id, csrf = cookies_set(response)[SESSION_COOKIE], body(response)["csrf_token"]
    assert "HttpOnly" in response.headers["Set-Cookie"] and "SameSite=Lax" in response.headers["Set-Cookie"]
    cookie = {"Cookie": f"{SESSION_COOKIE}={session_id}"}
    assert request(service, "GET", "/api/figures", headers=cookie).status_code == 200
    tokenless = request(service, "DELETE", "/api/contact-points/link-bergen", headers=cookie)
    assert tokenless.status_code == 403 and body(tokenless)["error"]["code"] == "csrf"
    assert not service.directory.deactivate_contact_point.called
    ok = request(service, "DELETE", "/api/contact-points/link-bergen", headers={**cookie, "X-CSRF-Token": csrf})
    assert ok.status_code == 200
    assert request(service, "DELETE", "/api/session", headers={**cookie, "X-CSRF-Token": csrf}).status_code == 200
    assert request(service, "GET", "/api/figures", headers=cookie).status_code == 401


def test_accounts_and_tokens_are_made_by_the_national_office():
    service, store = gateway()
    admin = Caller(service, store, "national_admin", use_token=True)
    created = admin(
        "POST",
        "/api/accounts",
        json_body={"email": "s@example.no", "name": "S", "role": "referrer", "password": "short"},
    )
    assert body(created)["error"]["fields"] == {"password": ["Use at least 12 characters."]}
    created = admin(
        "POST",
        "/api/accounts",
        json_body={"email": "s@example.no", "name": "S", "role": "referrer", "password": PASSWORD},
    )
    account = body(created)
    assert created.status_code == 201 and account["referrer_id"].startswith("ref-") and "password" not in account
    again = admin(
        "POST",
        "/api/accounts",
        json_body={"email": "s@example.no", "name": "S", "role": "referrer", "password": PASSWORD},
    )
    assert again.status_code == 409
    token = body(admin("POST", "/api/tokens", json_body={"account_id": account["account_id"], "label": "x"}))["token"]
    assert request(service, "GET", "/api/referrals", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert admin("POST", "/api/tokens", json_body={"account_id": "acc-none", "label": "x"}).status_code == 404


# --- probes and documents ----------------------------------------------------------------------------


def test_healthz_readyz_and_metrics():
    service, store = gateway()
    assert body(request(service, "GET", "/healthz")) == {
        "service": "gateway",
        "status": "ok",
        "store": "ok",
        "broker": "ok",
    }
    assert body(request(service, "GET", "/readyz"))["status"] == "ready"
    service.matching.health.side_effect = RemoteError("ConnectionError", "down")
    not_ready = request(service, "GET", "/readyz")
    assert not_ready.status_code == 503 and body(not_ready)["checks"]["matching"] == "down"
    text = request(service, "GET", "/metrics").get_data(as_text=True)
    assert 'flokk_gateway_http_requests_total{route="readyz"}' in text
    assert 'flokk_gateway_http_responses_5xx_total{route="readyz"}' in text


def test_openapi_is_3_1_and_documents_every_api_route_with_its_roles():
    service, store = gateway()
    doc = body(request(service, "GET", "/openapi.json"))
    assert doc["openapi"] == "3.1.0"
    confirm = doc["paths"]["/api/contact-points/{contact_point_id}/groups/{group_id}/confirm"]["post"]
    assert set(confirm["x-roles"]) == {"national_admin", "contact_point_staff"}
    schema = doc["components"]["schemas"]["ConfirmInput"]
    assert set(schema["required"]) == {"meeting_place_id", "first_meeting_at", "starter_id"}
    assert "RegistrationRequested" in doc["components"]["schemas"]
    assert not any(path.startswith("/staff") for path in doc["paths"])  # pages are not API


def test_asyncapi_is_the_documents_of_the_repository():
    from services.gateway.openapi import REPO_ASYNCAPI

    service, store = gateway()
    response = request(service, "GET", "/asyncapi.yaml")
    assert response.get_data(as_text=True) == REPO_ASYNCAPI.read_text(encoding="utf-8")
    assert response.headers["Content-Type"].startswith("application/yaml")


def test_unknown_paths_and_methods():
    service, store = gateway()
    assert body(request(service, "GET", "/api/nope"))["error"]["code"] == "not_found"
    assert request(service, "PATCH", "/api/registrations").status_code == 405
    assert request(service, "GET", "/nope").status_code == 404


# --- national figures -------------------------------------------------------------------------------


def test_figures_show_what_matching_hides_as_blank_and_format_the_rest():
    rows = figures.table(
        {
            "period": "2026-Q4",
            "counties": {
                "03": figure_row(waiting=None, in_group=None),
                "46": figure_row(waiting=40, in_group=15, groups_running=5, median_waiting_days=31.5),
                "50": figure_row(),
            },
            "outside_counties": figure_row(),
            "national": figure_row(waiting=50, in_group=20, groups_running=5, groups_proposed=None),
        },
        {
            "counties": [
                {
                    "county_number": "03",
                    "name": "Oslo",
                    "municipalities": 1,
                    "covered_municipalities": 1,
                    "municipality_share": 1.0,
                    "population_share": 1.0,
                }
            ]
        },
    )
    by = {r["area"]: r for r in rows}
    assert [r["area"] for r in rows] == ["Oslo", "46", "50", "outside_counties", "national"]
    assert by["Oslo"]["waiting"] is None and by["50"]["waiting"] is None and by["50"]["county_number"] == "50"
    assert by["46"]["waiting"] == 40 and by["46"]["groups_running"] == 5  # groups per county now
    assert by["national"]["waiting"] == 50 and by["national"]["groups_proposed"] is None
    assert by["Oslo"]["coverage_percent"] == 100.0 and by["Oslo"]["population_coverage_percent"] == 100.0
    assert {r["period"] for r in rows} == {"2026-Q4"}
    lines = figures.to_csv(rows).splitlines()
    header = lines[0].split(",")
    assert header[:8] == [
        "area",
        "county_number",
        "waiting",
        "in_group",
        "groups_proposed",
        "groups_confirmed",
        "groups_running",
        "coverage_percent",
    ]  # today's columns first, as they were
    assert header[8:12] == ["period", "registered", "placed", "median_waiting_days"]
    assert {"share_theme_grief", "share_relatives", "groups_meeting_24m"} <= set(header)
    assert header[-1] == "population_coverage_percent"
    assert lines[2].startswith("46,46,40,15,,,5,,2026-Q4,,,31.5,")


def test_the_gateway_hides_no_figure_of_its_own():
    """The small-number rule is matching's: a count it shows is shown as it is."""
    rows = figures.table(
        {"counties": {"03": figure_row(waiting=3, in_group=0)}, "national": figure_row(waiting=3)}, None
    )
    assert [(r["area"], r["waiting"], r["in_group"]) for r in rows] == [
        ("03", 3, 0),
        ("outside_counties", None, None),
        ("national", 3, None),
    ]


def test_the_figures_are_for_a_period_and_the_csv_is_a_download():
    service, store = gateway()
    admin = Caller(service, store, "national_admin", use_token=True)
    answer = body(admin("GET", "/api/figures", query={"period": "2026-Q4"}))
    assert answer["period"] == "2026-Q4" and answer["suppressed_below"] == 5 and answer["rounded_to"] == 5
    service.matching.figures.assert_called_with("2026-Q4")
    response = admin("GET", "/api/figures.csv", query={"period": "2026-Q4"})
    assert response.headers["Content-Type"].startswith("text/csv")
    assert 'filename="flokk-figures-2026-Q4.csv"' in response.headers["Content-Disposition"]
    assert response.get_data(as_text=True).splitlines()[-1].startswith("national,,20,10,,,5,1.4,2026-Q4,25,10,31.5,62,")
    refused = admin("GET", "/api/figures", query={"period": "2026-Q5"})
    assert refused.status_code == 400 and list(body(refused)["error"]["fields"]) == ["period"]


def test_a_contact_points_figures_are_for_its_own_staff_only():
    service, store = gateway()
    staff = Caller(service, store, "contact_point_staff", contact_point_ids=["link-bergen"])
    answer = body(staff("GET", "/api/contact-points/link-bergen/figures", query={"year": "2026"}))
    assert [row["period"] for row in answer["rows"]] == ["2026", "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    assert service.matching.contact_point_figures.call_args.args[:2] == ("link-bergen", "2026")
    text = staff("GET", "/api/contact-points/link-bergen/figures.csv", query={"year": "2026"}).get_data(as_text=True)
    assert text.splitlines()[0].startswith("period,contact_point_id,waiting,in_group")
    assert text.splitlines()[1].startswith("2026,link-bergen,")
    admin = Caller(service, store, "national_admin")
    assert admin("GET", "/api/contact-points/link-bergen/figures.csv").status_code == 403  # counties, not these
    assert staff("GET", "/api/contact-points/link-oslo/figures.csv").status_code == 403


def test_a_method_the_other_service_lacks_is_503_and_a_gateway_bug_is_a_bare_500():
    from nameko.exceptions import MethodNotFound

    service, store = gateway()
    service.directory.coverage.side_effect = MethodNotFound("coverage")
    assert body(request(service, "GET", "/api/coverage"))["error"]["code"] == "upstream_unavailable"
    service.directory.coverage.side_effect = ZeroDivisionError  # stands for a bug in the gateway
    response = request(service, "GET", "/api/coverage")
    assert response.status_code == 500 and body(response)["error"]["code"] == "internal_error"


def test_every_answer_carries_the_security_headers_and_personal_data_is_not_cached():
    service, store = gateway()
    for response in (request(service, "GET", "/register"), request(service, "GET", "/api/nope")):
        assert "script-src 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"
    staff = Caller(service, store, "contact_point_staff", use_token=True, contact_point_ids=["link-bergen"])
    assert staff("GET", "/api/contact-points/link-bergen/pool").headers["Cache-Control"] == "no-store"


def test_notification_learns_a_referrers_address_from_the_gateway_by_referrer_id():
    service, store = gateway()
    referrer = Caller(service, store, "referrer", email="gp@clinic.example.no", name="Dr. Lund")
    Caller(service, store, "contact_point_staff", referrer_id="ref-staff", contact_point_ids=["link-bergen"])
    notification = {"role": "service", "service": "notification"}  # as @rpc hands it on, verified
    assert service.referrer_contact(referrer.account["referrer_id"], notification) == {
        "email": "gp@clinic.example.no",
        "name": "Dr. Lund",
    }
    for unknown in ("ref-nobody", "ref-staff", None):  # only a referrer account answers
        with pytest.raises(NotFound):
            service.referrer_contact(unknown, notification)
    for other in ({"role": "service", "service": "matching"}, {"role": "national_admin", "issuer": "gateway"}):
        with pytest.raises(Forbidden):
            service.referrer_contact(referrer.account["referrer_id"], other)
