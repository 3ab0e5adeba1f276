"""What staff read: the masked delivery log of one person."""

from typing import Any

from services.common.access import may_see_contact_point, require_role
from services.common.errors import NotFound

from ..ports import Ports


def deliveries(ports: Ports, registration_id: str, actor: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The masked delivery log of one person, for staff of their contact point or the national admin."""
    require_role(actor, "national_admin", "contact_point_staff")
    records = ports.store.deliveries_for(registration_id)
    contact_points = {r.get("contact_point_id") for r in records} - {None}
    if (actor or {}).get("role") != "national_admin" and not any(
        may_see_contact_point(actor, cp) for cp in contact_points
    ):
        raise NotFound(f"no deliveries for {registration_id} at your contact points")
    return [
        {
            "notification_id": r["_id"],
            "template": r["template"],
            "channel": r["channel"],
            "address": r["address"],
            "status": r["status"],
            "at": r["at"].isoformat(),
            "recipient_kind": r["recipient"]["kind"],
        }
        for r in records
    ]
