"""What a person does on their own page (issue 13): see their status, change their preferences,
take a break and end it, and list people they do not want to meet. The actor is the person
(a participant actor for their own id) or staff of their contact point; every participant action
is audited (audit.py)."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from marshmallow import ValidationError

from services.common.envelope import iso
from services.common.errors import Conflict, InvalidInput

from .. import domain
from ..domain import Actor, Registration
from ..ports import Ports, UnitOfWork
from ..schemas import PreferenceChanges
from ..vault import parse_contact
from .audit import audited
from .reading import existing


def _for_person_or_staff(ports: Ports, registration_id: str, actor: Actor) -> Registration:
    registration = existing(ports, registration_id)
    domain.require_person_or_staff(actor, registration)
    return registration


def personal_view(ports: Ports, registration_id: str, actor: Actor) -> dict[str, Any]:
    def work() -> dict[str, Any]:
        registration = _for_person_or_staff(ports, registration_id, actor)
        return domain.personal_view(registration, ports.store.contact(registration_id) or {})

    return audited(ports, "view", registration_id, actor, work)


def update_preferences(ports: Ports, registration_id: str, changes: object, actor: Actor) -> dict[str, Any]:
    """Change any of the preferences; registration_updated (the matching profile) goes out only
    when something matching uses changed. In a group, a change applies to future matching only."""

    def work() -> dict[str, Any]:
        registration = _for_person_or_staff(ports, registration_id, actor)
        if registration["status"] == domain.WITHDRAWN:
            raise Conflict("withdrawn")
        wanted = _preferences(changes)
        domain.check_channel(wanted, ports.store.contact(registration_id) or {})

        def change(uow: UnitOfWork) -> list[str]:
            current = existing(ports, registration_id, uow)
            changed = domain.changed_preferences(current, wanted)
            if changed:
                ports.store.update(uow, registration_id, changed)
            if set(changed) & set(domain.MATCHING_PREFERENCES):
                uow.emit("registration_updated", domain.matching_profile(existing(ports, registration_id, uow)))
            return sorted(changed)

        changed = ports.store.transaction(change)
        return {
            "registration_id": registration_id,
            "changed": changed,
            "applies_to_future_matching_only": registration["status"] == domain.IN_GROUP,
        }

    return audited(ports, "update_preferences", registration_id, actor, work)


def _preferences(changes: object) -> dict[str, Any]:
    if not isinstance(changes, Mapping):
        raise InvalidInput({"changes": ["invalid"]})
    try:
        loaded: dict[str, Any] = PreferenceChanges().load(changes)
    except ValidationError as exc:
        raise InvalidInput(exc.messages) from None
    return loaded


def pause(ports: Ports, registration_id: str, weeks: object, actor: Actor) -> dict[str, Any]:
    """A break of 2–26 weeks, to 00:00 Oslo time: matching holds the person meanwhile. Refused
    (Conflict `in_group`) in a confirmed or running group: the person leaves it instead."""

    def work() -> dict[str, Any]:
        _for_person_or_staff(ports, registration_id, actor)
        until = domain.pause_end(ports.clock.now(), domain.pause_weeks(weeks))

        def change(uow: UnitOfWork) -> None:
            domain.check_may_pause(existing(ports, registration_id, uow))
            ports.store.update(uow, registration_id, {"status": domain.PAUSED, "paused_until": until})
            uow.emit("registration_paused", {"registration_id": registration_id, "paused_until": iso(until)})

        ports.store.transaction(change)
        return {"registration_id": registration_id, "status": domain.PAUSED, "paused_until": iso(until)}

    return audited(ports, "pause", registration_id, actor, work)


def resume(ports: Ports, registration_id: str, actor: Actor) -> dict[str, Any]:
    """Cancel a pause: waiting again, with the place in the queue kept (matching)."""

    def work() -> dict[str, Any]:
        _for_person_or_staff(ports, registration_id, actor)
        changed = end_pause(ports, registration_id, "pause_cancelled")
        return {
            "registration_id": registration_id,
            "status": existing(ports, registration_id)["status"],
            "changed": changed,
        }

    return audited(ports, "resume", registration_id, actor, work)


def end_due_pauses(ports: Ports, batch: int = 100) -> int:
    """The timer: every pause that ran out ends (registration_resumed, pause_ended). Idempotent."""
    now, ended = ports.clock.now(), 0
    while True:
        due = ports.store.due_pauses(now, batch)
        ended += sum(end_pause(ports, doc["_id"], "pause_ended", now) for doc in due)
        if len(due) < batch:
            return ended


def end_pause(ports: Ports, registration_id: str, reason: str, due_by: datetime | None = None) -> bool:
    """Back to waiting (or registered) and registration_resumed, once; False if not paused (or,
    for the timer, not yet due)."""

    def change(uow: UnitOfWork) -> bool:
        current = existing(ports, registration_id, uow)
        if current["status"] != domain.PAUSED or (due_by is not None and current["paused_until"] > due_by):
            return False
        ports.store.update(uow, registration_id, {"status": domain.status_after_pause(current), "paused_until": None})
        uow.emit("registration_resumed", {"registration_id": registration_id, "reason": reason})
        return True

    return ports.store.transaction(change)


def set_avoid_list(ports: Ports, registration_id: str, contacts: object, actor: Actor) -> dict[str, Any]:
    """The people the person does not want in their group, by e-mail address or mobile number.
    Only keyed digests are stored (the HMAC that finds duplicates). Each registration of a listed
    person, now or later, becomes a pair matching keeps apart (registration_pair_flagged); a pair
    no longer listed by either is cleared. The person avoided is never told."""

    def work() -> dict[str, Any]:
        _for_person_or_staff(ports, registration_id, actor)
        digests = _avoid_digests(ports, contacts)

        def change(uow: UnitOfWork) -> None:
            current = existing(ports, registration_id, uow)
            matched = {r["_id"] for r in ports.store.with_lookups(digests, uow)} - {registration_id}
            before = set(current.get("avoid_flagged") or [])
            ports.store.update(uow, registration_id, {"avoid_digests": digests, "avoid_flagged": sorted(matched)})
            others = {r["_id"]: r for r in ports.store.by_ids(sorted(matched ^ before), uow)}
            for other_id, event_type in [
                *((rid, "registration_pair_flagged") for rid in sorted(matched - before)),
                *((rid, "registration_pair_cleared") for rid in sorted(before - matched)),
            ]:
                other = others.get(other_id)
                if other is not None and registration_id not in (other.get("avoid_flagged") or []):
                    uow.emit(
                        event_type,
                        {"registration_ids": domain.sorted_pair(registration_id, other_id), "reason": "avoid"},
                    )

        ports.store.transaction(change)
        return {"count": len(digests)}

    return audited(ports, "set_avoid_list", registration_id, actor, work)


def _avoid_digests(ports: Ports, contacts: object) -> list[str]:
    if not isinstance(contacts, list) or len(contacts) > domain.MAX_AVOIDED:
        raise InvalidInput({"contacts": ["too_many"]})  # at most MAX_AVOIDED
    parsed, errors = [], {}
    for position, text in enumerate(contacts):
        contact = parse_contact(text)
        if contact is None:
            errors[str(position)] = ["not_contact"]
        else:
            parsed.append(contact)
    if errors:
        raise InvalidInput({"contacts": errors})
    return sorted({ports.store.vault.contact_lookup(kind, value) for kind, value in parsed})


def flag_avoiders(ports: Ports, uow: UnitOfWork, registration: Registration) -> None:
    """A new registration of someone others listed: each such pair is flagged to matching."""
    for avoider in ports.store.avoiding(registration["same_person_lookups"], uow):
        if avoider["_id"] == registration["_id"]:
            continue
        ports.store.add_avoid_flag(uow, avoider["_id"], registration["_id"])
        uow.emit(
            "registration_pair_flagged",
            {"registration_ids": domain.sorted_pair(avoider["_id"], registration["_id"]), "reason": "avoid"},
        )
