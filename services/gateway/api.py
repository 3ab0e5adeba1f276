"""The JSON API and the probes. Thin: validate (done by the pipeline), call one RPC with the
actor, answer. Rules live in the services; the gateway only refuses what a role may never do."""

from werkzeug.wrappers import Response

from services.common.contact_point_input import ContactPointInput
from services.common.contracts import RegistrationRequested
from services.common.health import health_report

from . import accounts, auth, figures
from .app import METRICS, SESSION_COOKIE, Refused
from .responses import error_response, json_response
from .routes import ADMIN, DIRECTORY_READERS, EVERYONE, SIGNED_IN, STAFF, route
from .schemas import (
    AccountInput,
    AccountOutput,
    AcquaintancesInput,
    AdvanceInput,
    AuditEntry,
    AuditQuery,
    CloseInput,
    ConfirmInput,
    ContactPointQuery,
    Created,
    EraseInput,
    Figures,
    Health,
    LeaveInput,
    LoginInput,
    ReferralStatus,
    RejectInput,
    SessionOutput,
    TokenInput,
    TokenOutput,
    WithdrawInput,
)

BACKENDS = ("registration", "matching", "directory", "notification")
EXAMPLE_INTAKE = {
    "idempotency_key": "web-2b7c9e",
    "name": "Kari",
    "email": "kari@example.no",
    "postal_code": "5003",
    "role": "self",
    "themes": ["grief"],
    "languages": ["nb"],
    "open_to_mixed": True,
    "availability": [{"weekday": "tue", "part_of_day": "evening"}],
    "consent": {
        "purpose": "self_help_group_matching",
        "text_version": "2026-01",
        "given_at": "2026-11-28T08:59:00Z",
        "channel": "self",
    },
}
CP = {"contact_point_id": "link-bergen"}
GROUP = {"contact_point_id": "link-bergen", "group_id": "grp-1"}
REG = {"registration_id": "reg-1"}


# --- probes and documents ----------------------------------------------------------------------


@route(
    "GET",
    "/healthz",
    roles=EVERYONE,
    kind="meta",
    response=Health,
    tag="meta",
    summary="Liveness: the gateway's own store and broker.",
)
def healthz(ctx):
    report = health_report("gateway", ctx.store, ctx.store.broker)
    return json_response(report, 200 if report["status"] == "ok" else 503)


@route(
    "GET",
    "/readyz",
    roles=EVERYONE,
    kind="meta",
    tag="meta",
    summary="Readiness: the gateway's store, and every service it calls answers health().",
)
def readyz(ctx):
    report = {"gateway": health_report("gateway", ctx.store, ctx.store.broker)["status"]}
    for name in BACKENDS:
        try:
            report[name] = ctx.call(name, "health").get("status", "down")
        except Exception:  # any failure to answer means not ready; the reason is not the caller's
            report[name] = "down"
    ready = all(status == "ok" for status in report.values())
    return json_response({"status": "ready" if ready else "not_ready", "checks": report}, 200 if ready else 503)


@route("GET", "/metrics", roles=EVERYONE, kind="meta", tag="meta", summary="Prometheus text format.")
def metrics(ctx):
    return Response(METRICS.render(label="route"), mimetype="text/plain", content_type="text/plain; version=0.0.4")


@route("GET", "/openapi.json", roles=EVERYONE, kind="meta", tag="meta", summary="This document.")
def openapi(ctx):
    from .openapi import spec

    return json_response(spec())


@route("GET", "/asyncapi.yaml", roles=EVERYONE, kind="meta", tag="meta", summary="The event contracts.")
def asyncapi(ctx):
    from .openapi import asyncapi_text

    return Response(asyncapi_text(), content_type="application/yaml; charset=utf-8")


# --- registrations -----------------------------------------------------------------------------


@route(
    "POST",
    "/api/registrations",
    roles=EVERYONE,
    rate_limited=True,
    body=RegistrationRequested,
    response=Created,
    tag="registrations",
    example=EXAMPLE_INTAKE,
    summary="Register a person (the intake contract). A referrer's referral id is always its own.",
)
def create_registration(ctx):
    payload = dict(ctx.raw_body)
    if ctx.role == "referrer":
        referral = payload.get("referral") or {}
        payload["referral"] = {**referral, "referrer_id": ctx.actor["referrer_id"]}
        if "organisation" not in referral:
            raise Refused(
                error_response(
                    400,
                    "invalid_input",
                    "Some fields are not valid.",
                    {"referral": {"organisation": ["Missing data for required field."]}},
                )
            )
    result = register(ctx, payload)
    return json_response(result, 201 if result["created"] else 200)


