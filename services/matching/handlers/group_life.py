"""A group's life after the start (issue 13): the handover that makes it self-run, its check-ins
(sent on schedule by the timer or now by staff, answered by a check-in member through their
personal page), and the check-in comments staff may read (audited). Rules: life.py."""

import uuid
from datetime import datetime
from typing import Any

from services.common.access import is_participant, require_contact_point
from services.common.envelope import iso
from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound

from .. import domain, life, schemas
from ..ports import Doc, Ports, UnitOfWork
from .lifecycle import group_for, hand_over, stored_group, update_group, write_group
from .membership import after_member_left


def record_handover(ports: Ports, group_id: str, handover: Any, actor: Any) -> Doc:
    """From `started` only: the starter hands the group over to itself, naming up to two check-in
    members and the schedule (its meeting place one of the contact point's)."""
    group = group_for(ports, schemas.check_id(group_id, "group_id"), actor)
    fields = schemas.load_handover(handover, group["members"])
    schedule = fields["schedule"]
    if group["state"] != "started":
        raise Conflict(f"A {group['state']} group cannot be handed over: only a started one.")
    places = ports.directory.get_contact_point(group["contact_point_id"]).get("meeting_places") or []
    if schedule["meeting_place_id"] not in {p.get("meeting_place_id") for p in places}:
        raise InvalidInput({"schedule": {"meeting_place_id": ["unknown_meeting_place"]}})
    return hand_over(ports, group, fields["checkin_registration_ids"], schedule)


def send_checkin(ports: Ports, group_id: str, actor: Any) -> Doc:
    """Staff send the next check-in now: `{"checkin_id", "due_at"}`, or Conflict `not_self_run`,
    `no_checkin_members` (or `no_checkins_left` after the fifth)."""
    group = group_for(ports, schemas.check_id(group_id, "group_id"), actor)
    if group["state"] != "self_run":
        raise Conflict("not_self_run")
    if not life.checkin_members(group):
        raise Conflict("no_checkin_members")
    checkin = _send(ports, group, ports.clock.now())
    if checkin is None:
        raise Conflict("no_checkins_left")
    return {"checkin_id": checkin["_id"], "due_at": iso(checkin["due_at"])}


def send_due_checkins(ports: Ports, limit: int = 100) -> int:
    """The timer: every self-run group whose scheduled check-in fell due gets it (once: the
    group's versioned update refuses a second worker). Returns how many were sent."""
    now, sent = ports.clock.now(), 0
    for group in ports.store.groups_due_for_checkin(now, limit):
        try:
            sent += _send(ports, group, group["next_checkin_at"]) is not None
        except Conflict:  # another worker sent it, or the group changed: the next tick decides
            continue
    return sent


def _send(ports: Ports, group: Doc, due_at: datetime) -> Doc | None:
    """A new check-in for `group` due at `due_at` (group_checkin_due), and the next one scheduled."""
    checkins = ports.store.checkins_of(group["_id"])
    number = len(checkins) + 1
    if number > life.MAX_CHECKINS:
        return None
    checkin = life.new_checkin(group, number, due_at, str(uuid.uuid4()))

    def change(uow: UnitOfWork) -> Doc:
        next_at = life.next_checkin_at(group, [*checkins, checkin], ports.settings.checkin_months)
        update_group(ports, uow, group, {"next_checkin_at": next_at})
        ports.store.put_checkin(uow, checkin)
        uow.emit(
            "group_checkin_due",
            domain.group_event(group, checkin_id=checkin["_id"], number=number, due_at=iso(due_at)),
        )
        return checkin

    return write_group(ports, change)


def answer_checkin(ports: Ports, checkin_id: str, answer: Any, actor: Any) -> Doc:
    """A check-in member answers through their personal page (a participant actor). A later
    answer replaces an earlier one until the next check-in is sent; the comment stays here."""
    checkin = _checkin(ports, checkin_id)
    group = stored_group(ports, checkin["group_id"])
    if not any(is_participant(actor, rid) for rid in life.checkin_members(group)):
        raise Forbidden("only the group's check-in members answer its check-ins")
    fields = schemas.load_answer(answer)
    latest = ports.store.checkins_of(group["_id"])[-1]
    if latest["_id"] != checkin["_id"] or group["state"] != "self_run":
        raise Conflict("checkin_closed")
    answered = {**checkin, "answer": life.answer_of(fields), "answered_at": ports.clock.now()}
    author = actor["registration_id"]

    def change(uow: UnitOfWork) -> None:
        ports.store.put_checkin(uow, answered)
        if fields["comment"]:
            comment = {"_id": checkin["_id"], "group_id": group["_id"], "author": author, "comment": fields["comment"]}
            ports.store.put_comment(uow, comment)
        else:
            ports.store.drop_comment(uow, checkin["_id"])
        uow.emit("group_checkin_recorded", domain.group_event(group, checkin_id=checkin["_id"], **answered["answer"]))

    ports.store.transaction(change)
    if fields["wants_new_members"]:
        after_member_left(ports, stored_group(ports, group["_id"]))  # below its minimum: it may grow now
    return {"checkin_id": checkin["_id"], "recorded": True}


def checkin_comment(ports: Ports, checkin_id: str, actor: Any) -> Doc:
    """Staff of the group's contact point read a check-in's comment; every read is audited."""
    checkin = _checkin(ports, checkin_id)
    require_contact_point(actor, checkin["contact_point_id"])
    found = ports.store.comment(checkin["_id"])
    ports.store.audit(
        {
            "at": ports.clock.now(),
            "action": "read_checkin_comment",
            "checkin_id": checkin["_id"],
            "group_id": checkin["group_id"],
            "account_id": (actor or {}).get("account_id"),
        }
    )
    return {"checkin_id": checkin["_id"], "comment": found["comment"] if found else None}


def _checkin(ports: Ports, checkin_id: str) -> Doc:
    checkin = ports.store.checkin(schemas.check_id(checkin_id, "checkin_id"))
    if checkin is None:
        raise NotFound(f"no check-in {checkin_id!r}")
    return checkin
