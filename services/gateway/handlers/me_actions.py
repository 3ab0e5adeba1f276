"""What a person does on their own page, each through one RPC with the person as actor (their own
registration only; the service audits it): change what they wish for, pause and resume, withdraw
and come back, erase everything after a second step, list people they must not meet, leave their
group, answer a check-in, and make every link sent so far stop working."""

from typing import Any

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from services.common.errors import Conflict

from .. import domain, personal
from ..context import Context
from ..pages import render, send_form
from ..ports import Document, Ports
from ..routes import route
from .me import OWN, page, speak_their_language


def _view(ports: Ports, ctx: Context) -> Document:
    view = ports.registration.personal_view(ctx.person, ctx.actor)
    speak_their_language(ctx, view)
    return view


def _done(what: str) -> Response:
    return redirect(f"/me?done={what}", code=303)


# --- what they wish for ---------------------------------------------------------------------------


@route("GET", "/me/change", **OWN)
def change_form(ports: Ports, ctx: Context) -> Response:
    view = _view(ports, ctx)
    form, chosen = domain.preference_form(view.get("preferences") or {})
    return _change_page(ctx, view, form, chosen, {})


@route("POST", "/me/change", **OWN)
def change_submit(ports: Ports, ctx: Context) -> Response:
    """Only what differs is sent; a change made in a group counts for later matching only."""
    view = _view(ports, ctx)
    form = ctx.request.form
    changes, errors = domain.preference_changes(
        form, view.get("preferences") or {}, bool(view.get("has_email")), bool(view.get("has_phone"))
    )
    if not errors and not changes:
        return _done("unchanged")
    try:
        result, errors = send_form(
            errors, lambda: ports.registration.update_preferences(ctx.person, changes, ctx.actor)
        )
    except Conflict:  # withdrawn: they come back first
        return _done("come_back_first")
    if result is not None:
        return _done("changed_future" if result.get("applies_to_future_matching_only") else "changed")
    chosen = {key: form.getlist(key) for key in ("themes", "languages", "availability", "accessibility_needs")}
    return _change_page(ctx, view, form.to_dict(), chosen, errors, status=400)


def _change_page(
    ctx: Context,
    view: Document,
    form: dict[str, Any],
    chosen: dict[str, Any],
    errors: dict[str, Any],
    status: int = 200,
) -> Response:
    return render(
        ctx,
        "me_change.html",
        status=status,
        view=view,
        form=form,
        chosen=chosen,
        errors=errors,
        form_languages=domain.language_choices(chosen.get("languages") or []),
        **{key: value for key, value in domain.register_choices().items() if key != "form_languages"},
    )


# --- pause, withdraw, come back -------------------------------------------------------------------


@route("POST", "/me/pause", **OWN)
def pause(ports: Ports, ctx: Context) -> Response:
    weeks, errors = domain.pause_weeks(ctx.request.form)
    if weeks is None:
        return page(ports, ctx, status=400, errors=errors)
    try:
        ports.registration.pause(ctx.person, weeks, ctx.actor)
    except Conflict as conflict:  # in a confirmed or running group the page offers to leave it instead
        return _done("come_back_first" if "withdrawn" in str(conflict) else "pause_in_group")
    return _done("paused")


@route("POST", "/me/resume", **OWN)
def resume(ports: Ports, ctx: Context) -> Response:
    ports.registration.resume(ctx.person, ctx.actor)
    return _done("resumed")


@route("POST", "/me/withdraw", **OWN)
def withdraw(ports: Ports, ctx: Context) -> Response:
    ports.registration.withdraw(ctx.person, ctx.actor, "person")
    return _done("withdrawn")


@route("POST", "/me/come-back", **OWN)
def come_back(ports: Ports, ctx: Context) -> Response:
    ports.registration.come_back(ctx.person, ctx.actor)
    return _done("came_back")


@route("POST", "/me/leave-group", **OWN)
def leave_group(ports: Ports, ctx: Context) -> Response:
    group_id = ctx.request.form.get("group_id", "")
    ports.matching.leave_group(group_id, ctx.person, ctx.actor)
    return _done("left_group")


@route("POST", "/me/links/revoke", **OWN)
def revoke_links(ports: Ports, ctx: Context) -> Response:
    """Every link sent so far stops working (a lost phone, a shared mailbox); this page stays open."""
    ports.registration.revoke_links(ctx.person, ctx.actor)
    return _done("links_revoked")


# --- erase, after a second step -------------------------------------------------------------------


@route("GET", "/me/erase", **OWN)
def erase_form(ports: Ports, ctx: Context) -> Response:
    _view(ports, ctx)
    return render(ctx, "me_erase.html", errors={})


@route("POST", "/me/erase", **OWN)
def erase(ports: Ports, ctx: Context) -> Response:
    if ctx.request.form.get("confirm") != "yes":
        _view(ports, ctx)
        return render(ctx, "me_erase.html", status=400, errors={"confirm": "err_erase_confirm"})
    ports.registration.erase(ctx.person, ctx.actor, "request")
    personal.forget(ports, ctx, everywhere=True)
    return render(ctx, "notice.html", title="me_erased_title", text="me_erased_text")


# --- people I must not meet -----------------------------------------------------------------------


@route("GET", "/me/avoid", **OWN)
def avoid_form(ports: Ports, ctx: Context) -> Response:
    view = _view(ports, ctx)
    return render(ctx, "me_avoid.html", view=view, form={}, errors={}, done=ctx.request.args.get("done"))


@route("POST", "/me/avoid", **OWN)
def avoid_submit(ports: Ports, ctx: Context) -> Response:
    """The list replaces the one before: registration keeps only keyed digests, so it cannot show
    the addresses again, only how many there are."""
    contacts, errors = domain.avoid_list(ctx.request.form)
    _, errors = send_form(errors, lambda: ports.registration.set_avoid_list(ctx.person, contacts, ctx.actor))
    if not errors:
        return redirect("/me/avoid?done=saved", code=303)
    view = _view(ports, ctx)
    return render(ctx, "me_avoid.html", status=400, view=view, form=ctx.request.form.to_dict(), errors=errors)


# --- a check-in -----------------------------------------------------------------------------------


@route("GET", "/me/check-ins/<checkin_id>", **OWN)
def checkin_form(ports: Ports, ctx: Context, checkin_id: str) -> Response:
    _view(ports, ctx)
    return render(ctx, "me_checkin.html", checkin_id=checkin_id, form={}, errors={})


@route("POST", "/me/check-ins/<checkin_id>", **OWN)
def checkin_submit(ports: Ports, ctx: Context, checkin_id: str) -> Response:
    """Matching takes the answer from a check-in member only; a later answer replaces this one
    until the next check-in is due. The comment is stored in matching alone, never on the bus."""
    answer, errors = domain.checkin_answer(ctx.request.form)
    try:
        _, errors = send_form(errors, lambda: ports.matching.answer_checkin(checkin_id, answer, ctx.actor))
    except Conflict:  # a newer check-in has been sent, or the group no longer runs itself
        _view(ports, ctx)
        return render(ctx, "me_checkin.html", status=409, checkin_id=checkin_id, closed=True, form={}, errors={})
    if not errors:
        return _done("checkin_answered")
    _view(ports, ctx)
    form = ctx.request.form.to_dict()
    return render(ctx, "me_checkin.html", status=400, checkin_id=checkin_id, form=form, errors=errors)
