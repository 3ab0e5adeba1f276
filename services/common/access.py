"""Authorisation checks shared by the gateway and the services that own personal data (docs/rpc.md)."""

from .errors import Forbidden

ROLES = ("national_admin", "contact_point_staff", "referrer", "integration", "public")


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
