"""Server-rendered pages (Jinja2): public, staff, referrer and national office. Every page works
without JavaScript; forms carry a CSRF token; errors are listed at the top and tied to their fields."""

import uuid
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from marshmallow import ValidationError
from nameko.exceptions import RemoteError
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from services.common import clock
from services.common.contracts import (
    ACCESSIBILITY_NEEDS,
    PARTS_OF_DAY,
    THEMES,
    WEEKDAYS,
    GroupClosed,
    GroupRejected,
    RegistrationRequested,
)
from services.common.envelope import iso
from services.common.errors import field_errors

from . import api, auth, figures
from .app import UNAVAILABLE, Refused
from .i18n import DEFAULT_LANGUAGE, LANGUAGES, choose_language, texts, translator
from .responses import remote_field_errors
from .routes import ADMIN, EVERYONE, STAFF, route

HERE = Path(__file__).resolve().parent
CONSENT_VERSION = "2026-01"
FORM_LANGUAGES = ("nb", "nn", "en", "se", "pl", "uk", "ar", "so", "ti", "fa")
REJECT_REASONS = GroupRejected._declared_fields["reason"].validate.choices  # type: ignore[union-attr]
_env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))


def _number(value, lang):
    """A figure as a reader of the page's language writes it: 18,5 in Norwegian, 18.5 in English."""
    if isinstance(value, float):
        text = f"{value:.1f}"
        return text if lang == "en" else text.replace(".", ",")
    return value


_env.filters["number"] = _number


def render(ctx, template, status=200, **values):
    response = Response(
        _env.get_template(template).render(
            t=ctx.t,
            lang=ctx.lang,
            languages=LANGUAGES,
            account=ctx.account,
            path=ctx.request.path,
            csrf_token=ctx.csrf_token(),
            **values,
        ),
        status=status,
        mimetype="text/html",
    )
    if ctx.request.args.get("lang") in LANGUAGES:
        response.set_cookie("lang", ctx.lang, samesite="Lax", max_age=365 * 24 * 3600)
    return response


def render_error(request, status, reason=None, ctx=None):
    lang = choose_language(request)
    return Response(
        _env.get_template("error.html").render(
            t=translator(lang),
            lang=lang,
            languages=LANGUAGES,
            account=getattr(ctx, "account", None),
            path=request.path,
            csrf_token="",
            status=status,
            reason=reason,
        ),
        status=status,
        mimetype="text/html",
    )


@route("GET", "/static/style.css", roles=EVERYONE, kind="asset", tag="meta", summary="The stylesheet.")
def stylesheet(ctx):
    return Response(
        (HERE / "static" / "style.css").read_text(encoding="utf-8"),
        content_type="text/css",
        headers={"Cache-Control": "max-age=3600"},
    )


# --- public -------------------------------------------------------------------------------------


@route("GET", "/", roles=EVERYONE, kind="page")
def home(ctx):
    return render(ctx, "home.html")


@route("GET", "/register", roles=EVERYONE, kind="page")
def register_form(ctx):
    return render(
        ctx, "register.html", form={"idempotency_key": f"web-{uuid.uuid4().hex}"}, errors={}, **_register_choices()
    )


def _register_choices():
    return {
        "themes": THEMES,
        "weekdays": WEEKDAYS,
        "parts": PARTS_OF_DAY,
        "needs": ACCESSIBILITY_NEEDS,
        "form_languages": FORM_LANGUAGES,
    }


@route("POST", "/register", roles=EVERYONE, kind="page", rate_limited=True)
def register_submit(ctx):
    form = ctx.request.form
    payload, errors = intake_from_form(form, ctx.lang, referral=None)
    if not errors:
        try:
            result = api.register(ctx, payload)
            return render(ctx, "thanks.html", registration=result, status=201 if result["created"] else 200)
        except RemoteError as exc:
            if exc.exc_type != "InvalidInput":
                raise
            errors = remote_field_errors(exc)
    return render(
        ctx,
        "register.html",
        status=400,
        form=form.to_dict(),
        errors=_flat(errors),
        chosen=_chosen(form),
        **_register_choices(),
    )


