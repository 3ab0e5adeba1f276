"""Read views for the gateway: registration ids only, no names; a person's own status for their
page (the figures: figures.py)."""

from typing import Any

from services.common.access import is_participant, is_service, require_contact_point
from services.common.envelope import iso
from services.common.errors import NotFound

from .. import domain, engine, life, schemas
from ..ports import Doc, Ports
from .lifecycle import group_for

#: What staff see of a contact point's groups: the running ones and the closed ones.
GROUP_STATES = (*domain.ACTIVE_STATES, "closed")


def pool_view(ports: Ports, contact_point_id: str, actor: Any) -> list[Doc]:
    """Who waits at the contact point, longest-waiting first, with how their wait was widened and
    until when a person on a break is held (`paused_until`, else null)."""
    require_contact_point(actor, contact_point_id)
    entries = sorted(ports.store.entries_of_contact_point(contact_point_id), key=lambda e: (e["queue_since"], e["_id"]))
    return [
        {
            "registration_id": entry["_id"],
            "waiting_since": iso(entry["queue_since"]),
            "role": entry["profile"]["role"],
            "language": entry["profile"]["languages"][0],
            "themes": entry["profile"]["themes"],
            "slots": entry["profile"]["availability"],
            "open_to_mixed": entry["profile"]["open_to_mixed"],
            "route_kind": entry["route_kind"],
            "widening": [{"step": w["step"], "at": iso(w["at"]), "reason": w["reason"]} for w in entry["widening"]],
            "paused_until": iso(entry["paused_until"]) if entry.get("paused_until") else None,
        }
        for entry in entries
    ]


def proposals_view(ports: Ports, contact_point_id: str, actor: Any) -> list[Doc]:
    return groups_view(ports, contact_point_id, actor, ("proposed",))


def groups_view(ports: Ports, contact_point_id: str, actor: Any, states: tuple[str, ...] = GROUP_STATES) -> list[Doc]:
    """The contact point's groups in `states`; a proposal a re-solve replaced was never a group."""
    require_contact_point(actor, contact_point_id)
    found = ports.store.groups_of(contact_point_id, states)
    groups = sorted(
        (g for g in found if g.get("closed_reason") != "superseded"), key=lambda g: (g["proposed_at"], g["_id"])
    )
    return [group_view(group) for group in groups]


def group_view(group: Doc) -> Doc:
    view = {
        "group_id": group["_id"],
        "contact_point_id": group["contact_point_id"],
        "state": group["state"],
        "registration_ids": list(group["members"]),
        "slot": engine.slot_dict(group["slot"]),
        "theme": group["theme"],
        "explanation": group["explanation"],
        "proposed_at": iso(group["proposed_at"]),
    }
    if group.get("confirmation"):
        view["confirmation"] = {
            **group["confirmation"],
            "first_meeting_at": iso(group["confirmation"]["first_meeting_at"]),
        }
    if group.get("started_at"):
        view["started_at"] = iso(group["started_at"])
    if group.get("handover"):
        view["handover"] = {**group["handover"], "handover_at": iso(group["handover"]["handover_at"])}
        view["schedule"] = group.get("schedule")
    return view


def group_detail(ports: Ports, group_id: str, actor: Any) -> Doc:
    """One group for its staff page: members (ids), state, schedule, and its check-ins with their
    answers but never a comment (`has_comment` says whether there is one to read, audited);
    `status` is `unknown` after two unanswered check-ins in a row."""
    group = group_for(ports, schemas.check_id(group_id, "group_id"), actor)
    now = ports.clock.now()
    checkins = ports.store.checkins_of(group["_id"])
    next_checkin = group.get("next_checkin_at")
    return {
        **group_view(group),
        "schedule": group.get("schedule"),
        "meeting_place_id": life.meeting_place_of(group),
        "checkin_registration_ids": life.checkin_members(group),
        "next_checkin_at": iso(next_checkin) if next_checkin else None,
        "checkins": [
            {
                "checkin_id": c["_id"],
                "number": c["number"],
                "due_at": iso(c["due_at"]),
                "answered_at": iso(c["answered_at"]) if c["answered_at"] else None,
                "answer": c["answer"],
                "unanswered": life.is_unanswered(c, now),
            }
            for c in checkins
        ],
        "status": life.status(checkins, now),
    }


def person_status(ports: Ports, registration_id: str, actor: Any) -> Doc:
    """Where a person stands in matching, for their own page (a participant actor for this id)
    or staff of their contact point: waiting (and what was widened), paused, in a group (with
    its schedule and next meeting), unroutable, or unknown to matching. The directory asks as itself
    before it gives a participant their group's video link."""
    rid = schemas.check_id(registration_id, "registration_id")
    entry = ports.store.entry(rid)
    unroutable = ports.store.unroutable_entry(rid) if entry is None else None
    group = ports.store.group(entry["group_id"]) if entry and entry["group_id"] else None
    contact_point_id = (group or entry or {}).get("contact_point_id")
    if not is_participant(actor, rid) and not is_service(actor, "directory"):
        if entry is None and unroutable is None:
            raise NotFound(f"matching knows no {rid!r}")
        require_contact_point(actor, contact_point_id)
    in_group = group is not None and group["state"] in domain.ACTIVE_STATES
    paused_until = (entry or {}).get("paused_until")
    return {
        "registration_id": rid,
        "state": _person_state(entry, unroutable, in_group),
        "contact_point_id": contact_point_id,
        "queue_since": iso(entry["queue_since"]) if entry else None,
        "paused_until": iso(paused_until) if paused_until else None,
        "widening": _widening(entry) if entry else [],
        "group": _group_of_person(ports, group, rid) if in_group and group is not None else None,
    }


def _widening(entry: Doc) -> list[Doc]:
    """Each step taken, and after how many days of waiting (counted at the time for steps taken
    since issue 13; for older ones from the wait as it counts now)."""
    start = domain.waiting_start(entry)
    return [
        {"step": w["step"], "after_days": w.get("after_days", domain.days_between(start, w["at"]))}
        for w in entry["widening"]
    ]


def _person_state(entry: Doc | None, unroutable: Doc | None, in_group: bool) -> str:
    if entry is None:
        return "unroutable" if unroutable is not None else "unknown"
    if entry.get("held") == "paused":
        return "paused"
    return "in_group" if in_group else "waiting"


def _group_of_person(ports: Ports, group: Doc, rid: str) -> Doc:
    confirmation = group.get("confirmation") or {}
    next_meeting = life.next_meeting_at(group, ports.clock.now())
    return {
        "group_id": group["_id"],
        "state": group["state"],
        "contact_point_id": group["contact_point_id"],
        "meeting_place_id": life.meeting_place_of(group),
        "first_meeting_at": iso(confirmation["first_meeting_at"]) if confirmation.get("first_meeting_at") else None,
        "schedule": group.get("schedule"),
        "next_meeting_at": iso(next_meeting) if next_meeting else None,
        "open_checkin": _open_checkin(ports, group, rid),
    }


def _open_checkin(ports: Ports, group: Doc, rid: str) -> Doc | None:
    """The check-in a check-in member can answer now (answer_checkin's rule: the group's latest,
    while it runs itself), so their page can lead them to it; None for anyone else."""
    if group["state"] != "self_run" or rid not in life.checkin_members(group):
        return None
    checkins = ports.store.checkins_of(group["_id"])
    if not checkins:
        return None
    latest = checkins[-1]
    return {
        "checkin_id": latest["_id"],
        "number": latest["number"],
        "due_at": iso(latest["due_at"]),
        "answered_at": iso(latest["answered_at"]) if latest["answered_at"] else None,
    }
