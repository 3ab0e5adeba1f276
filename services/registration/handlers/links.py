"""Personal links (issue 13): open one, revoke them all, ask for a new one by address.

A link is a token registration mints (links.py, under FLOKK_LINK_KEY) whenever notification asks
for the person's contact details, so every message can carry one without anything stored per
message. Every failure to open one is the same NotFound("link"), whatever the cause."""

from datetime import timedelta
from typing import Any

from services.common.errors import NotFound

from .. import domain
from ..domain import Actor
from ..links import PERSONAL_PAGE, BadLink, revoked
from ..ports import Ports, UnitOfWork
from ..vault import parse_contact
from .audit import audited, record
from .reading import existing

#: At most this many requests for a new link per address within the window.
NEW_LINK_LIMIT, NEW_LINK_WINDOW = 3, timedelta(hours=24)


def open_link(ports: Ports, token: object) -> dict[str, Any]:
    """`{"registration_id"}` for a good personal link; NotFound("link") for a tampered, expired,
    revoked or foreign one, or one whose registration is erased: one and the same error."""
    try:
        registration_id, issued_at = ports.store.vault.read_link(token, PERSONAL_PAGE, ports.clock.now())
    except BadLink:
        raise NotFound("link") from None
    registration = ports.store.get(registration_id)
    if registration is None or revoked(issued_at, registration.get("links_valid_from")):
        raise NotFound("link")
    record(ports, "open_link", registration_id, "ok")
    return {"registration_id": registration_id}


def revoke_links(ports: Ports, registration_id: str, actor: Actor) -> dict[str, Any]:
    """Every link issued until now stops working (a new one comes with the next message, or on request)."""

    def work() -> dict[str, Any]:
        domain.require_person_or_staff(actor, existing(ports, registration_id))
        valid_from = domain.links_valid_from(ports.clock.now())
        ports.store.transaction(lambda uow: ports.store.update(uow, registration_id, {"links_valid_from": valid_from}))
        return {"registration_id": registration_id, "revoked": True}

    return audited(ports, "revoke_links", registration_id, actor, work)


def request_new_link(ports: Ports, contact: object) -> dict[str, Any]:
    """Always `{"accepted": True}`, whether or not anyone registered with the address (and for
    what is no address at all). The address is digested with the lookup key and never leaves this
    call; at most NEW_LINK_LIMIT requests per digest count in 24 hours. For each registration
    found, personal_link_requested (the id only) lets notification send the link."""
    parsed = parse_contact(contact)
    if parsed is not None:
        digest = ports.store.vault.contact_lookup(*parsed)
        now = ports.clock.now()
        if ports.store.count_attempts("new_link", digest, now - NEW_LINK_WINDOW) < NEW_LINK_LIMIT:
            ports.store.record_attempt("new_link", digest, now)
            found = sorted(r["_id"] for r in ports.store.with_lookups([digest]))
            if found:
                ports.store.transaction(lambda uow: _requested(uow, found))
    return {"accepted": True}


def _requested(uow: UnitOfWork, registration_ids: list[str]) -> None:
    for registration_id in registration_ids:
        uow.emit("personal_link_requested", {"registration_id": registration_id})