def intake_from_form(form, lang, referral=None):
    """The intake contract from the form fields; (payload, {field: [messages]})."""
    errors = {}
    payload = {
        "idempotency_key": form.get("idempotency_key") or f"web-{uuid.uuid4().hex}",
        "name": form.get("name", "").strip(),
        "role": form.get("role", ""),
        "themes": form.getlist("themes"),
        "languages": [x for x in [form.get("language")] if x],
        "availability": [
            dict(zip(("weekday", "part_of_day"), slot.split("-", 1), strict=True))
            for slot in form.getlist("availability")
            if "-" in slot
        ],
        "digital_ok": form.get("digital_ok") == "yes",
        "not_in_own_municipality": form.get("not_in_own_municipality") == "yes",
        "accessibility_needs": form.getlist("accessibility_needs"),
        "message_language": form.get("message_language") or lang,
        "consent": {
            "purpose": "self_help_group_matching",
            "text_version": CONSENT_VERSION,
            "given_at": iso(clock.now()),
            "channel": "referrer" if referral else "self",
        },
    }
    for key in ("email", "phone", "postal_code", "free_text"):
        value = form.get(key, "").strip()
        if key == "phone" and value:
            value = _e164(value)
        if value:
            payload[key] = value
    if form.get("open_to_mixed") in ("yes", "no"):
        payload["open_to_mixed"] = form.get("open_to_mixed") == "yes"
    if form.get("birth_year", "").strip():
        try:
            payload["birth_year"] = int(form["birth_year"])
        except ValueError:
            errors["birth_year"] = ["Must be a year, such as 1980."]
    if referral:
        payload["referral"] = referral
    elif form.get("consent") != "yes":
        errors["consent"] = ["consent_required"]
    try:
        RegistrationRequested().load(payload)
    except ValidationError as exc:
        errors = {**field_errors(exc.messages), **errors}
    return payload, errors


def _e164(phone):
    digits = "".join(ch for ch in phone if ch.isdigit() or ch == "+")
    if len(digits) == 8 and digits.isdigit():
        return "+47" + digits
    if digits.startswith("0047"):
        return "+" + digits[2:]
    return digits


FORM_ORDER = (
    "organisation",
    "name",
    "email",
    "phone",
    "postal_code",
    "role",
    "themes",
    "languages",
    "availability",
    "open_to_mixed",
    "birth_year",
    "accessibility_needs",
    "message_language",
    "free_text",
    "idempotency_key",
    "consent",
    "consent_attested",
    "meeting_place_id",
    "first_meeting_at",
    "starter_id",
)


def _flat(errors):
    """{field: message} in the order of the form. A field with a message of its own in the page's
    language (`err_<field>`) gets that, saying what to do; else the service's words are shown."""

    def words(value):
        if isinstance(value, dict):
            return "; ".join(words(v) for v in value.values())
        if isinstance(value, (list, tuple)):
            return "; ".join(words(v) for v in value)
        return str(value)

    known = texts(DEFAULT_LANGUAGE)
    rank = {name: i for i, name in enumerate(FORM_ORDER)}
    flat = {}
    for key in sorted(errors or {}, key=lambda k: (rank.get(k, len(rank)), k)):
        message = words(errors[key])
        flat[key] = f"err_{key}" if f"err_{key}" in known and message not in known else message
    return flat


def _chosen(form):
    return {key: form.getlist(key) for key in ("themes", "availability", "accessibility_needs")}


@route("GET", "/find", roles=EVERYONE, kind="page", rate_limited=True)
def find(ctx):
    code = ctx.request.args.get("postal_code", "").strip()
    result, error = None, None
    if code:
        if not (len(code) == 4 and code.isdigit()):
            error = "postal_code_format"
        else:
            try:
                place = ctx.call("directory", "municipality_for_postal_code", code)
                candidates = ctx.call("directory", "route", place.get("municipality_number"), {})
                names = {}
                for candidate in candidates:
                    cp_id = candidate.get("contact_point_id")
                    if candidate.get("kind") == "contact_point" and cp_id and cp_id not in names:
                        names[cp_id] = ctx.call("directory", "get_contact_point", cp_id).get("name", cp_id)
                result = {"place": place, "candidates": candidates, "names": names}
            except RemoteError as exc:
                if exc.exc_type not in ("UnknownPostalCode", "NotFound", "InvalidInput"):
                    raise
                error = "postal_code_unknown"
    return render(ctx, "find.html", status=400 if error else 200, postal_code=code, result=result, error=error)