def register(ctx, payload):
    """registration.register; the public has no actor to pass (the documented default)."""
    if ctx.account is None:
        return ctx.call("registration", "register", payload)
    return ctx.call("registration", "register", payload, ctx.actor)


@route(
    "GET",
    "/api/registrations/<registration_id>",
    roles=STAFF,
    audit="registration",
    tag="registrations",
    purpose="case handling",
    path_example=REG,
    summary="One registration with contact details (audited).",
)
def get_registration(ctx, registration_id):
    return json_response(ctx.call("registration", "get_registration", registration_id, ctx.actor))


@route(
    "POST",
    "/api/registrations/<registration_id>/withdraw",
    roles=(*STAFF, "referrer"),
    body=WithdrawInput,
    audit="registration",
    purpose="withdrawal",
    tag="registrations",
    example={"reason": "staff"},
    path_example=REG,
    summary="Take the person out of matching; the record stays.",
)
def withdraw(ctx, registration_id):
    return json_response(ctx.call("registration", "withdraw", registration_id, ctx.actor, ctx.body["reason"]))


@route(
    "POST",
    "/api/registrations/<registration_id>/erase",
    roles=STAFF,
    body=EraseInput,
    audit="registration",
    purpose="erasure",
    tag="registrations",
    example={"reason": "request"},
    path_example=REG,
    summary="Erase the person's data in every service.",
)
def erase(ctx, registration_id):
    return json_response(ctx.call("registration", "erase", registration_id, ctx.actor, ctx.body["reason"]))


@route(
    "GET",
    "/api/registrations/<registration_id>/deliveries",
    roles=STAFF,
    audit="registration",
    purpose="delivery follow-up",
    tag="registrations",
    path_example=REG,
    summary="The masked delivery log of one person (audited).",
)
def deliveries(ctx, registration_id):
    return json_response(ctx.call("notification", "deliveries", registration_id, ctx.actor))


@route(
    "GET",
    "/api/referrals",
    roles=("referrer",),
    audit="referrer",
    purpose="follow referrals",
    response=ReferralStatus,
    response_many=True,
    tag="referrals",
    summary="The status of my referrals.",
)
def referral_statuses(ctx):
    return json_response(ctx.call("registration", "referral_statuses", ctx.actor))


@route(
    "GET",
    "/api/referrals/<registration_id>",
    roles=("referrer",),
    audit="registration",
    purpose="follow referral",
    response=ReferralStatus,
    tag="referrals",
    path_example=REG,
    summary="The status of one of my referrals.",
)
def referral_status(ctx, registration_id):
    return json_response(ctx.call("registration", "referral_status", registration_id, ctx.actor))


# --- matching, per contact point -----------------------------------------------------------------


def _per_contact_point(method, summary):
    def handler(ctx, contact_point_id):
        return json_response(ctx.call("matching", method, contact_point_id, ctx.actor))

    handler.__name__ = method
    return route(
        "GET",
        f"/api/contact-points/<contact_point_id>/{method}",
        roles=STAFF,
        scope="contact_point",
        audit="contact_point",
        purpose=f"review {method}",
        tag="matching",
        path_example=CP,
        summary=summary,
    )(handler)


_per_contact_point("pool", "The people waiting: ids, waiting since, role, language, themes, slots (audited).")
_per_contact_point("proposals", "Proposed groups with their explanations (audited).")
_per_contact_point("groups", "Confirmed and running groups (audited).")


def _group_action(action, body, example, summary, call):
    def handler(ctx, contact_point_id, group_id):
        return json_response(ctx.call("matching", *call(ctx, group_id)))

    handler.__name__ = f"{action}_group"
    return route(
        "POST",
        f"/api/contact-points/<contact_point_id>/groups/<group_id>/{action}",
        roles=STAFF,
        scope="contact_point",
        body=body,
        tag="matching",
        example=example,
        path_example=GROUP,
        summary=summary,
    )(handler)


