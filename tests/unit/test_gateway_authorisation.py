"""The full authorisation matrix: every role against every endpoint of the route table (JSON API,
pages, probes), with the other services as mocks. A participant (the flokk_me cookie of a personal
link) exists on the personal pages only; elsewhere they are the public, and on the personal pages
everyone else is. Plus the cross-contact-point refusals, which must answer 403 and leave an audit
entry."""

import re

import pytest
from nameko.exceptions import RemoteError

from services.common.actors import Actor
from services.gateway.pipeline import routing
from services.gateway.routes import ROUTES
from tests.fakes.gateway import Caller, answer_like_the_services, body, gateway

routing()  # fills ROUTES with every module's routes
CALLERS = {
    "public": {},
    "national_admin": {},
    "contact_point_staff": {"contact_point_ids": ["link-bergen"]},
    "referrer": {"referrer_id": "ref-1"},
    "integration": {},
    "participant": {"registration_id": "reg-1"},
}
PATH_VALUES = {
    "contact_point_id": "link-bergen",
    "registration_id": "reg-1",
    "group_id": "grp-1",
    "checkin_id": "chk-1",
    "meeting_place_id": "group-room",
    "postal_code": "5003",
    "path": "x",
    "file_name": "organizations.csv",
}
FORMS = {
    "register_submit": {
        "name": "Kari",
        "email": "kari@example.no",
        "postal_code": "5003",
        "role": "self",
        "themes": "grief",
        "language": "nb",
        "availability": "tue-evening",
        "open_to_mixed": "yes",
        "consent": "yes",
    },
    "referrer_submit": {
        "organisation": "Fastlegen",
        "name": "Kari",
        "email": "kari@example.no",
        "postal_code": "5003",
        "role": "self",
        "themes": "grief",
        "language": "nb",
        "availability": "tue-evening",
        "open_to_mixed": "yes",
        "consent_attested": "yes",
    },
    "login_submit": {"email": "nobody@example.no", "password": "wrong"},
    "staff_confirm": {"meeting_place_id": "mp-1", "first_meeting_at": "2026-12-01T18:00", "starter_id": "st-1"},
    "staff_reject": {"reason": "no_room"},
    "queue_assign": {"contact_point_id": "link-bergen"},
    "queue_contact": {"purpose": "clarify_wishes"},
    "directory_submit": {
        "name": "LINK Bergen",
        "municipalities": "4601",
        "languages": "nb",
        "min_size": "5",
        "max_size": "8",
    },
    "change_submit": {
        "themes": "loneliness",
        "languages": "nb",
        "availability": "tue-evening",
        "open_to_mixed": "yes",
        "message_language": "nb",
    },
    "pause": {"weeks": "4"},
    "erase": {"confirm": "yes"},
    "leave_group": {"group_id": "grp-1"},
    "avoid_submit": {"contacts": "ola@example.no"},
    "checkin_submit": {"still_meeting": "yes", "usual_attendance": "5", "wants_new_members": "no", "needs_help": "no"},
    "new_link_submit": {"contact": "kari@example.no"},
    "staff_handover": {
        "checkin_registration_ids": "reg-2",
        "weekday": "thu",
        "start_time": "18:00",
        "every": "week",
        "meeting_place_id": "group-room",
    },
    "staff_close_group": {"reason": "completed"},
    "staff_record_acquaintances": {"registration_id_a": "reg-1", "registration_id_b": "reg-2"},
    "meeting_place_submit": {
        "name": "Nytt rom",
        "kind": "physical",
        "capacity": "10",
        "street": "Kong Oscars gate 1",
        "postal_code": "5017",
    },
    "cohort_submit": {
        "contact_point_id": "link-bergen",
        "expected_size": "8",
        "weekday": "tue",
        "part_of_day": "evening",
        "start_time": "18:00",
        "keep_together": "yes",
    },
}
ACTOR_FREE = {
    "register",
    "health",
    "figures",
    "municipality_for_postal_code",
    "municipality",
    "route",
    "list_contact_points",
    "get_contact_point",
    "open_contact_points",
    "open_contact_point",
    "coverage",
    "coverage_map_svg",
    "hsds_export",
    "hsds_export_csv",
    "open_link",  # the link is the credential
    "request_new_link",  # the address is; the answer is always the same
    "cohort_by_code",  # the code is
}


