"""For the gateway's tests: the in-memory implementation of its store port, what the other services
answer (their RpcProxies are mocks, the one thing mocked), the gateway built with worker_factory,
and a client that signs in as each role."""

import copy
import json
from http.cookies import SimpleCookie

from nameko.testing.services import worker_factory
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.common import clock
from services.common.errors import Conflict
from services.common.settings import Settings
from services.gateway import auth, figures
from services.gateway.context import ANON_CSRF_COOKIE, SESSION_COOKIE
from services.gateway.domain import personal_session_record
from services.gateway.handlers.accounts import issue_token, open_account
from services.gateway.personal import PERSONAL_COOKIE
from services.gateway.ratelimit import Limiter
from services.gateway.service import GatewayService
from services.gateway.settings import SETTINGS
from services.gateway.store import FAILURE_WINDOW, SESSION_IDLE, SESSION_LIFETIME, new_token_id
from tests import samples
from tests.fakes import FakeStorageBase

BERGEN_ROUTE = {
    "kind": "contact_point",
    "contact_point_id": "link-bergen",
    "municipality_number": "4601",
    "distance_km": 0.0,
    "reason": "serves Bergen",
}
BERGEN = {
    **samples.BERGEN,
    "digital_groups": True,
    "languages": ["nb", "en"],
    "min_size": 5,
    "max_size": 8,
    "active": True,
    "example": True,
    "revision": 1,
    "meeting_places": [{"meeting_place_id": "group-room", "name": "Grupperommet", "capacity": 10}],
    "staff": [
        {"staff_id": "st-1", "first_name": "Kristin", "role": "starter"},
        {"staff_id": "co-1", "first_name": "Jonas", "role": "coordinator"},
    ],
}
PROPOSAL = {
    "group_id": "grp-1",
    "contact_point_id": "link-bergen",
    "state": "proposed",
    "registration_ids": ["reg-1", "reg-2", "reg-3", "reg-4", "reg-5"],
    "slot": {"weekday": "tue", "part_of_day": "evening"},
    "theme": "grief",
    "proposed_at": "2026-11-28T09:00:00Z",
    "explanation": {
        "summary": "Five people share Tuesday evening and the theme grief.",
        "slot": {"weekday": "tue", "part_of_day": "evening"},
        "theme": "grief",
        "mixed": False,
        "relaxed": [],
        "longest_wait_days": 34,
    },
}
GROUP = {
    **PROPOSAL,
    "state": "started",
    "confirmation": {
        "meeting_place_id": "group-room",
        "first_meeting_at": "2026-12-08T17:00:00Z",
        "starter_id": "st-1",
    },
}
GROUP_VIEW = {  # matching.group_view: a self-run group with its check-ins, no comment
    **GROUP,
    "state": "self_run",
    "started_at": "2026-12-08T17:00:00Z",
    "schedule": {"weekday": "thu", "start_time": "18:00", "every": "week", "meeting_place_id": "group-room"},
    "meeting_place_id": "group-room",
    "checkin_registration_ids": ["reg-2"],
    "next_checkin_at": "2027-03-08T17:00:00Z",
    "checkins": [
        {
            "checkin_id": "chk-1",
            "number": 1,
            "due_at": "2027-01-08T17:00:00Z",
            "answered_at": "2027-01-10T12:00:00Z",
            "answer": {
                "still_meeting": True,
                "usual_attendance": 5,
                "wants_new_members": False,
                "needs_help": False,
                "has_comment": True,
            },
            "unanswered": False,
        }
    ],
    "status": "ok",
}
PERSONAL_VIEW = {  # registration.personal_view of a person waiting in Bergen
    "registration_id": "reg-1",
    "status": "waiting",
    "contact_point_id": "link-bergen",
    "waiting_since": "2026-11-01T10:00:00Z",
    "paused_until": None,
    "group_id": None,
    "preferences": {
        "themes": ["grief"],
        "languages": ["nb"],
        "availability": [{"weekday": "tue", "part_of_day": "evening"}],
        "digital_ok": False,
        "accessibility_needs": [],
        "not_in_own_municipality": False,
        "message_language": "nb",
        "preferred_channel": "email",
        "open_to_mixed": True,
    },
    "has_email": True,
    "has_phone": False,
    "avoid_count": 0,
    "first_name": "Kari",
}
PERSON_STATUS = {  # matching.person_status of the same person
    "registration_id": "reg-1",
    "state": "waiting",
    "contact_point_id": "link-bergen",
    "queue_since": "2026-11-01T10:00:00Z",
    "widening": [{"step": "neighbouring", "after_days": 30}],
    "group": None,
}


