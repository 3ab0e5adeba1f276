"""Matching rules. Pure: no nameko, no pymongo."""


def pool_key(contact_point_id, role, languages):
    """Pools are by contact point, role (self / relative) and first language (DESIGN §4.2)."""
    return f"{contact_point_id}|{role}|{languages[0]}"


def choose_route(candidates):
    """The first candidate a person can wait with; None when only the national office can take them."""
    first = candidates[0] if candidates else None
    if first is None or first["kind"] == "national_office":
        return None
    return first


def waiting_entry(profile, route, now):
    return {
        "_id": profile["registration_id"],
        "pool": pool_key(route["contact_point_id"], profile["role"], profile["languages"]),
        "contact_point_id": route["contact_point_id"],
        "route_kind": route["kind"],
        "route_reason": route["reason"],
        "profile": profile,
        "waiting_since": profile["registered_at"],
        "updated_at": now,
    }