_group_action(
    "confirm",
    ConfirmInput,
    {"meeting_place_id": "mp-1", "first_meeting_at": "2026-12-01T18:00:00+01:00", "starter_id": "st-1"},
    "Confirm a proposal: meeting place, first meeting, starter. Only now are people invited.",
    lambda ctx, gid: ("confirm_group", gid, _raw(ctx, ConfirmInput), ctx.actor),
)
_group_action(
    "reject",
    RejectInput,
    {"reason": "no_room"},
    "Reject a proposal with a reason.",
    lambda ctx, gid: ("reject_group", gid, ctx.body["reason"], ctx.actor),
)
_group_action(
    "advance",
    AdvanceInput,
    {"state": "started"},
    "Move a confirmed group on: started (the starter holds the first meetings), then self_run.",
    lambda ctx, gid: ("advance_group", gid, ctx.body["state"], ctx.actor),
)
_group_action(
    "leave",
    LeaveInput,
    {"registration_id": "reg-1"},
    "A member leaves a confirmed group.",
    lambda ctx, gid: ("leave_group", gid, ctx.body["registration_id"], ctx.actor),
)
_group_action(
    "close",
    CloseInput,
    {"reason": "completed"},
    "Close a group.",
    lambda ctx, gid: ("close_group", gid, ctx.body["reason"], ctx.actor),
)


def _raw(ctx, schema):
    """The JSON values as sent (timestamps stay strings on the wire), limited to the schema's fields."""
    return {key: ctx.raw_body[key] for key in schema._declared_fields if key in ctx.raw_body}


@route(
    "POST",
    "/api/contact-points/<contact_point_id>/acquaintances",
    roles=STAFF,
    scope="contact_point",
    body=AcquaintancesInput,
    tag="matching",
    path_example=CP,
    example={"registration_id_a": "reg-1", "registration_id_b": "reg-2"},
    summary="Record that two people know each other: never in one group.",
)
def record_acquaintances(ctx, contact_point_id):
    return json_response(
        ctx.call(
            "matching", "record_acquaintances", ctx.body["registration_id_a"], ctx.body["registration_id_b"], ctx.actor
        )
    )


# --- directory -----------------------------------------------------------------------------------


@route(
    "GET",
    "/api/postal-codes/<postal_code>/contact-points",
    roles=EVERYONE,
    rate_limited=True,
    tag="directory",
    path_example={"postal_code": "5003"},
    summary="Find your contact point by postal code.",
)
def find_contact_point(ctx, postal_code):
    if not (len(postal_code) == 4 and postal_code.isdigit()):
        raise Refused(
            error_response(
                400, "invalid_input", "Some fields are not valid.", {"postal_code": ["Must be a 4-digit postal code."]}
            )
        )
    place = ctx.call("directory", "municipality_for_postal_code", postal_code)
    candidates = ctx.call("directory", "route", place.get("municipality_number"), {})
    return json_response({"place": place, "candidates": candidates})


@route(
    "GET",
    "/api/contact-points",
    roles=DIRECTORY_READERS,
    query=ContactPointQuery,
    tag="directory",
    summary="The directory's contact points, optionally by municipality, county or kind.",
)
def list_contact_points(ctx):
    q = ctx.query
    return json_response(
        ctx.call(
            "directory", "list_contact_points", q.get("municipality_number"), q.get("county_number"), q.get("kind")
        )
    )


@route(
    "GET",
    "/api/contact-points/<contact_point_id>",
    roles=DIRECTORY_READERS,
    tag="directory",
    path_example=CP,
    summary="One contact point.",
)
def get_contact_point(ctx, contact_point_id):
    return json_response(ctx.call("directory", "get_contact_point", contact_point_id))


@route(
    "PUT",
    "/api/contact-points/<contact_point_id>",
    roles=STAFF,
    scope="contact_point",
    body=ContactPointInput,
    tag="directory",
    path_example=CP,
    example={
        "contact_point_id": "link-bergen",
        "kind": "link_centre",
        "name": "LINK Bergen og omegn",
        "municipality_number": "4601",
        "municipalities": ["4601"],
    },
    summary="Create or change a contact point (staff: their own only).",
)
def upsert_contact_point(ctx, contact_point_id):
    if ctx.body["contact_point_id"] != contact_point_id:
        raise Refused(
            error_response(
                400,
                "invalid_input",
                "Some fields are not valid.",
                {"contact_point_id": ["Must be the contact point of the path."]},
            )
        )
    return json_response(ctx.call("directory", "upsert_contact_point", ctx.raw_body, ctx.actor))


@route(
    "DELETE",
    "/api/contact-points/<contact_point_id>",
    roles=ADMIN,
    tag="directory",
    path_example=CP,
    summary="Deactivate a contact point.",
)
def deactivate_contact_point(ctx, contact_point_id):
    return json_response(ctx.call("directory", "deactivate_contact_point", contact_point_id, ctx.actor))