@route("GET", "/coverage", roles=EVERYONE, kind="page")
def coverage_page(ctx):
    data = _optional(ctx, "directory", "coverage")
    return render(ctx, "coverage.html", coverage=data)


def _optional(ctx, service, method, *args):
    """For the parts of a page another service fills: None when it cannot answer (shown as such)."""
    try:
        return ctx.call(service, method, *args)
    except RemoteError as exc:
        if exc.exc_type in ("Forbidden", "NotFound"):
            raise
        return None
    except UNAVAILABLE:
        return None


# --- sign in -------------------------------------------------------------------------------------


@route("GET", "/login", roles=EVERYONE, kind="page")
def login_form(ctx):
    return render(ctx, "login.html", next=_safe_next(ctx.request.args.get("next")), error=None)


@route("POST", "/login", roles=EVERYONE, kind="page", rate_limited=True)
def login_submit(ctx):
    form = ctx.request.form
    account = ctx.store.account_by_email(form.get("email", "")) if form.get("email") else None
    if not auth.verify_password(account and account["password_hash"], form.get("password", "")):
        return render(
            ctx,
            "login.html",
            status=401,
            next=_safe_next(form.get("next")),
            error="login_failed",
            email=form.get("email", ""),
        )
    api.start_session(ctx, account)
    return redirect(_safe_next(form.get("next")) or landing(account), code=303)


def _safe_next(target):
    return target if target and target.startswith("/") and not target.startswith("//") else ""


def landing(account):
    role = account["role"]
    if role == "contact_point_staff" and account.get("contact_point_ids"):
        return f"/staff/{account['contact_point_ids'][0]}/pool"
    return {"national_admin": "/national", "referrer": "/referrer"}.get(role, "/")


@route("POST", "/logout", roles=EVERYONE, kind="page")
def logout_submit(ctx):
    api.end_session(ctx)
    return redirect("/", code=303)


# --- staff ---------------------------------------------------------------------------------------


def _staff_page(section, summary):
    def page(ctx, contact_point_id):
        data = ctx.call("matching", section, contact_point_id, ctx.actor)
        return _render_staff(ctx, f"staff_{section}.html", contact_point_id, section, items=data, errors={}, form={})

    page.__name__ = f"staff_{section}"
    return route(
        "GET",
        f"/staff/<contact_point_id>/{section}",
        roles=STAFF,
        kind="page",
        scope="contact_point",
        audit="contact_point",
        purpose=f"review {section}",
        summary=summary,
    )(page)


def _render_staff(ctx, template, contact_point_id, section, status=200, **values):
    """A staff page with the contact point's directory entry: its meeting places and starters
    fill the confirmation form, and the groups table names its places."""
    cp = _optional(ctx, "directory", "get_contact_point", contact_point_id) or {"name": contact_point_id}
    places = {m.get("meeting_place_id"): m.get("name") for m in cp.get("meeting_places") or []}
    starters = [s for s in cp.get("staff") or [] if s.get("role") == "starter"]
    return render(
        ctx,
        template,
        status=status,
        contact_point_id=contact_point_id,
        contact_point=cp,
        section=section,
        places=places,
        starters=starters,
        reject_reasons=REJECT_REASONS,
        close_reasons=GroupClosed._declared_fields["reason"].validate.choices,
        **values,
    )


_staff_page("pool", "the waiting pool")
_staff_page("proposals", "proposals to confirm or reject")
_staff_page("groups", "confirmed and running groups")


