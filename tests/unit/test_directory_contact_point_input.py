"""A contact point's shape lives in services.common, so the gateway checks a body without the
directory's package and its reference data; the directory adds the reference checks on top."""

import json
import subprocess
import sys
from pathlib import Path

from services.common import contact_point_input as shape
from services.directory.schemas import ContactPointInput

ROOT = Path(__file__).resolve().parents[2]
WELL_FORMED_BUT_UNKNOWN = {
    "contact_point_id": "link-nowhere",
    "kind": "link_centre",
    "name": "LINK Nowhere",
    "municipality_number": "9999",
    "municipalities": ["0301", "9998"],
    "address": {"street": "Eksempelgata 1", "postal_code": "0000"},
    "meeting_places": [
        {
            "meeting_place_id": "room",
            "name": "Room",
            "address": {"street": "Eksempelgata 2", "postal_code": "0000"},
            "capacity": 8,
        }
    ],
}


def test_importing_the_gateway_loads_nothing_of_the_directory():
    probe = (
        "import json, sys\n"
        "import services.gateway.service, services.gateway.handlers.directory, services.gateway.openapi\n"
        "services.gateway.openapi.spec()\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('services.'))))\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = json.loads(run.stdout.strip().splitlines()[-1])
    assert "services.gateway.handlers.directory" in loaded and "services.common.contact_point_input" in loaded
    assert [name for name in loaded if name.split(".")[1] not in ("gateway", "common")] == []


def test_the_shape_takes_well_formed_numbers_the_directory_does_not_know():
    loaded = shape.ContactPointInput().load(WELL_FORMED_BUT_UNKNOWN)
    assert loaded["organisation"] == "LINK Nowhere" and loaded["municipalities"] == ["0301", "9998"]
    assert ContactPointInput().validate(WELL_FORMED_BUT_UNKNOWN) == {
        "municipality_number": ["Unknown municipality number."],
        "municipalities": {1: ["Unknown municipality number."]},
        "address": {"postal_code": ["Unknown postal code."]},
        "meeting_places": {0: {"address": {"postal_code": ["Unknown postal code."]}}},
    }


def test_a_malformed_number_gets_the_shapes_message_alone_in_both():
    payload = {**WELL_FORMED_BUT_UNKNOWN, "municipality_number": "03", "municipalities": ["abcd", "9998"]}
    assert shape.ContactPointInput().validate(payload) == {
        "municipality_number": ["Must be a 4-digit municipality number."],
        "municipalities": {0: ["Must be a 4-digit municipality number."]},
    }
    errors = ContactPointInput().validate(payload)
    assert errors["municipality_number"] == ["Must be a 4-digit municipality number."]
    assert errors["municipalities"] == {
        0: ["Must be a 4-digit municipality number."],
        1: ["Unknown municipality number."],
    }


def test_the_directory_checks_the_same_fields_as_the_shape():
    assert ContactPointInput().fields.keys() == shape.ContactPointInput().fields.keys()