def figure_row(**counts):
    """One row of matching's figures, every column blank unless given."""
    columns = (*figures.COLUMNS, "period", "area")
    return {column: None for column in columns if column not in ("county_number", "coverage_percent")} | counts


# matching.figures(period) and directory.coverage() as the services answer them (docs/rpc.md).
# Matching has blanked the counts below 5 and rounded the rest to 5: Oslo's and Trøndelag's few.
FIGURES = {
    "period": "2026-Q4",
    "counties": {
        "03": figure_row(area="03", period="2026-Q4", registered=5),
        "46": figure_row(
            area="46",
            period="2026-Q4",
            waiting=10,
            in_group=10,
            registered=20,
            placed=10,
            median_waiting_days=31.5,
            share_relatives=25.0,
            groups_running=5,
        ),
        "50": figure_row(area="50", period="2026-Q4"),
    },
    "outside_counties": figure_row(area="outside_counties", period="2026-Q4"),
    "national": figure_row(
        area="national",
        period="2026-Q4",
        waiting=20,
        in_group=10,
        registered=25,
        placed=10,
        median_waiting_days=31.5,
        p90_waiting_days=62,
        groups_proposed=None,
        groups_running=5,
    ),
    "smallest_shown": 5,
    "rounded_to": 5,
}
CONTACT_POINT_FIGURES = {
    "contact_point_id": "link-bergen",
    "year": "2026",
    "rows": [figure_row(period=p, area="link-bergen", registered=10) for p in ("2026", "2026-Q1", "2026-Q2")]
    + [figure_row(period=p, area="link-bergen") for p in ("2026-Q3", "2026-Q4")],
}
QUEUED = {
    "registration_id": "3f2a9c10-7d1e-4b6a-9f00-2a1b3c4d5e6f",
    "reference": "3f2a9c10",
    "registered_at": "2026-11-20T10:00:00Z",
    "waited_days": 8,
    "reason": "no local or digital contact point can take the person",
    "reason_code": "outside_municipalities",
    "municipality_number": None,
    "county_number": None,
    "area": "svalbard",
    "role": "self",
    "language": "nb",
    "digital_ok": False,
    "not_in_own_municipality": False,
    "last_contact": None,
}
OPEN_BERGEN = {
    "contact_point_id": "link-bergen",
    "name": "LINK Bergen og omegn",
    "kind": "link_centre",
    "address": {"street": "Eksempelgata 3", "postal_code": "5003", "city": "Bergen"},
    "phone": "+4700000103",
    "email": "link-bergen@example.org",
    "opening_hours": [{"weekday": "mon", "opens": "09:00", "closes": "15:00"}],
    "languages": ["nb", "en"],
    "accessibility": ["step_free"],
    "digital_groups": True,
    "free_of_charge": True,
    "updated_at": "2026-11-20T10:00:00Z",
    "meeting_places": [{"name": "Grupperommet", "address": None, "accessibility": ["step_free"]}],
}
COVERAGE = {
    "counties": [
        {
            "county_number": "03",
            "name": "Oslo",
            "municipalities": 1,
            "covered_municipalities": 1,
            "municipality_share": 1.0,
            "population_share": 1.0,
        },
        {
            "county_number": "46",
            "name": "Vestland",
            "municipalities": 43,
            "covered_municipalities": 4,
            "municipality_share": 0.093,
            "population_share": 0.602,
        },
    ],
    "national": {
        "municipalities": 357,
        "covered_municipalities": 5,
        "municipality_share": 0.014,
        "population_share": 0.335,
    },
}