@route("GET", "/api/coverage", roles=EVERYONE, tag="directory", summary="Which municipalities have a contact point.")
def coverage(ctx):
    return json_response(ctx.call("directory", "coverage"))


@route("GET", "/api/coverage/map.svg", roles=EVERYONE, tag="directory", summary="The coverage map (SVG).")
def coverage_map(ctx):
    return Response(ctx.call("directory", "coverage_map_svg"), content_type="image/svg+xml")


@route("GET", "/api/hsds", roles=DIRECTORY_READERS, tag="directory", summary="The directory as HSDS 3.0 JSON.")
def hsds_export(ctx):
    return json_response(ctx.call("directory", "hsds_export"))


# --- national figures ----------------------------------------------------------------------------


def figure_rows(ctx):
    return figures.table(ctx.call("matching", "figures"), ctx.call("directory", "coverage"))


@route(
    "GET",
    "/api/figures",
    roles=ADMIN,
    response=Figures,
    tag="figures",
    summary="Anonymous figures per county and nationwide; none for fewer than 5 people.",
)
def national_figures(ctx):
    return json_response({"rows": figure_rows(ctx), "suppressed_below": figures.THRESHOLD})


@route("GET", "/api/figures.csv", roles=ADMIN, tag="figures", summary="The same figures as CSV.")
def national_figures_csv(ctx):
    return csv_response(figures.to_csv(figure_rows(ctx)))


def csv_response(text):
    return Response(
        text,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="flokk-figures.csv"'},
    )


# --- accounts, sessions, tokens, audit ------------------------------------------------------------


@route(
    "POST",
    "/api/session",
    roles=EVERYONE,
    rate_limited=True,
    body=LoginInput,
    response=SessionOutput,
    tag="accounts",
    example={"email": "staff@example.no", "password": "correct horse battery"},
    summary="Sign in: sets the session cookie and returns the CSRF token for later changes.",
)
def login(ctx):
    account = ctx.store.account_by_email(ctx.body["email"])
    if not auth.verify_password(account and account["password_hash"], ctx.body["password"]):
        return error_response(401, "unauthorised", "Wrong e-mail address or password.")
    response = json_response({"account": AccountOutput().dump(account), "csrf_token": start_session(ctx, account)})
    return response


def start_session(ctx, account):
    """A new session for the account; the cookie goes on the response. Returns its CSRF token."""
    session_id, csrf = auth.new_secret(), auth.new_secret()
    ctx.store.add_session(auth.digest(session_id), account["_id"], csrf)
    secure = str(ctx.service.config.get("FLOKK_COOKIE_SECURE", "")).lower() in ("1", "true", "yes")
    ctx.set_cookies.append(
        (SESSION_COOKIE, session_id, {"httponly": True, "samesite": "Lax", "secure": secure, "max_age": 8 * 3600})
    )
    return csrf


@route("DELETE", "/api/session", roles=SIGNED_IN, tag="accounts", summary="Sign out.")
def logout(ctx):
    end_session(ctx)
    return json_response({"signed_out": True})


def end_session(ctx):
    if ctx.session:
        ctx.store.drop_session(ctx.session["_id"])
    ctx.set_cookies.append((SESSION_COOKIE, "", {"expires": 0, "httponly": True, "samesite": "Lax"}))


@route(
    "POST",
    "/api/accounts",
    roles=ADMIN,
    body=AccountInput,
    response=AccountOutput,
    tag="accounts",
    example={
        "email": "new.staff@example.no",
        "name": "Ny",
        "role": "contact_point_staff",
        "contact_point_ids": ["link-bergen"],
        "password": "a long enough passphrase",
    },
    summary="Create an account (national office only).",
)
def create_account(ctx):
    account = accounts.create_account(ctx.store, ctx.raw_body)
    return json_response(AccountOutput().dump(account), 201)


@route(
    "POST",
    "/api/tokens",
    roles=ADMIN,
    body=TokenInput,
    response=TokenOutput,
    tag="accounts",
    example={"account_id": "acc-1", "label": "intake system"},
    summary="Issue an API token for an account; shown once, stored only as a digest.",
)
def create_token(ctx):
    return json_response({"token": accounts.issue_token(ctx.store, ctx.body["account_id"], ctx.body["label"])}, 201)


@route(
    "GET",
    "/api/audit",
    roles=ADMIN,
    query=AuditQuery,
    response=AuditEntry,
    response_many=True,
    tag="accounts",
    summary="Who read whose personal data, when and why (newest first).",
)
def audit_log(ctx):
    return json_response(ctx.store.audit_entries(ctx.query.get("subject_id")))