@pytest.fixture(scope="module")
def world():
    service, store = gateway()
    return (
        service,
        store,
        {
            role: Caller(service, store, None if role == "public" else role, **fields)
            for role, fields in CALLERS.items()
        },
    )


def concrete(route):
    values = {**PATH_VALUES, **(route.path_example or {})}
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: values[m.group(1)], route.path)


def effective_role(role, route):
    """Who the gateway takes the caller for: personal pages look at the flokk_me cookie alone."""
    if route.personal:
        return "participant" if role == "participant" and "participant" in route.roles else "public"
    return "public" if role == "participant" else role


def refused(response, route):
    if route.personal:  # one answer to anyone without a live personal session: the bad-link page
        return response.status_code == 404 and "Lenken virker ikke lenger" in response.get_data(as_text=True)
    location = response.headers.get("Location", "")
    return (
        response.status_code == 403
        or (response.status_code == 401 and "WWW-Authenticate" in response.headers)
        or (response.status_code in (302, 303) and location.startswith("/login"))
    )


QUERIES = {"personal_page": {"t": "v1.reg-1.me.1795000000.1802776000.bWFj"}}  # a personal link's token


def send(caller, route):
    path = concrete(route)
    if route.kind == "page" and route.method == "POST":
        return caller(route.method, path, form=FORMS.get(route.name, {}))
    return caller(route.method, path, json_body=route.example if route.body else None, query=QUERIES.get(route.name))


CASES = [(route, role) for route in ROUTES for role in CALLERS]


@pytest.mark.parametrize("route,role", CASES, ids=[f"{r.method} {r.path} as {role}" for r, role in CASES])
def test_every_role_against_every_endpoint(world, route, role):
    service, store, callers = world
    answer_like_the_services(service)
    response = send(callers[role], route)
    seen_as = effective_role(role, route)
    if seen_as in route.roles:
        assert not refused(response, route), response.get_data(as_text=True)[:500]
        assert response.status_code < 500, response.get_data(as_text=True)[:500]
        assert_actor_passed(service, seen_as)
    else:
        assert refused(response, route), (response.status_code, response.get_data(as_text=True)[:300])
        if route.personal:
            assert response.status_code == 404
        elif seen_as == "public":
            assert response.status_code in (302, 303, 401)
        else:
            assert response.status_code == 403
        assert_no_personal_data_call(service)


def calls(service):
    for name in ("registration", "matching", "directory", "notification"):
        for method, args, _ in getattr(service, name).method_calls:
            yield name, method, args


def assert_actor_passed(service, role):
    """Every RPC that is about people gets the caller's actor last (docs/rpc.md)."""
    for name, method, args in calls(service):
        if method in ACTOR_FREE:
            continue
        if name == "registration" and method in ("withdraw", "erase"):
            actor = args[1]  # withdraw(registration_id, actor, reason), as documented
        else:
            actor = args[-1]
        assert isinstance(actor, dict) and actor["role"] == role, (name, method, args)
        assert actor["purpose"], (name, method)


def assert_no_personal_data_call(service):
    assert not [c for c in calls(service) if c[1] not in ACTOR_FREE], list(calls(service))


def test_the_matrix_covers_every_route_and_role():
    assert {r.name for r in ROUTES} >= {
        "create_registration",
        "get_registration",
        "pool",
        "confirm_group",
        "upsert_contact_point",
        "national_figures",
        "staff_pool",
        "national",
    }
    assert len(CASES) == len(ROUTES) * len(CALLERS)
    assert {r.name for r in ROUTES if r.roles == ("participant",)} >= {"pause", "withdraw", "erase", "checkin_submit"}


# --- one contact point's staff asking for another's people -------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/contact-points/link-oslo/pool",
        "/api/contact-points/link-oslo/proposals",
        "/api/contact-points/link-oslo/groups",
        "/staff/link-oslo/pool",
        "/staff/link-oslo/proposals",
    ],
)
def test_staff_of_one_contact_point_reading_anothers_people_get_403_and_an_audit_entry(path):
    service, store = gateway()
    staff = Caller(service, store, "contact_point_staff", contact_point_ids=["link-bergen"])
    response = staff("GET", path)
    assert response.status_code == 403
    assert not service.matching.method_calls  # refused before any RPC
    [entry] = store.entries
    assert entry["account_id"] == staff.account["_id"] and entry["subject_id"] == "link-oslo"
    assert entry["outcome"] == "refused" and entry["purpose"] and entry["at"]


