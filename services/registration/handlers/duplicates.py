"""Possible duplicates: registrations with the same e-mail address or phone number are flagged to
matching as a pair it never puts in one group (registration_pair_flagged, reason
`possible_duplicate`), until staff resolve the flag. Two people: staff clear it here
(registration_pair_cleared). One person twice: staff erase one, and matching forgets the pair."""

from typing import Any

from services.common.errors import Conflict, InvalidInput

from .. import domain
from ..domain import Actor, Registration
from ..ports import Ports, UnitOfWork
from .reading import existing

POSSIBLE_DUPLICATE = "possible_duplicate"


def flag_possible_duplicates(uow: UnitOfWork, registration: Registration) -> None:
    """A new registration: each earlier one with the same contact becomes a pair matching keeps apart."""
    for other in registration.get("possible_duplicates") or ():
        uow.emit(
            "registration_pair_flagged",
            {"registration_ids": domain.sorted_pair(other, registration["_id"]), "reason": POSSIBLE_DUPLICATE},
        )


def resolve_duplicate(ports: Ports, registration_id: str, other_id: str, actor: Actor) -> dict[str, Any]:
    """Staff of both people's contact points (or national_admin) say the two are different people:
    the flag goes, and matching may put them in one group. Conflict `not_flagged` if it was not."""
    if registration_id == other_id:
        raise InvalidInput({"other_id": ["same_person"]})

    def change(uow: UnitOfWork) -> list[str]:
        one, other = existing(ports, registration_id, uow), existing(ports, other_id, uow)
        for registration in (one, other):
            domain.require_staff_of(actor, registration)
        if other_id not in one.get("possible_duplicates", ()):
            raise Conflict("not_flagged")
        for registration, gone in ((one, other_id), (other, registration_id)):
            kept = [rid for rid in registration.get("possible_duplicates", ()) if rid != gone]
            ports.store.update(uow, registration["_id"], {"possible_duplicates": kept})
        pair = domain.sorted_pair(registration_id, other_id)
        uow.emit("registration_pair_cleared", {"registration_ids": pair, "reason": POSSIBLE_DUPLICATE})
        return pair

    return {"registration_ids": ports.store.transaction(change), "resolved": True}