# What each mocked RPC answers, in the shapes of docs/rpc.md.
ANSWERS = {
    "registration": {
        "register": {"registration_id": "reg-1", "created": True},
        "get_registration": {"registration_id": "reg-1", "name": "Kari", "status": "waiting"},
        "withdraw": {"registration_id": "reg-1", "status": "withdrawn"},
        "erase": {"registration_id": "reg-1", "status": "erased"},
        "referral_statuses": [{"registration_id": "reg-1", "status": "waiting", "updated_at": "2026-11-28T09:00:00Z"}],
        "referral_status": {"registration_id": "reg-1", "status": "waiting", "updated_at": "2026-11-28T09:00:00Z"},
        "record_contact": {"registration_id": "reg-1", "purpose": "clarify_wishes"},
        "first_names": {"reg-1": "Kari", "reg-2": "Ola"},
        "find_by_reference": [{"registration_id": "reg-1", "status": "waiting", "contact_point_id": "link-bergen"}],
        "resolve_duplicate": {"registration_ids": ["reg-1", "reg-2"], "resolved": True},
        "open_link": {"registration_id": "reg-1"},
        "revoke_links": {"registration_id": "reg-1"},
        "request_new_link": {"accepted": True},
        "personal_view": PERSONAL_VIEW,
        "update_preferences": {
            "registration_id": "reg-1",
            "changed": ["themes"],
            "applies_to_future_matching_only": False,
        },
        "pause": {"registration_id": "reg-1", "paused_until": "2027-01-09T23:00:00Z"},
        "resume": {"registration_id": "reg-1", "status": "waiting"},
        "come_back": {"registration_id": "reg-1", "status": "waiting"},
        "set_avoid_list": {"count": 1},
        "create_cohort": {"cohort_id": "coh-1", "code": "7KQ2M9XH3D", "deadline": "2026-12-19T09:00:00Z"},
        "cohort_by_code": {
            "cohort_id": "coh-1",
            "contact_point_id": "link-bergen",
            "keep_together": True,
            "open": True,
        },
        "cohorts": [
            {
                "cohort_id": "coh-1",
                "contact_point_id": "link-bergen",
                "expected_size": 8,
                "registered": 3,
                "deadline": "2026-12-19T09:00:00Z",
                "code": "7KQ2M9XH3D",
            }
        ],
        "health": {"status": "ok"},
    },
    "matching": {
        "pool": [
            {
                "registration_id": "reg-1",
                "waiting_since": "2026-11-01T10:00:00Z",
                "role": "self",
                "language": "nb",
                "themes": ["grief"],
                "slots": [{"weekday": "tue", "part_of_day": "evening"}],
                "open_to_mixed": True,
                "route_kind": "contact_point",
                "widening": [],
            }
        ],
        "proposals": [PROPOSAL],
        "groups": [GROUP],
        "confirm_group": {"group_id": "grp-1", "state": "confirmed"},
        "reject_group": {"group_id": "grp-1", "state": "rejected"},
        "advance_group": {"group_id": "grp-1", "state": "started"},
        "leave_group": {"group_id": "grp-1"},
        "close_group": {"group_id": "grp-1", "state": "closed"},
        "record_acquaintances": {"recorded": True},
        "group_view": GROUP_VIEW,
        "record_handover": {"group_id": "grp-1", "state": "self_run"},
        "send_checkin": {"checkin_id": "chk-2", "due_at": "2026-11-28T09:00:00Z"},
        "answer_checkin": {"checkin_id": "chk-1"},
        "checkin_comment": {"checkin_id": "chk-1", "comment": "Vi trives, men savner et større rom."},
        "person_status": PERSON_STATUS,
        "figures": FIGURES,
        "contact_point_figures": CONTACT_POINT_FIGURES,
        "national_queue": [QUEUED],
        "assign_from_queue": {"registration_id": QUEUED["registration_id"], "contact_point_id": "link-bergen"},
        "health": {"status": "ok"},
    },
    "directory": {
        "municipality_for_postal_code": {
            "municipality_number": "4601",
            "name": "Bergen",
            "county_number": "46",
            "area": None,
        },
        "municipality": {"municipality_number": "4601", "name": "Bergen", "county_number": "46"},
        "route": [BERGEN_ROUTE],
        "list_contact_points": [BERGEN],
        "get_contact_point": BERGEN,
        "open_contact_points": [OPEN_BERGEN],
        "open_contact_point": OPEN_BERGEN,
        "upsert_contact_point": BERGEN,
        "update_contact_point": BERGEN,
        "deactivate_contact_point": {**BERGEN, "active": False},
        "coverage": COVERAGE,
        "coverage_map_svg": "<svg xmlns='http://www.w3.org/2000/svg'/>",
        "hsds_export": {"hsds_version": "3.0", "tables": {"organization": []}},
        "hsds_export_csv": {"organizations.csv": "id,name,description,parent_organization_id\n"},
        "meeting_link": {"meeting_place_id": "group-room", "video_url": "https://video.example.no/rom-7"},
        "health": {"status": "ok"},
    },
    "notification": {
        "deliveries": [{"template": "receipt", "channel": "email", "status": "sent"}],
        "health": {"status": "ok"},
    },
}
PASSWORD = "a long test passphrase"