def test_staff_changing_another_contact_points_group_or_entry_get_403():
    service, store = gateway()
    staff = Caller(service, store, "contact_point_staff", contact_point_ids=["link-bergen"])
    assert (
        staff(
            "POST",
            "/api/contact-points/link-oslo/groups/grp-9/confirm",
            json_body={"meeting_place_id": "m", "first_meeting_at": "2026-12-01T18:00:00Z", "starter_id": "s"},
        ).status_code
        == 403
    )
    assert (
        staff(
            "PUT",
            "/api/contact-points/link-oslo",
            json_body={
                "contact_point_id": "link-oslo",
                "kind": "link_centre",
                "name": "x",
                "municipality_number": "0301",
                "municipalities": ["0301"],
            },
        ).status_code
        == 403
    )
    assert not service.matching.method_calls and not service.directory.upsert_contact_point.called


def test_a_registration_the_service_refuses_is_403_and_audited_as_refused():
    """The gateway cannot know a person's contact point: registration re-checks and says Forbidden."""
    service, store = gateway()
    staff = Caller(service, store, "contact_point_staff", contact_point_ids=["link-bergen"])
    service.registration.get_registration.side_effect = RemoteError("Forbidden", "not your contact point")
    response = staff("GET", "/api/registrations/reg-oslo", query={"purpose": "answer_question"})
    assert response.status_code == 403 and body(response)["error"]["code"] == "forbidden"
    [entry] = store.entries
    assert (entry["subject_id"], entry["outcome"], entry["purpose"]) == ("reg-oslo", "refused", "answer_question")


def test_the_purpose_is_one_the_pages_offer_and_never_a_header():
    service, store = gateway()
    staff = Caller(service, store, "contact_point_staff", contact_point_ids=["link-bergen"])
    response = staff("GET", "/api/registrations/reg-1", headers={"X-Flokk-Purpose": "anything at all"})
    assert response.status_code == 400 and body(response)["error"]["code"] == "purpose_header"
    response = staff("GET", "/api/registrations/reg-1", query={"purpose": "curiosity"})
    assert response.status_code == 400 and "purpose" in body(response)["error"]["fields"]
    assert store.entries == [] and not service.registration.get_registration.called


def test_every_read_of_a_person_is_audited_with_who_whom_when_and_why():
    service, store = gateway()
    staff = Caller(service, store, "contact_point_staff", contact_point_ids=["link-bergen"])
    assert staff("GET", "/api/registrations/reg-1", query={"purpose": "correction"}).status_code == 200
    assert staff("GET", "/api/registrations/reg-1/deliveries").status_code == 200
    assert staff("GET", "/api/contact-points/link-bergen/pool").status_code == 200
    who = {e["account_id"] for e in store.entries}
    assert who == {staff.account["_id"]}
    assert [(e["action"], e["subject_id"], e["outcome"]) for e in store.entries] == [
        ("get_registration", "reg-1", "allowed"),
        ("deliveries", "reg-1", "allowed"),
        ("pool", "link-bergen", "allowed"),
    ]
    assert store.entries[0]["purpose"] == "correction" and store.entries[1]["purpose"] == "delivery follow-up"
    actor = service.registration.get_registration.call_args.args[-1]
    assert isinstance(actor, Actor)  # which the gateway's proxy signs for registration.get_registration
    assert actor == {
        "account_id": staff.account["_id"],
        "role": "contact_point_staff",
        "contact_point_ids": ["link-bergen"],
        "referrer_id": None,
        "purpose": "correction",
        "request_id": actor["request_id"],
    }
    assert len(actor["request_id"]) == 32


def test_the_national_office_sees_the_audit_log_by_person():
    service, store = gateway()
    staff = Caller(service, store, "contact_point_staff", contact_point_ids=["link-bergen"])
    admin = Caller(service, store, "national_admin", use_token=True)
    staff("GET", "/api/registrations/reg-1")
    staff("GET", "/api/registrations/reg-2")
    entries = body(admin("GET", "/api/audit", query={"subject_id": "reg-2"}))
    assert [e["subject_id"] for e in entries] == ["reg-2"]
