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
    """A new person's intake. Each gets an e-mail address and a mobile number of their own (unless
    given): two registrations with one address are possible duplicates, never put in one group."""
    data = copy.deepcopy(INTAKE)
    unique = uuid.uuid4()
    data["idempotency_key"] = f"test-{unique.hex[:12]}"
    data["email"] = f"kari.test.{unique.hex[:8]}@example.no"
    data["phone"] = f"+479{unique.int % 100000:05d}67"  # a Norwegian mobile number ending as INTAKE's
    data.update(changes)
    return data


#: When every sample event occurred: a fixed moment, so no test depends on the day it runs.
OCCURRED_AT = "2026-11-28T09:00:00Z"
#: What production gives the gateway at the least (the settings it cannot start without).
GATEWAY_PRODUCTION = {
    "AMQP_URI": "amqp://broker",
    "AMQP_USERNAME": "gateway",
    "AMQP_PASSWORD": "p",
    "MONGODB_URI": "mongodb://db",
    "GATEWAY_AUDIT_MONGODB_URI": "mongodb://audit",
    "FLOKK_SIGNING_KEY": "k",
    "FLOKK_VERIFY_KEYS": "{}",
    "FLOKK_DATA_CONTROLLER": "Selvhjelp Norge",
}


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