def _staff_action(action, build):
    def submit(ctx, contact_point_id, group_id):
        form = ctx.request.form
        args, errors = build(form)
        if not errors:
            try:
                ctx.call("matching", f"{action}_group", group_id, *args, ctx.actor)
                return redirect(
                    f"/staff/{contact_point_id}/{'groups' if action == 'confirm' else 'proposals'}?done={action}",
                    code=303,
                )
            except RemoteError as exc:
                if exc.exc_type != "InvalidInput":
                    raise
                errors = _flat(remote_field_errors(exc))
        items = ctx.call("matching", "proposals", contact_point_id, ctx.actor)
        return _render_staff(
            ctx,
            "staff_proposals.html",
            contact_point_id,
            "proposals",
            status=400,
            items=items,
            errors=errors,
            form=form.to_dict(),
            failed_group=group_id,
        )

    submit.__name__ = f"staff_{action}"
    return route(
        "POST", f"/staff/<contact_point_id>/groups/<group_id>/{action}", roles=STAFF, kind="page", scope="contact_point"
    )(submit)


def _confirmation(form):
    errors, confirmation = {}, {}
    for key in ("meeting_place_id", "starter_id"):
        confirmation[key] = form.get(key, "").strip()
        if not confirmation[key]:
            errors[key] = f"err_{key}"
    when = form.get("first_meeting_at", "").strip()
    try:
        parsed = datetime.fromisoformat(when)
        if parsed.tzinfo is None:
            from zoneinfo import ZoneInfo

            parsed = parsed.replace(tzinfo=ZoneInfo("Europe/Oslo"))
        confirmation["first_meeting_at"] = parsed.isoformat()
    except ValueError:
        errors["first_meeting_at"] = "err_first_meeting_at"
    return [confirmation], errors


def _rejection(form):
    reason = form.get("reason", "")
    return [reason], ({} if reason in REJECT_REASONS else {"reason": "choose_reason"})


_staff_action("confirm", _confirmation)
_staff_action("reject", _rejection)


@route("GET", "/staff", roles=STAFF, kind="page")
def staff_home(ctx):
    ids = ctx.account.get("contact_point_ids") or []
    if ctx.role == "contact_point_staff" and len(ids) == 1:
        return redirect(f"/staff/{ids[0]}/pool", code=303)
    listed = (
        _optional(ctx, "directory", "list_contact_points", None, None, None) if ctx.role == "national_admin" else None
    )
    return render(
        ctx, "staff_home.html", contact_point_ids=ids if listed is None else [cp["contact_point_id"] for cp in listed]
    )


@route("GET", "/staff/<contact_point_id>/directory", roles=STAFF, kind="page", scope="contact_point")
def directory_form(ctx, contact_point_id):
    cp = ctx.call("directory", "get_contact_point", contact_point_id)
    return render(
        ctx,
        "staff_directory.html",
        contact_point_id=contact_point_id,
        contact_point=cp,
        form=_cp_form(cp),
        errors={},
        section="directory",
        saved=ctx.request.args.get("saved"),
    )


def _cp_form(cp):
    return {
        **cp,
        "municipalities": " ".join(cp.get("municipalities") or []),
        "languages": " ".join(cp.get("languages") or []),
    }


@route("POST", "/staff/<contact_point_id>/directory", roles=STAFF, kind="page", scope="contact_point")
def directory_submit(ctx, contact_point_id):
    """A partial change (`update_contact_point`): what the form does not show — meeting places,
    starters, address, e-mail — stays as the directory has it."""
    current = ctx.call("directory", "get_contact_point", contact_point_id)
    form = ctx.request.form
    changes = {
        "name": form.get("name", "").strip(),
        "municipalities": form.get("municipalities", "").split(),
        "languages": form.get("languages", "").split(),
        "digital_groups": form.get("digital_groups") == "yes",
    }
    errors = {}
    for key in ("min_size", "max_size"):
        try:
            changes[key] = int(form.get(key, ""))
        except ValueError:
            errors[key] = "whole_number"
    if not errors:
        try:
            ctx.call("directory", "update_contact_point", contact_point_id, changes, ctx.actor)
            return redirect(f"/staff/{contact_point_id}/directory?saved=1", code=303)
        except RemoteError as exc:
            if exc.exc_type != "InvalidInput":
                raise
            errors = _flat(remote_field_errors(exc))
    return render(
        ctx,
        "staff_directory.html",
        status=400,
        contact_point_id=contact_point_id,
        contact_point=current,
        form=form.to_dict(),
        errors=errors,
        section="directory",
    )


PURPOSES = ("contact_about_group", "answer_question", "withdrawal_or_erasure", "correction")