class FakeGatewayStorage(FakeStorageBase):
    source = "gateway"

    def __init__(self):
        super().__init__()
        self.accounts, self.token_records, self.sessions, self.entries, self.failures = {}, {}, {}, [], {}
        self.personal_sessions = {}
        self.broker = self

    def add_account(self, account):
        if any(a["email"] == account["email"] for a in self.accounts.values()):
            raise Conflict("an account with this e-mail address exists")
        self.accounts[account["_id"]] = copy.deepcopy(account)

    def account(self, account_id):
        found = self.accounts.get(account_id)
        return found if found and found["active"] else None

    def account_by_email(self, email):
        return next((a for a in self.accounts.values() if a["email"] == email.strip().lower() and a["active"]), None)

    def account_by_referrer_id(self, referrer_id):
        return next(
            (
                a
                for a in self.accounts.values()
                if a.get("referrer_id") == referrer_id and a["role"] == "referrer" and a["active"]
            ),
            None,
        )

    def add_token(self, token_digest, account_id, label, expires_at):
        token_id = new_token_id()
        self.token_records[token_digest] = {
            "token_id": token_id,
            "account_id": account_id,
            "label": label,
            "created_at": clock.now(),
            "expires_at": expires_at,
            "last_used_at": None,
        }
        return token_id

    def account_for_token(self, token_digest):
        token = self.token_records.get(token_digest)
        if token is None or token["expires_at"] <= clock.now():
            return None
        token["last_used_at"] = clock.now()
        return self.account(token["account_id"])

    def tokens(self):
        live = [dict(t) for t in self.token_records.values() if t["expires_at"] > clock.now()]
        return sorted(live, key=lambda t: t["created_at"])

    def revoke_token(self, token_id):
        digest = next((d for d, t in self.token_records.items() if t["token_id"] == token_id), None)
        return self.token_records.pop(digest) if digest else None

    def add_session(self, session_digest, account_id, csrf_token):
        self.sessions[session_digest] = {
            "_id": session_digest,
            "account_id": account_id,
            "csrf": csrf_token,
            "expires_at": clock.now() + SESSION_LIFETIME,
            "last_seen_at": clock.now(),
        }

    def session(self, session_digest):
        found = self.sessions.get(session_digest)
        now = clock.now()
        if found is None or found["expires_at"] <= now or found["last_seen_at"] <= now - SESSION_IDLE:
            return None
        found["last_seen_at"] = now
        return found

    def sign_in_failures(self, key):
        return [at for at in self.failures.get(key, []) if at > clock.now() - FAILURE_WINDOW]

    def add_sign_in_failure(self, key, at):
        self.failures.setdefault(key, []).append(at)
        return [moment for moment in self.failures[key] if moment > at - FAILURE_WINDOW]

    def clear_sign_in_failures(self, key):
        self.failures.pop(key, None)

    def drop_session(self, session_digest):
        self.sessions.pop(session_digest, None)

    def add_personal_session(self, session_digest, registration_id, csrf_token, now):
        self.personal_sessions[session_digest] = personal_session_record(
            session_digest, registration_id, csrf_token, now
        )

    def personal_session(self, session_digest):
        found = self.personal_sessions.get(session_digest)
        return dict(found) if found and found["expires_at"] > clock.now() else None  # as the TTL index

    def touch_personal_session(self, session_digest, now):
        if session_digest in self.personal_sessions:
            self.personal_sessions[session_digest]["seen_at"] = now

    def drop_personal_session(self, session_digest):
        self.personal_sessions.pop(session_digest, None)

    def drop_personal_sessions(self, registration_id):
        for digest in [d for d, s in self.personal_sessions.items() if s["registration_id"] == registration_id]:
            del self.personal_sessions[digest]

    def audit(self, entry):
        self.entries.append(dict(entry))

    def audit_entries(self, subject_id=None, limit=200):
        return [e for e in reversed(self.entries) if subject_id in (None, e["subject_id"])][:limit]


