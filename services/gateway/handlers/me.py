"""The person's own page, without an account: their personal link exchanged for a session, the page
itself (where they stand, in plain words, and what they can do), a new link by address, and closing
the page. The actions are in `me_actions.py`.

Every answer here carries `Cache-Control: no-store` and `Referrer-Policy: no-referrer` (the route's
`personal`), and every link that does not work gets the same 404 page (`render_bad_link`)."""

from collections.abc import Callable
from typing import Any

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from services.common.errors import Forbidden, NotFound

from .. import domain, personal
from ..context import Context
from ..i18n import LANGUAGES, translator
from ..pages import optional, render, render_bad_link
from ..ports import Document, Ports
from ..routes import EVERYONE, PERSON, PERSON_OR_PUBLIC, route

PAGE: dict[str, Any] = dict(kind="page", personal=True)
OWN: dict[str, Any] = dict(PAGE, roles=PERSON)
TOKEN_LONGEST = 512  # a link's token is far shorter; anything longer is not one


def quietly(read: Callable[..., Any], *args: Any) -> Any:
    """A part of the personal page another service fills, or None: the page shows without it."""
    try:
        return optional(read, *args)
    except (NotFound, Forbidden):
        return None


@route("GET", "/me", roles=PERSON_OR_PUBLIC, **PAGE)
def personal_page(ports: Ports, ctx: Context) -> Response:
    """`/me?t=<token>` exchanges the link for a session and sends the browser on to `/me`."""
    token = ctx.request.args.get("t")
    if token is not None:
        return _exchange(ports, ctx, token)
    if ctx.participant is None:
        if ctx.request.headers.get("Sec-Fetch-Site") == "cross-site":
            # A link followed from another site (webmail): the browser keeps the SameSite=Strict
            # cookie back on the redirect, so the page reloads itself once from this site.
            return render(ctx, "me_opening.html")
        return render_bad_link(ctx)
    return page(ports, ctx)


def _exchange(ports: Ports, ctx: Context, token: str) -> Response:
    try:
        opened = ports.registration.open_link(token[:TOKEN_LONGEST])
    except NotFound:  # tampered, expired, revoked, another purpose, erased: one answer for all
        return render_bad_link(ctx)
    if ctx.session:
        personal.forget(ports, ctx)
    personal.start(ports, ctx, opened["registration_id"])
    return redirect("/me", code=303)


def page(ports: Ports, ctx: Context, status: int = 200, errors: dict[str, str] | None = None) -> Response:
    """The personal page: registration's view of the person and matching's, with the contact point
    and the group's meeting place from the directory."""
    view = ports.registration.personal_view(ctx.person, ctx.actor)
    speak_their_language(ctx, view)
    summary = domain.personal_summary(view, quietly(ports.matching.person_status, ctx.person, ctx.actor))
    contact_point = quietly(ports.directory.get_contact_point, summary["contact_point_id"]) or {}
    return render(
        ctx,
        "me.html",
        status=status,
        view=view,
        summary=summary,
        contact_point=contact_point,
        place=meeting_place(ports, ctx, contact_point, summary["group"]),
        done=ctx.request.args.get("done"),
        pause_weeks=domain.PAUSE_WEEKS,
        errors=errors or {},
    )


def speak_their_language(ctx: Context, view: Document) -> None:
    """Unless the person chose a language for the pages, they are in the language of their messages."""
    chosen = ctx.request.args.get("lang") or ctx.request.cookies.get("lang")
    language = (view.get("preferences") or {}).get("message_language")
    if chosen not in LANGUAGES and language in LANGUAGES:
        ctx.lang, ctx.t = language, translator(language)


def meeting_place(ports: Ports, ctx: Context, contact_point: Document, group: Document | None) -> Document | None:
    """Where the person's group meets: the directory's place, and a digital place's video link,
    which the directory gives a member of the group and nobody else."""
    group = group or {}
    place_id = group.get("meeting_place_id") or (group.get("schedule") or {}).get("meeting_place_id")
    if not place_id:
        return None
    places = contact_point.get("meeting_places") or []
    place = next((p for p in places if p.get("meeting_place_id") == place_id), {"meeting_place_id": place_id})
    if place.get("kind") == "digital":
        link = quietly(ports.directory.meeting_link, place_id, ctx.actor) or {}
        place = {**place, "video_url": link.get("video_url")}
    return place


@route("GET", "/me/new-link", roles=EVERYONE, **PAGE)
def new_link_form(ports: Ports, ctx: Context) -> Response:
    return _new_link_page(ctx, {}, {}, sent=False)


@route("POST", "/me/new-link", roles=EVERYONE, rate_limited=True, **PAGE)
def new_link_submit(ports: Ports, ctx: Context) -> Response:
    """Always the same answer (200), whether an address is known or not; registration sends the
    link to each registration it finds and throttles the address (3 in 24 hours)."""
    contact, errors = domain.new_link_contact(ctx.request.form)
    if not errors:
        ports.registration.request_new_link(contact)
    return _new_link_page(ctx, {"contact": contact} if errors else {}, errors, sent=not errors)


def _new_link_page(ctx: Context, form: dict[str, str], errors: dict[str, str], sent: bool) -> Response:
    return render(
        ctx, "me_new_link.html", new_link_csrf=ctx.anonymous_csrf_token(), form=form, errors=errors, sent=sent
    )


@route("POST", "/me/sign-out", **OWN)
def sign_out(ports: Ports, ctx: Context) -> Response:
    personal.forget(ports, ctx)
    return render(ctx, "notice.html", title="me_closed_title", text="me_closed_text")
