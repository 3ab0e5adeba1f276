"""Read views for the gateway: registration ids only, no names; figures with the small-number
rule applied here, by the service that owns them."""

from typing import Any

from services.common.access import require_contact_point
from services.common.envelope import iso

from .. import domain, engine
from ..ports import Doc, Ports

#: What staff see of a contact point's groups: the running ones and the closed ones.
GROUP_STATES = (*domain.ACTIVE_STATES, "closed")


def pool_view(ports: Ports, contact_point_id: str, actor: Any) -> list[Doc]:
    """Who waits at the contact point, longest-waiting first, with how their wait was widened."""
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
        }
        for entry in entries
    ]


def proposals_view(ports: Ports, contact_point_id: str, actor: Any) -> list[Doc]:
    return groups_view(ports, contact_point_id, actor, ("proposed",))


def groups_view(ports: Ports, contact_point_id: str, actor: Any, states: tuple[str, ...] = GROUP_STATES) -> list[Doc]:
    require_contact_point(actor, contact_point_id)
    groups = sorted(ports.store.groups_of(contact_point_id, states), key=lambda g: (g["proposed_at"], g["_id"]))
    return [group_view(group) for group in groups]


def figures(ports: Ports) -> Doc:
    """Anonymous counts per county and nationwide, no count of fewer than five people among them."""
    raw = domain.tally_figures(ports.store.figure_rows(), ports.store.group_states())
    return domain.suppress_small_numbers(raw)


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
    return view