@route("GET", "/staff/<contact_point_id>/people/<registration_id>", roles=STAFF, kind="page", scope="contact_point")
def person_purpose(ctx, contact_point_id, registration_id):
    """Before any personal data is shown, staff say why: the answer goes to the audit log."""
    return render(
        ctx,
        "staff_person.html",
        contact_point_id=contact_point_id,
        registration_id=registration_id,
        contact_point={"name": contact_point_id},
        section="pool",
        purposes=PURPOSES,
        person=None,
    )


@route(
    "GET",
    "/staff/<contact_point_id>/people/<registration_id>/details",
    roles=STAFF,
    kind="page",
    scope="contact_point",
    audit="registration",
    purpose="case handling",
)
def person_details(ctx, contact_point_id, registration_id):
    chosen = ctx.request.args.get("purpose")
    if chosen not in PURPOSES:  # nothing was read: no audit entry
        raise Refused(redirect(f"/staff/{contact_point_id}/people/{registration_id}", code=303))
    ctx.purpose = chosen
    person = ctx.call("registration", "get_registration", registration_id, ctx.actor)
    deliveries = _optional(ctx, "notification", "deliveries", registration_id, ctx.actor)
    return render(
        ctx,
        "staff_person.html",
        contact_point_id=contact_point_id,
        registration_id=registration_id,
        contact_point={"name": contact_point_id},
        section="pool",
        purposes=PURPOSES,
        person=person,
        deliveries=deliveries,
        done=ctx.request.args.get("done"),
    )


def _person_action(action, reason):
    def submit(ctx, contact_point_id, registration_id):
        ctx.purpose = f"{action} requested"
        ctx.call("registration", action, registration_id, ctx.actor, reason)
        return redirect(f"/staff/{contact_point_id}/pool?done={action}", code=303)

    submit.__name__ = f"person_{action}"
    return route(
        "POST",
        f"/staff/<contact_point_id>/people/<registration_id>/{action}",
        roles=STAFF,
        kind="page",
        scope="contact_point",
        audit="registration",
    )(submit)


_person_action("withdraw", "staff")
_person_action("erase", "request")


# --- referrer ------------------------------------------------------------------------------------


@route("GET", "/referrer", roles=("referrer",), kind="page", audit="referrer", purpose="follow referrals")
def referrer_home(ctx):
    statuses = ctx.call("registration", "referral_statuses", ctx.actor)
    return render(
        ctx,
        "referrer.html",
        statuses=statuses,
        form={"idempotency_key": f"ref-{uuid.uuid4().hex}"},
        errors={},
        done=ctx.request.args.get("done"),
        **_register_choices(),
    )


@route("POST", "/referrer", roles=("referrer",), kind="page")
def referrer_submit(ctx):
    form = ctx.request.form
    referral = {"referrer_id": ctx.actor["referrer_id"], "organisation": form.get("organisation", "").strip()}
    payload, errors = intake_from_form(form, ctx.lang, referral=referral)
    if form.get("consent_attested") != "yes":
        errors["consent_attested"] = ["consent_attested_required"]
    if not errors:
        try:
            api.register(ctx, payload)
            return redirect("/referrer?done=1", code=303)
        except RemoteError as exc:
            if exc.exc_type != "InvalidInput":
                raise
            errors = remote_field_errors(exc)
    return render(
        ctx,
        "referrer.html",
        status=400,
        statuses=None,
        form=form.to_dict(),
        errors=_flat(errors),
        chosen=_chosen(form),
        **_register_choices(),
    )


# --- national office -----------------------------------------------------------------------------


@route("GET", "/national", roles=ADMIN, kind="page")
def national(ctx):
    return render(
        ctx,
        "national.html",
        rows=api.figure_rows(ctx),
        threshold=figures.THRESHOLD,
        columns=[c for c in figures.COLUMNS if c not in ("area", "county_number")],
        national_only=figures.NATIONAL_ONLY,
    )


@route("GET", "/national/figures.csv", roles=ADMIN, kind="page")
def national_csv(ctx):
    t = ctx.t
    return api.csv_response(figures.to_csv(api.figure_rows(ctx), {c: t(f"col_{c}") for c in figures.COLUMNS}))
