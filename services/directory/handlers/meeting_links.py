"""A digital meeting place's video link (issue 13): never in get_contact_point, list_contact_points,
the HSDS export or an event; only here, for notification (inviting the group's members) and for a
member of a group that meets there (on their personal page), whose membership matching confirms."""

from typing import Any

from services.common.access import is_participant, is_service
from services.common.actors import SELF
from services.common.errors import Forbidden, NotFound

from .. import domain
from ..ports import ContactPoint, Ports

Actor = dict[str, Any] | None


def meeting_link(
    ports: Ports, meeting_place_id: str, actor: Actor, contact_point_id: str | None = None
) -> dict[str, Any]:
    """`{"meeting_place_id", "video_url"}`; Forbidden for anyone else; NotFound when the place is
    not a digital one with a link."""
    if is_service(actor, "notification"):
        where = contact_point_id
    elif is_participant(actor):
        where = _members_contact_point(ports, meeting_place_id, dict(actor or {}))
    else:
        raise Forbidden("the video link is for the group's members only")
    link = _link(ports, meeting_place_id, where)
    if link is None:
        raise NotFound(f"no video link for {meeting_place_id!r}")
    return {"meeting_place_id": meeting_place_id, "video_url": link}


def _members_contact_point(ports: Ports, meeting_place_id: str, actor: dict[str, Any]) -> str:
    """The contact point of the participant's group, if it meets at this place (matching says)."""
    if ports.matching is None:
        raise Forbidden("membership cannot be confirmed")
    # The participant's actor was signed for directory.meeting_link only: the directory asks as itself.
    status = ports.matching.person_status(actor["registration_id"], SELF)
    group = status.get("group") or {}
    if status.get("state") != "in_group" or group.get("meeting_place_id") != meeting_place_id:
        raise Forbidden("the video link is for the members of a group that meets there")
    contact_point_id: str = group["contact_point_id"]
    return contact_point_id


def _link(ports: Ports, meeting_place_id: str, contact_point_id: str | None) -> str | None:
    if contact_point_id is not None:
        found = ports.store.contact_point(contact_point_id)
        candidates: list[ContactPoint] = [found] if found is not None else []
    else:
        candidates = sorted(ports.store.contact_points(), key=lambda cp: cp["contact_point_id"])
    for contact_point in candidates:
        link = domain.video_link(domain.meeting_place(contact_point, meeting_place_id))
        if link is not None:
            return link
    return None
