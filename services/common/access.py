"""Authorisation checks shared by the gateway and the services that own personal data (docs/rpc.md).

Besides the accounts' roles there are two actors without an account:
- a *participant* on their personal page: `{"role": "participant", "registration_id": <their own
  id>, "purpose": "personal_page"}`, which the gateway sets only after registration opened a
  personal link for that id; it may act on that one registration and nothing else;
- a *service*: `{"role": "service", "service": "notification"}`, another Flokk service acting on
  its own behalf (notification fetching a group's video link at send time).
"""

from .errors import Forbidden

ROLES = ("national_admin", "contact_point_staff", "referrer", "integration", "public", "participant", "service", "ops")


def require_role(actor, *roles):
    role = (actor or {}).get("role")
    if role not in roles:
        raise Forbidden(f"role {role!r} may not do this")
    return actor


def may_see_contact_point(actor, contact_point_id):
    actor = actor or {}
    if actor.get("role") == "national_admin":
        return True
    return actor.get("role") == "contact_point_staff" and contact_point_id in (actor.get("contact_point_ids") or ())


def require_contact_point(actor, contact_point_id):
    if not may_see_contact_point(actor, contact_point_id):
        raise Forbidden(f"not allowed for contact point {contact_point_id!r}")
    return actor


def is_participant(actor, registration_id=None):
    """A participant actor; with `registration_id`, one acting on exactly that registration."""
    actor = actor or {}
    if actor.get("role") != "participant" or not actor.get("registration_id"):
        return False
    return registration_id is None or actor["registration_id"] == registration_id


def require_participant(actor, registration_id):
    if not is_participant(actor, registration_id):
        raise Forbidden("a participant may act only on their own registration")
    return actor


def is_service(actor, service):
    actor = actor or {}
    return actor.get("role") == "service" and actor.get("service") == service
