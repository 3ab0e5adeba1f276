"""The information pages: what a self-help group is, its ground rules, what a starter does, how
professionals refer someone, where to turn when a group is not right now, and every consent text
ever shown (content.py holds the texts)."""

from werkzeug.wrappers import Response

from services.common.errors import NotFound

from .. import content
from ..context import Context
from ..pages import render
from ..ports import Ports
from ..routes import EVERYONE, route

#: The information pages in the order the footer and each page's "read more" list them.
INFO_LINKS = (*content.INFO_PAGES, "/help-now")


def _info_page(path: str, key: str, summary: str) -> None:
    """Declare one information page: its texts are content.info_page(key, the page's language)."""

    def handler(ports: Ports, ctx: Context) -> Response:
        return render(ctx, "info.html", page=content.info_page(key, ctx.lang), info_links=INFO_LINKS)

    handler.__name__ = handler.__qualname__ = f"info_{key.replace('-', '_')}"
    route("GET", path, roles=EVERYONE, kind="page", summary=summary)(handler)


for _path, _key in content.INFO_PAGES.items():
    _info_page(_path, _key, f"information: {_key.replace('-', ' ')}")


@route("GET", "/help-now", roles=EVERYONE, kind="page", summary="where to turn when a group is not right now")
def help_now(ports: Ports, ctx: Context) -> Response:
    return render(ctx, "help_now.html", lines=content.help_lines(ctx.lang), info_links=INFO_LINKS)


@route(
    "GET",
    "/consent/<version>",
    roles=EVERYONE,
    kind="page",
    summary="a consent text as it was shown",
    path_example={"version": "2026-01"},
)
def consent_version(ports: Ports, ctx: Context, version: str) -> Response:
    terms = ports.consent
    paragraphs = content.consent_text(version, ctx.lang, terms.controller, terms.retention_days)
    if paragraphs is None:
        raise NotFound(f"no consent text {version}")
    return render(
        ctx,
        "consent.html",
        version=version,
        paragraphs=paragraphs,
        current=version == content.CURRENT_CONSENT,
        versions=content.consent_versions(),
    )
