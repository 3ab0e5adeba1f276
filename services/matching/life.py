"""A group's life after the start (issue 13): its schedule, its check-ins and when it may grow.
Pure: no nameko, no pymongo. Groups and check-ins are plain dicts (the stored shape).

- **Schedule.** Once self-run, a group meets on one weekday at one time, every week or every other
  week, counted from the week of the handover, at one meeting place.
- **Check-ins.** The check-in members (0–2, named at the handover) are asked how the group is
  doing at FLOKK_CHECKIN_MONTHS after the start (default 1, 3, 6, 12 and 24 months), never before
  the handover; staff may send the next one early. A check-in not answered within 21 days is
  unanswered; two unanswered in a row make the group's status `unknown`.
- **Growth** (docs/design.md §4.8): who may join a group that fell below its minimum, by state (`may_grow`).
"""

import calendar
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from services.common.clock import OSLO
from services.common.contracts import WEEKDAYS

Doc = dict[str, Any]

DEFAULT_CHECKIN_MONTHS = (1, 3, 6, 12, 24)
#: The contract numbers check-ins 1 to 5.
MAX_CHECKINS = 5
ANSWER_WINDOW = timedelta(days=21)
#: Two unanswered check-ins in a row: staff follow the group up.
UNANSWERED_IN_A_ROW = 2
INTERVAL_DAYS = {"week": 7, "other_week": 14}


def checkin_months(text: str | None) -> tuple[int, ...]:
    """FLOKK_CHECKIN_MONTHS ("1,3,6,12,24"): 1–5 months after the start, rising; ValueError else."""
    if not text:
        return DEFAULT_CHECKIN_MONTHS
    months = tuple(int(part) for part in text.split(",") if part.strip())
    if not 1 <= len(months) <= MAX_CHECKINS or months[0] < 1 or list(months) != sorted(set(months)):
        raise ValueError(f"FLOKK_CHECKIN_MONTHS must be 1 to {MAX_CHECKINS} rising whole months, not {text!r}")
    return months


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months on (the last day of a shorter month)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


# --- the schedule ---------------------------------------------------------------------------------


def meeting_at(day: date, start_time: str) -> datetime:
    hours, minutes = (int(part) for part in start_time.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=OSLO)


def next_meeting(schedule: Doc, anchor: datetime, now: datetime) -> datetime:
    """The first meeting of `schedule` at or after `now`: on its weekday, at its time in Oslo,
    every week or every other week counted from the week of `anchor` (the handover)."""
    step = INTERVAL_DAYS[schedule["every"]]
    start = anchor.astimezone(OSLO).date()
    day = start + timedelta(days=(WEEKDAYS.index(schedule["weekday"]) - start.weekday()) % 7)
    if meeting_at(day, schedule["start_time"]) < now:
        missed = (now.astimezone(OSLO).date() - day).days // step
        day += timedelta(days=missed * step)
        while meeting_at(day, schedule["start_time"]) < now:
            day += timedelta(days=step)
    return meeting_at(day, schedule["start_time"])


def next_meeting_at(group: Doc, now: datetime) -> datetime | None:
    """What a newcomer is told: the next meeting by the schedule, or the first meeting while it
    is ahead; None when neither is known (the contact point agrees one with them)."""
    if group.get("schedule"):
        return next_meeting(group["schedule"], group["handover"]["handover_at"], now)
    first: datetime | None = (group.get("confirmation") or {}).get("first_meeting_at")
    return first if first is not None and first > now else None


def meeting_place_of(group: Doc) -> str | None:
    """Where the group meets now: the schedule's place once self-run, else the confirmed one."""
    place: str | None = (group.get("schedule") or {}).get("meeting_place_id") or (group.get("confirmation") or {}).get(
        "meeting_place_id"
    )
    return place


# --- check-ins ------------------------------------------------------------------------------------


def checkin_members(group: Doc) -> list[str]:
    """The check-in members who are still members."""
    named = (group.get("handover") or {}).get("checkin_registration_ids") or []
    return [rid for rid in named if rid in group["members"]]


def next_checkin_at(group: Doc, checkins: Sequence[Doc], months: Sequence[int]) -> datetime | None:
    """When the next scheduled check-in falls due: the first of `months` after the start that is
    later than the handover and the last check-in sent; None when none is left."""
    if group["state"] != "self_run" or not checkin_members(group) or len(checkins) >= min(len(months), MAX_CHECKINS):
        return None
    floor = max([group["handover"]["handover_at"], *(c["due_at"] for c in checkins)])
    for offset in months[len(checkins) :]:
        due = add_months(group["started_at"], offset)
        if due > floor:
            return due
    return None


def new_checkin(group: Doc, number: int, due_at: datetime, checkin_id: str) -> Doc:
    return {
        "_id": checkin_id,
        "group_id": group["_id"],
        "contact_point_id": group["contact_point_id"],
        "number": number,
        "due_at": due_at,
        "answer": None,
        "answered_at": None,
    }


def is_unanswered(checkin: Doc, now: datetime) -> bool:
    return checkin["answer"] is None and checkin["due_at"] + ANSWER_WINDOW <= now


def status(checkins: Sequence[Doc], now: datetime) -> str:
    """`unknown` after two unanswered check-ins in a row (the last ones), else `known`."""
    last = sorted(checkins, key=lambda c: c["number"])[-UNANSWERED_IN_A_ROW:]
    if len(last) == UNANSWERED_IN_A_ROW and all(is_unanswered(c, now) for c in last):
        return "unknown"
    return "known"


def answer_of(fields: Doc) -> Doc:
    """What is kept of an answer in the group's record and on the bus: never the comment."""
    return {
        "still_meeting": fields["still_meeting"],
        "usual_attendance": fields["usual_attendance"],
        "wants_new_members": fields["wants_new_members"],
        "needs_help": fields["needs_help"],
        "has_comment": bool(fields.get("comment")),
    }


# --- growth ---------------------------------------------------------------------------------------


def may_grow(group: Doc, checkins: Sequence[Doc]) -> bool:
    """Proposed, confirmed and started groups are refilled from the pool when they fall below their
    minimum; a self-run group only when its last check-in said it wants new members (no answer
    counts as no)."""
    if group["state"] in ("proposed", "confirmed", "started"):
        return True
    if group["state"] != "self_run" or not checkins:
        return False
    last = max(checkins, key=lambda c: c["number"])
    return bool((last["answer"] or {}).get("wants_new_members"))


def seats_needed(group: Doc, joining: int) -> int:
    """People the meeting place must hold: the members, those joining, and the starter while the
    group is not yet self-run."""
    return len(group["members"]) + joining + (0 if group["state"] == "self_run" else 1)
