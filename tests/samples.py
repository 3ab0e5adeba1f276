"""Sample payloads shared by the tests."""

import copy
import json
import uuid

INTAKE = {
    "idempotency_key": "link-bergen-000123",
    "name": "Kari Nordmann",
    "email": "kari.test@example.no",
    "phone": "+4791234567",
    "postal_code": "5003",
    "role": "self",
    "themes": ["grief"],
    "languages": ["nb"],
    "open_to_mixed": True,
    "availability": [{"weekday": "tue", "part_of_day": "evening"}],
    "consent": {
        "purpose": "self_help_group_matching",
        "text_version": "2026-01",
        "given_at": "2026-11-28T08:59:00Z",
        "channel": "self",
    },
}


def intake(**changes):
    data = copy.deepcopy(INTAKE)
    data["idempotency_key"] = f"test-{uuid.uuid4().hex[:12]}"
    data.update(changes)
    return data


#: When every sample event occurred: a fixed moment, so no test depends on the day it runs.
OCCURRED_AT = "2026-11-28T09:00:00Z"


def envelope(data, event_type="registration_requested", source="intake", **changes):
    body = {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "schema_version": 1,
        "occurred_at": OCCURRED_AT,
        "source": source,
        "data": data,
    }
    body.update(changes)
    return body


def as_json(body):
    return json.dumps(body)


#: The example contact point the tests route Bergen's people to; a test adds what it needs.
BERGEN = {
    "contact_point_id": "link-bergen",
    "kind": "link_centre",
    "name": "LINK Bergen og omegn",
    "municipality_number": "4601",
    "municipalities": ["4601"],
}