def gateway(limit=(1000, 60), config=None):
    store = FakeGatewayStorage()
    service = worker_factory(
        GatewayService,
        store=store,
        limiter=Limiter(*limit),
        clock=clock.CURRENT,
        settings=Settings.load(
            "gateway", SETTINGS, environ={"FLOKK_MODE": "test"}, config={"FLOKK_RPC_TIMEOUT": 5, **(config or {})}
        ),
    )
    answer_like_the_services(service)
    return service, store


def answer_like_the_services(service):
    for name, methods in ANSWERS.items():
        proxy = getattr(service, name)
        proxy.reset_mock()
        for method, value in methods.items():
            getattr(proxy, method).return_value = copy.deepcopy(value)
            getattr(proxy, method).side_effect = None


class Caller:
    """One signed-in person (or the public): a session cookie and its CSRF token, or an API token.
    A `participant` is a person whose link opened their personal page: the flokk_me cookie."""

    def __init__(self, service, store, role=None, use_token=False, **account_fields):
        self.service, self.store, self.role = service, store, role
        self.cookies, self.csrf, self.token, self.account = {}, None, None, None
        if role is None:
            self.cookies[ANON_CSRF_COOKIE] = self.csrf = "anon-csrf-token"
            return
        if role == "participant":
            self.registration_id = account_fields.get("registration_id", "reg-1")
            self.session_id, self.csrf = auth.new_secret(), auth.new_secret()
            self.cookies[PERSONAL_COOKIE] = self.session_id
            self.cookies[ANON_CSRF_COOKIE] = self.csrf  # on the forms anyone may send, the person is the public
            return
        email = account_fields.pop("email", f"{role}.{len(store.accounts)}@example.no")
        ports = service._ports()  # the Ports the gateway's entrypoints build, over the fake store
        self.account = open_account(
            ports, {"email": email, "name": role, "role": role, "password": PASSWORD, **account_fields}
        )
        if use_token:
            self.token, _ = issue_token(ports, self.account["_id"], "test")
        else:
            self.session_id, self.csrf = auth.new_secret(), auth.new_secret()
            self.cookies[SESSION_COOKIE] = self.session_id

    def sign_in_again(self):
        """(Re)create the session, so one caller can go on after a test signed it out."""
        if self.account and not self.token and self.store.session(auth.digest(self.session_id)) is None:
            self.store.add_session(auth.digest(self.session_id), self.account["_id"], self.csrf)
        if self.role == "participant" and self.store.personal_session(auth.digest(self.session_id)) is None:
            self.store.add_personal_session(auth.digest(self.session_id), self.registration_id, self.csrf, clock.now())

    def __call__(self, method, path, json_body=None, form=None, headers=None, csrf=True, query=None):
        self.sign_in_again()
        headers = dict(headers or {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if csrf and self.csrf:
            headers["X-CSRF-Token"] = self.csrf
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return request(self.service, method, path, json_body=json_body, form=form, headers=headers, query=query)


def request(service, method, path, json_body=None, form=None, headers=None, query=None, remote_addr="127.0.0.1"):
    builder = EnvironBuilder(
        path=path,
        method=method,
        headers=headers or {},
        json=json_body,
        data=form,
        query_string=query,
        environ_base={"REMOTE_ADDR": remote_addr},
    )
    req = Request(builder.get_environ())
    if path == "/":
        return service.root(req)
    return service.everything_else(req, path=path.lstrip("/"))


def body(response):
    return json.loads(response.get_data(as_text=True))


def cookies_set(response):
    jar = SimpleCookie()
    for header in response.headers.getlist("Set-Cookie"):
        jar.load(header)
    return {key: morsel.value for key, morsel in jar.items()}
