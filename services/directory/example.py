"""The example directory (data/example_directory.json): invented details, marked example."""

import json

from .domain import next_version
from .reference import DATA_DIR
from .schemas import ContactPointInput

EXAMPLE_DIRECTORY = DATA_DIR / "example_directory.json"


def example_payloads():
    """The contact points as the seed script sends them to `upsert_contact_point`."""
    with open(EXAMPLE_DIRECTORY, encoding="utf-8") as handle:
        return json.load(handle)["contact_points"]


def example_contact_points():
    """The contact points as the directory stores them after seeding (validated, revision 1)."""
    return [next_version(None, ContactPointInput().load(payload))[0] for payload in example_payloads()]
