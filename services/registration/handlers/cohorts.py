"""Course cohorts through the web (issue 13): a course leader (a referrer) creates one and hands
out its code; the participants register themselves with it (consent channel `self`); the leader
sees counts only. Matching places the cohort as one group at the course's time (cohort_created)."""

import uuid
from typing import Any

from marshmallow import ValidationError

from services.common.access import require_role
from services.common.envelope import iso
from services.common.errors import InvalidInput, NotFound

from .. import cohorts
from ..domain import Actor, Intake
from ..ports import Ports, UnitOfWork, UnknownContactPoint
from ..schemas import NewCohort

#: Tries at drawing a code no cohort holds (32^10 codes: a second try is already rare).
CODE_ATTEMPTS = 5


def create_cohort(ports: Ports, payload: object, actor: Actor) -> dict[str, Any]:
    """`{"cohort_id", "code", "deadline"}`; cohort_created tells matching the course's time."""
    require_role(actor, "referrer")
    referrer_id = (actor or {}).get("referrer_id")
    if not referrer_id:
        raise InvalidInput({"actor": {"referrer_id": ["A referrer needs a referrer_id."]}})
    fields = _loaded(payload)
    try:
        contact_point = ports.directory.contact_point(fields["contact_point_id"])
    except UnknownContactPoint:
        raise InvalidInput({"contact_point_id": ["unknown_contact_point"]}) from None
    if not contact_point.get("active", True):
        raise InvalidInput({"contact_point_id": ["contact_point_closed"]})
    now = ports.clock.now()
    cohort = {
        **fields,
        "_id": f"coh-{uuid.uuid4().hex}",
        "created_by": referrer_id,
        "created_at": now,
        "deadline": now + cohorts.LIFETIME,
    }
    for _ in range(CODE_ATTEMPTS):
        code = cohorts.new_code()
        if ports.store.cohort_with_code(code) is None:
            break
    else:
        raise RuntimeError("no free cohort code")
    cohort["code"] = code
    event = {key: cohort[key] for key in ("contact_point_id", "expected_size", "slot")}

    def change(uow: UnitOfWork) -> None:
        ports.store.add_cohort(uow, cohort)
        uow.emit("cohort_created", {"cohort_id": cohort["_id"], **event, "deadline": iso(cohort["deadline"])})

    ports.store.transaction(change)
    return {"cohort_id": cohort["_id"], "code": code, "deadline": iso(cohort["deadline"])}


def _loaded(payload: object) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise InvalidInput({"_schema": ["invalid"]})
    try:
        loaded: dict[str, Any] = NewCohort().load(payload)
    except ValidationError as exc:
        raise InvalidInput(exc.messages) from None
    return loaded


def cohort_by_code(ports: Ports, code: object) -> dict[str, Any]:
    """What the registration form needs of a cohort: `{"cohort_id", "contact_point_id",
    "keep_together", "open"}`. NotFound("cohort") for an unknown or expired code, and for every
    code under a prefix that failed FAILED_LIMIT times within the hour (a failure counts)."""
    now = ports.clock.now()
    normalised = cohorts.normalised_code(code)
    key = cohorts.prefix(normalised)
    if ports.store.count_attempts("cohort_code", key, now - cohorts.FAILED_WINDOW) >= cohorts.FAILED_LIMIT:
        raise NotFound("cohort")
    cohort = ports.store.cohort_with_code(normalised) if normalised else None
    if cohort is None or cohort["deadline"] <= now:
        ports.store.record_attempt("cohort_code", key, now)
        raise NotFound("cohort")
    registered = ports.store.registered_in_cohort(cohort["_id"])
    return {
        "cohort_id": cohort["_id"],
        "contact_point_id": cohort["contact_point_id"],
        "keep_together": cohort["keep_together"],
        "open": cohorts.is_open(cohort, registered, now),
    }


def cohorts_of(ports: Ports, actor: Actor) -> list[dict[str, Any]]:
    """The course leader's own cohorts, with counts only: never who registered."""
    require_role(actor, "referrer")
    return [
        {
            "cohort_id": cohort["_id"],
            "contact_point_id": cohort["contact_point_id"],
            "expected_size": cohort["expected_size"],
            "registered": ports.store.registered_in_cohort(cohort["_id"]),
            "deadline": iso(cohort["deadline"]),
            "code": cohort["code"],
        }
        for cohort in ports.store.cohorts_of((actor or {}).get("referrer_id") or "")
    ]


def with_cohort_checked(ports: Ports, data: Intake) -> Intake:
    """A registration that names one of registration's own cohorts: the cohort must be open, and
    its keep_together is the cohort's. Other cohort ids (another system's) pass as they are."""
    given = data.get("cohort")
    cohort = ports.store.cohort(given["cohort_id"]) if given else None
    if cohort is None:
        return data
    registered = ports.store.registered_in_cohort(cohort["_id"])
    if not cohorts.is_open(cohort, registered, ports.clock.now()):
        raise InvalidInput({"cohort": ["cohort_closed"]})
    return {**data, "cohort": {"cohort_id": cohort["_id"], "keep_together": cohort["keep_together"]}}
